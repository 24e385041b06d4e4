"""The seed notebook's code, as the benchmark's reference (``../shared/seed/`` from the project root).

Preprocessing is copied from the notebook's cells (only ``np.random.choice(100000, ...)``
uses the file's playlist count instead of the hard-coded 100,000, and the paired layout,
which the notebook cannot read, takes the tokens at even positions as the paper's code does).

Training: the notebook's ``word2vecSampling`` called ``keras.preprocessing.sequence.skipgrams``,
which no longer exists in Keras 3.  ``skipgrams`` below re-implements it in numpy, faithfully:
every ordered pair of positions at distance ``1..window`` (no random window shrinking), and,
as Keras did, tokens with index 0 are skipped (Keras reserved 0 for "not a word"; in the seed
that is the most frequent song).  The rest of ``word2vecSampling`` is the notebook's code.
The generator (``track_ns_generator``, left as a TODO in the notebook) draws ``nbm`` random
playlists and concatenates their pairs; the model is the notebook's Track2Vec (one shared
Embedding, cosine ``Dot``, ``Dense(1, sigmoid)``, binary cross-entropy, Adam).
"""

from __future__ import annotations

import random
import time

import numpy as np

# ----------------------------------------------------------------------------- preprocessing


def seed_load(path):
    data = np.load(path, allow_pickle=True)
    first = next(t for p in data for t in p)
    if str(first).startswith("track"):
        playlist_track = [list(filter(lambda w: w.split("_")[0] == "track", playlist)) for playlist in data]
        playlist_artist = [list(filter(lambda w: w.split("_")[0] == "artist", playlist)) for playlist in data]
    else:  # paired layout (not in the notebook): items at even positions
        playlist_track = [list(playlist[::2]) for playlist in data]
        playlist_artist = [list(playlist[1::2]) for playlist in data]
    return playlist_track, playlist_artist


def seed_vocab(playlist_track):
    tracks = np.unique(np.concatenate(playlist_track))
    Vt = len(tracks)
    track_counts = dict((tracks[i], 0) for i in range(0, Vt))
    for p in playlist_track:
        for a in p:
            track_counts[a] = track_counts[a] + 1
    playlist_track_filter = [list(filter(lambda a: track_counts[a] > 1, playlist)) for playlist in playlist_track]
    counts = np.array(list(track_counts.values()))
    order = np.argsort(-counts)
    tracks_list_ordered = np.array(list(track_counts.keys()))[order]
    Vt = np.where(counts[order] == 1)[0][0]
    track_dict = dict((tracks_list_ordered[i], i) for i in range(0, Vt))
    corpus_num_track = [[track_dict[track] for track in play] for play in playlist_track_filter]
    return corpus_num_track, tracks_list_ordered[:Vt]


def seed_split(corpus_num_track):
    n = len(corpus_num_track)
    play_app = [
        corpus_num_track[i][: (len(corpus_num_track[i]) - 1)]
        for i in range(len(corpus_num_track))
        if len(corpus_num_track[i]) > 1
    ]
    index_tst = np.random.choice(n, 20000)
    index_val = np.setdiff1d(range(n), index_tst)
    play_tst = np.array(
        [
            corpus_num_track[i][(len(corpus_num_track[i]) - 2) : len(corpus_num_track[i])]
            for i in index_tst
            if len(corpus_num_track[i]) > 3
        ]
    )
    play_val = np.array(
        [
            corpus_num_track[i][(len(corpus_num_track[i]) - 2) : len(corpus_num_track[i])]
            for i in index_val
            if len(corpus_num_track[i]) > 3
        ]
    )[:10000]
    return play_app, play_tst, play_val


def seed_preprocess(path) -> dict:
    """Seconds of each of the seed's steps on ``path``."""
    t0 = time.perf_counter()
    pt, _ = seed_load(path)
    t1 = time.perf_counter()
    corpus, _ = seed_vocab(pt)
    t2 = time.perf_counter()
    seed_split(corpus)
    t3 = time.perf_counter()
    return {"load": t1 - t0, "vocab": t2 - t1, "split": t3 - t2}


# ----------------------------------------------------------------------------- training


def skipgrams(sequence, window_size):
    """keras.preprocessing.sequence.skipgrams(sequence, V, window_size, negative_samples=0),
    positive couples only (their order does not matter: the caller permutes them)."""
    seq = np.asarray(sequence, dtype=np.int64)
    n = len(seq)
    out = []
    for d in range(1, window_size + 1):
        if d >= n:
            break
        a, b = seq[:-d], seq[d:]
        ok = (a != 0) & (b != 0)
        out.append(np.stack([a[ok], b[ok]], 1))
        out.append(np.stack([b[ok], a[ok]], 1))
    if not out:
        return np.zeros((0, 2), np.int64)
    return np.concatenate(out)


def word2vecSampling(seq, window, neg_samples, neg_sampling_table, sub_sampling_table, sub_t):
    # the notebook's function; only the skipgrams call is the numpy re-implementation above
    V = len(neg_sampling_table)
    ppairs = skipgrams(seq, window)
    if ppairs.shape[0] > 0:
        f = sub_sampling_table[ppairs[:, 0]]
        subprob = ((f - sub_t) / f) - np.sqrt(sub_t / f)
        tokeep = (subprob < np.random.uniform(size=subprob.shape[0])) | (subprob < 0)
        ppairs = ppairs[tokeep, :]
    nbneg = ppairs.shape[0] * neg_samples
    if nbneg > 0:
        negex = np.random.choice(V, nbneg, p=neg_sampling_table)
        negexcontext = np.repeat(ppairs[:, 0], neg_samples)
        npairs = np.transpose(np.stack([negexcontext, negex]))
        pairs = np.concatenate([ppairs, npairs], axis=0)
        labels = np.concatenate([np.repeat(1, ppairs.shape[0]), np.repeat(0, nbneg)])
        perm = np.random.permutation(len(labels))
        res = [pairs[perm, :], labels[perm]]
    else:
        res = [[], []]
    return res


def track_ns_generator(corpus_num, nbm, window, neg, st_smooth, st, sub_samp, counter):
    while 1:
        xs, ys = [], []
        for p in random.sample(range(len(corpus_num)), nbm):
            pairs, labels = word2vecSampling(corpus_num[p], window, neg, st_smooth, st, sub_samp)
            if len(labels):
                xs.append(pairs)
                ys.append(labels)
        x = np.concatenate(xs)
        y = np.concatenate(ys)
        counter[0] += int(y.sum())
        yield ((x[:, 0:1].astype("int32"), x[:, 1:2].astype("int32")), y.astype("float32"))


def seed_model(V, dim):
    from keras.layers import Dense, Dot, Embedding, Input, Reshape
    from keras.models import Model

    input_target = Input((1,), dtype="int32")
    input_context = Input((1,), dtype="int32")
    embedding = Embedding(V, dim, name="embedding")
    target = Reshape((dim, 1))(embedding(input_target))
    context = Reshape((dim, 1))(embedding(input_context))
    dot_product = Reshape((1,))(Dot(axes=1, normalize=True)([target, context]))
    output = Dense(1, activation="sigmoid", name="classif")(dot_product)
    model = Model(inputs=[input_target, input_context], outputs=output)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def seed_train(offsets, values, counts, dim, window, neg, ns_exponent, subsample, steps, nbm=50, seed=1):
    """Train the seed's Track2Vec for ``steps`` generator batches of ``nbm`` playlists.

    Returns (embeddings, positive pairs seen, seconds)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t0 = time.perf_counter()
    random.seed(seed)
    np.random.seed(seed)
    corpus = [values[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]
    c = np.asarray(counts, dtype="float")
    V = len(c)
    st = c / np.sum(c)
    st_smooth = np.where(c > 0, np.power(np.where(st > 0, st, 1.0), ns_exponent), 0.0)
    st_smooth = st_smooth / np.sum(st_smooth)
    st = np.where(st > 0, st, 1e-12)
    model = seed_model(V, dim)
    counter = [0]
    gen = track_ns_generator(corpus, nbm, window, neg, st_smooth, st, subsample, counter)
    epochs = max(1, steps // 200)
    model.fit(gen, steps_per_epoch=steps // epochs, epochs=epochs, verbose=0)
    emb = model.get_weights()[0]
    return emb, counter[0], time.perf_counter() - t0
