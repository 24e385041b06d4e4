"""The best achievable score on the built-in dataset (the ``oracle`` row).

The synthetic generator is a first-order Markov chain over catalog tracks (see
:mod:`track2vec.synthetic`). Evaluation pairs are consecutive songs of the
*filtered* playlists, so the song after a query is the first vocabulary song the
chain reaches after it, possibly through rare songs that the vocabulary drops.
Given only the query, the Bayes-optimal ranking is therefore the chain's
first-passage distribution into the vocabulary,

    P(q -> t) = K_VV(q, t) + sum_{n >= 0} (K_VF K_FF^n K_FV)(q, t),

with ``V`` the vocabulary songs and ``F`` the other catalog songs, the query
excluded as for every other method. :func:`first_passage_probabilities` computes
it exactly (up to float64 rounding) from the kernel's structure, and
:func:`oracle_rankings` ranks by it.

Usage::

    model = synthetic.load_model("results/data/synthetic_model.npz")
    ranks = oracle_rankings(model, vocab["track_id"], queries, k=10)

Two properties of the generator are outside the ranking, as they depend on what
the query alone does not tell: the no-repeat rule (it only demotes songs played
earlier in the playlist) and the playlist's end (a path through rare songs needs
the playlist to go on long enough).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .metrics import hr_ndcg
from .progress import BlockProgress
from .synthetic import mixture_weights, token_to_index

__all__ = ["first_passage_probabilities", "oracle_rankings", "oracle_scores"]


def _vocab_catalog(model: Mapping[str, np.ndarray], track_ids) -> np.ndarray:
    lookup = token_to_index(model)
    cat = np.array([lookup.get(t, -1) for t in track_ids], dtype=np.int64)
    if (cat < 0).any():
        missing = np.asarray(track_ids, dtype=object)[cat < 0][:3]
        raise ValueError(
            f"{int((cat < 0).sum())} vocabulary tracks are not in the generator's catalog (e.g. {list(missing)}): "
            "the model does not belong to this dataset"
        )
    return cat


class _Chain:
    """The kernel's structure, and the first-passage quantities every query shares.

    The kernel from track ``i`` (artist ``a``, genre ``g``) is ``mix0`` on its album
    successor, plus ``alpha[i] * w`` on ``a``'s other tracks, ``gam_g[i] * w`` on
    ``g``'s other tracks and ``gam_r[i] * w`` on all other tracks. Written as the
    full ranges minus a diagonal term, the part that stays inside an artist (the
    successor, the artist component and the diagonal corrections) is a small
    matrix per artist; the genre and random components leave it as rank-one
    "leaks" to ``w`` over a genre or over the catalog. A walk inside an artist is
    solved exactly per artist (batched by size), and the leaks close a linear
    system over the genres.
    """

    def __init__(self, model: Mapping[str, np.ndarray], cat: np.ndarray):
        w = np.asarray(model["track_weight"], dtype=np.float64)
        T = w.size
        self.w = w
        self.cat = cat
        self.kept = np.zeros(T, dtype=bool)
        self.kept[cat] = True
        self.track_artist = np.asarray(model["track_artist"]).astype(np.int64)
        self.artist_start = np.asarray(model["artist_start"]).astype(np.int64)
        artist_genre = np.asarray(model["artist_genre"]).astype(np.int64)
        self.genre_start = np.asarray(model["genre_start"]).astype(np.int64)
        self.track_genre = artist_genre[self.track_artist]
        self.successor = np.asarray(model["successor"]).astype(np.int64)
        mix = mixture_weights(model, np.arange(T))
        cs = np.concatenate([[0.0], np.cumsum(w)])
        a_mass = (cs[self.artist_start[1:]] - cs[self.artist_start[:-1]])[self.track_artist]
        g_mass = (cs[self.genre_start[1:]] - cs[self.genre_start[:-1]])[self.track_genre]
        self.mix0 = mix[:, 0]
        self.alpha = np.where(mix[:, 1] > 0, mix[:, 1] / np.maximum(a_mass - w, 1e-300), 0.0)
        self.gam_g = np.where(mix[:, 2] > 0, mix[:, 2] / np.maximum(g_mass - w, 1e-300), 0.0)
        self.gam_r = mix[:, 3] / (1.0 - w)
        self.w_kept = np.where(self.kept, w, 0.0)
        self.w_filt = np.where(self.kept, 0.0, w)
        self._globals()
        self._vocab_layout()

    # -- per artist ------------------------------------------------------------------
    def _solve(self, artists: np.ndarray, n: int) -> dict[str, np.ndarray]:
        """Exact walks inside each of ``artists`` (all with ``n`` tracks) through its
        rare tracks: for a start on rare track ``i`` (row ``i``), ``E`` is the expected
        mass reaching each vocabulary track of the artist directly, ``lg``/``lr`` the
        mass leaking to the genre/random components."""
        lo = self.artist_start[artists]
        idx = lo[:, None] + np.arange(n)  # (m, n) catalog indices
        w = self.w[idx]
        filt = ~self.kept[idx]
        m_ = len(artists)
        M = self.alpha[idx][:, :, None] * w[:, None, :]
        eye = np.eye(n, dtype=bool)
        M[:, eye] = -(self.gam_g[idx] + self.gam_r[idx]) * w  # diagonal: no self-transition, leak correction
        succ = self.successor[idx] - lo[:, None]
        rows = np.repeat(np.arange(m_), n)
        M[rows, np.tile(np.arange(n), m_), succ.ravel()] += self.mix0[idx].ravel()
        # walks stay on rare tracks; a vocabulary track absorbs
        M_ff = M * (filt[:, :, None] & filt[:, None, :])
        Q = np.linalg.inv(np.eye(n) - M_ff)  # rows of rare starts: expected visits to rare tracks
        E = Q @ (M * ~filt[:, None, :])
        lg = Q @ (self.gam_g[idx] * filt)[:, :, None]
        lr = Q @ (self.gam_r[idx] * filt)[:, :, None]
        return {"idx": idx, "filt": filt, "E": E, "lg": lg[..., 0], "lr": lr[..., 0]}

    def _by_size(self, artists: np.ndarray):
        sizes = self.artist_start[artists + 1] - self.artist_start[artists]
        for n in np.unique(sizes):
            sel = artists[sizes == n]
            for s in range(0, len(sel), max(1, 200_000 // int(n) ** 2)):
                yield sel[s : s + max(1, 200_000 // int(n) ** 2)], int(n)

    def _globals(self) -> None:
        """``U`` (vocabulary weight plus everything the random component reaches through
        rare tracks), ``Yloc`` and ``kappa`` (the same for a genre component: ``Yloc``
        restricted to the genre plus ``kappa[g] * U``), and per artist the first-passage
        of its rare tracks' weight (``ell``, ``GamG``, ``GamR``)."""
        T = self.w.size
        n_art = len(self.artist_start) - 1
        ell = np.zeros(T)  # into vocabulary tracks, from u_A(a) = w on the rare tracks of a
        self.GamG = np.zeros(n_art)
        self.GamR = np.zeros(n_art)
        for arts, n in self._by_size(np.arange(n_art)):
            s = self._solve(arts, n)
            x = self.w[s["idx"]] * s["filt"]  # u_A(a)
            ell[s["idx"].ravel()] = np.einsum("mi,mij->mj", x, s["E"]).ravel()  # artists do not overlap
            self.GamG[arts] = (x * s["lg"]).sum(axis=1)
            self.GamR[arts] = (x * s["lr"]).sum(axis=1)
        n_gen = len(self.genre_start) - 1
        artist_gen = self.track_genre[self.artist_start[:-1]]
        gamG = np.bincount(artist_gen, self.GamG, minlength=n_gen)
        gamR = np.bincount(artist_gen, self.GamR, minlength=n_gen)
        # H_G(g) = P_g + kappa_g U, H_R = sum_g H_G(g), U = w_kept + H_R
        P = (ell + gamG[self.track_genre] * self.w_kept) / (1.0 - gamG[self.track_genre])
        self.kappa = gamR / (1.0 - gamG)
        K = self.kappa.sum()
        H_R = (P + K * self.w_kept) / (1.0 - K)
        self.U = self.w_kept + H_R
        self.Yloc = self.w_kept + P

    # -- per query -------------------------------------------------------------------
    def _vocab_layout(self) -> None:
        """Vocabulary columns grouped by genre, so that a genre's songs are one slice."""
        cat = self.cat
        gen_v = self.track_genre[cat]
        self.col = np.argsort(gen_v, kind="stable")  # column -> vocabulary index
        self.col_genre = np.searchsorted(gen_v[self.col], np.arange(len(self.genre_start)))
        self.U_col = self.U[cat][self.col]
        self.Yloc_col = self.Yloc[cat][self.col]
        self.cat_to_col = np.full(self.w.size, -1, dtype=np.int64)
        self.cat_to_col[cat[self.col]] = np.arange(len(cat))

    def scores(self, c: np.ndarray) -> np.ndarray:
        """First-passage probabilities into the vocabulary from catalog tracks ``c``
        (vocabulary songs), shape ``(len(c), V)`` over the genre-grouped columns
        (``self.col[j]`` is column ``j``'s vocabulary index); the query's own column holds
        the probability of returning to it through rare tracks."""
        a = self.track_artist[c]
        g = self.track_genre[c]
        s_ = self.successor[c]
        mix0 = self.mix0[c]
        s_filt = ~self.kept[s_] & (mix0 > 0)
        coefU = self.alpha[c] * self.GamR[a]
        coefY = self.alpha[c] * self.GamG[a]
        n_max = int(np.diff(self.artist_start).max())
        local = np.zeros((len(c), n_max))
        lo = self.artist_start[a]
        sizes = self.artist_start[a + 1] - lo
        for n in np.unique(sizes):
            rows = np.flatnonzero(sizes == n)
            arts, inv = np.unique(a[rows], return_inverse=True)
            sol = self._solve(arts, int(n))
            idx, filt, E = sol["idx"][inv], sol["filt"][inv], sol["E"][inv]
            r = np.arange(len(rows))
            sp = s_[rows] - lo[rows]  # the album successor, within the artist
            seq = mix0[rows] * s_filt[rows]  # ... reached through rare tracks
            loc = self.alpha[c[rows], None] * (np.einsum("mi,mij->mj", self.w[idx] * filt, E) + self.w[idx] * ~filt)
            loc += seq[:, None] * E[r, sp]
            loc[r, sp] += mix0[rows] * ~s_filt[rows] * self.kept[s_[rows]]  # ... directly
            coefU[rows] += seq * sol["lr"][inv][r, sp]
            coefY[rows] += seq * sol["lg"][inv][r, sp]
            local[rows, :n] = loc
        aY = self.gam_g[c] + coefY
        aU = self.gam_r[c] + coefU + self.kappa[g] * aY
        out = aU[:, None] * self.U_col[None, :]
        for gg in np.unique(g):
            rows = np.flatnonzero(g == gg)
            lo_g, hi_g = self.col_genre[gg], self.col_genre[gg + 1]
            out[rows, lo_g:hi_g] += aY[rows, None] * self.Yloc_col[None, lo_g:hi_g]
        pos = lo[:, None] + np.arange(n_max)
        ok = np.arange(n_max)[None, :] < sizes[:, None]
        cols = np.where(ok, self.cat_to_col[np.minimum(pos, self.w.size - 1)], -1)
        r, j = np.nonzero(cols >= 0)
        out[r, cols[r, j]] += local[r, j]  # one artist's tracks: distinct columns per row
        # K(c, c) = 0: the direct terms above gave the query its own weight
        out[np.arange(len(c)), self.cat_to_col[c]] -= (self.alpha[c] + self.gam_g[c] + self.gam_r[c]) * self.w[c]
        return out


def first_passage_probabilities(model: Mapping[str, np.ndarray], track_ids, queries: np.ndarray) -> np.ndarray:
    """Probability that the first vocabulary song the generator plays after each query is each
    vocabulary song.

    Parameters
    ----------
    model : mapping
        The generator's model (``synthetic_model.npz``).
    track_ids : sequence of str
        ``track_id`` of each vocabulary index (``vocab.parquet``).
    queries : numpy.ndarray of int
        Query songs (vocabulary indices).

    Returns
    -------
    numpy.ndarray of float64, shape (n, V)
        Row ``i`` sums to 1 (up to rounding); column ``queries[i]`` holds the probability of
        returning to the query through songs outside the vocabulary.
    """
    chain = _Chain(model, _vocab_catalog(model, list(track_ids)))
    p = chain.scores(chain.cat[np.asarray(queries, dtype=np.int64)])
    out = np.empty_like(p)
    out[:, chain.col] = p
    return out


def oracle_rankings(
    model: Mapping[str, np.ndarray],
    track_ids,
    queries: np.ndarray,
    k: int = 10,
    block: int = 128,
    progress: Callable[[str], None] | None = None,
) -> np.ndarray:
    """The ``k`` most probable next vocabulary songs of each query under the generator.

    Parameters
    ----------
    model : mapping
        The generator's model (``synthetic_model.npz``).
    track_ids : sequence of str
        ``track_id`` of each vocabulary index (``vocab.parquet``).
    queries : numpy.ndarray of int
        Query songs (vocabulary indices).
    k : int
    block : int
        Queries ranked at a time (memory: a few block x V floats).
    progress : callable, optional
        Receives a progress line about every tenth of the blocks (nothing for one block).

    Returns
    -------
    numpy.ndarray of int64, shape (n, k)
        Vocabulary indices by :func:`first_passage_probabilities`, most probable first, the
        query excluded; ties go to the lower index.
    """
    cat = _vocab_catalog(model, list(track_ids))
    V = len(cat)
    if not 1 <= k < V:
        raise ValueError(f"k must be between 1 and {V - 1}, got {k}")
    chain = _Chain(model, cat)
    queries = np.asarray(queries, dtype=np.int64)
    uq, inverse = np.unique(queries, return_inverse=True)  # rank each distinct query once
    by_genre = np.argsort(chain.track_genre[cat[uq]], kind="stable")  # a block's genres: few slices
    uq, inverse = uq[by_genre], np.argsort(by_genre)[inverse]
    ranked = np.empty((len(uq), k), dtype=np.int64)
    depth = min(V - 1, k + 8)  # room for ties at the k-th score
    meter = BlockProgress(progress, len(uq), block, label="oracle:")
    for start in range(0, len(uq), block):
        qv = uq[start : start + block]
        p = chain.scores(cat[qv])
        p[np.arange(len(qv)), chain.cat_to_col[cat[qv]]] = -np.inf
        top = np.argpartition(-p, depth - 1, axis=1)[:, :depth]
        s = np.take_along_axis(p, top, axis=1)
        top = chain.col[top]  # vocabulary indices
        order = np.lexsort((top, -s), axis=1)[:, :k]
        ranked[start : start + len(qv)] = np.take_along_axis(top, order, axis=1)
        meter.done(start // block, start + len(qv))
    return ranked[inverse]


def oracle_scores(
    model: Mapping[str, np.ndarray],
    vocab: pd.DataFrame,
    pairs: pd.DataFrame,
    k: int = 10,
    same_song: str = "miss",
    progress: Callable[[str], None] | None = None,
) -> dict:
    """HR@k and NDCG@k of the oracle ranking on (query, target) pairs (as :func:`track2vec.metrics.hr_ndcg`)."""
    q = pairs["query"].to_numpy(dtype=np.int64)
    t = pairs["target"].to_numpy(dtype=np.int64)
    ranks = oracle_rankings(model, vocab["track_id"].astype(str).tolist(), q, k, progress=progress)
    return hr_ndcg(ranks, q, t, same_song=same_song)
