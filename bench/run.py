"""Side-by-side benchmark: track2vec vs gensim Word2Vec vs the seed notebook.

    .venv/bin/python bench/run.py                 # built-in 100k + e-commerce file
    .venv/bin/python bench/run.py --large         # + the 1,000,000-playlist built-in set

Every measured program runs in its own subprocess (peak memory = its ru_maxrss), one
after the other, on the same prepared data (our load -> vocab -> split, cached under
``<out>/cache``).  Writes ``<out>/report.md`` and ``<out>/report.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402

from track2vec.atomic import write_text  # noqa: E402

HP = {  # word2vec as gensim trains it (untied), the paper's settings on each kind of data
    "synthetic": dict(dim=50, window=3, negatives=5, ns_exponent=0.75, subsample=1e-5),
    "ecommerce": dict(dim=50, window=3, negatives=5, ns_exponent=1.0, subsample=1e-3),
}


def maxrss_mb() -> float:
    """Peak resident memory of this process (VmHWM).  Not ru_maxrss: Linux keeps that
    across fork + exec, so a worker would report the driver's peak if it was higher."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- workers


def w_ours(a):
    t = time.perf_counter()
    import tensorflow  # noqa: F401  (imported before the clock, as gensim is: the import is reported apart)

    from track2vec.train import TrainParams, train

    imp = time.perf_counter() - t
    d = data.load_prepared(Path(a["prepared"]))
    # word2vec as gensim trains it: untied, one vector per song, gensim's learning rates and batch
    p = TrainParams(
        epochs=a["epochs"],
        tied=False,
        artist_vectors=False,
        learning_rate=0.025,
        min_learning_rate=0.0001,
        batch_size=1024,
        seed=1,
        **a["hp"],
    )
    t = time.perf_counter()
    r = train(d["offsets"], d["values"], d["counts"], p, threads=a["threads"])
    secs = time.perf_counter() - t
    np.save(a["emb"], r.embeddings)
    return {"seconds": secs, "import_seconds": imp, "positive_pairs": sum(h["positive_pairs"] for h in r.history)}


def w_gensim(a):
    """gensim's Word2Vec: its vocabulary is built outside the clock (ours receives the counts from the
    vocab step), then ``train`` is timed, as our training call is."""
    t = time.perf_counter()
    from gensim.models import Word2Vec

    imp = time.perf_counter() - t
    d = data.load_prepared(Path(a["prepared"]))
    off, val, V = d["offsets"], d["values"], len(d["counts"])
    toks = np.array([str(i) for i in range(V)], dtype=object)
    sents = [toks[val[x:y]].tolist() for x, y in zip(off[:-1], off[1:])]
    hp = a["hp"]
    m = Word2Vec(
        sg=1,
        vector_size=hp["dim"],
        window=hp["window"],
        negative=hp["negatives"],
        ns_exponent=hp["ns_exponent"],
        sample=hp["subsample"],
        epochs=a["epochs"],
        workers=a["threads"],
        min_count=1,
        alpha=0.025,
        min_alpha=0.0001,
        seed=1,
    )
    t = time.perf_counter()
    m.build_vocab(sents)
    vocab_secs = time.perf_counter() - t
    t = time.perf_counter()
    effective, _ = m.train(sents, total_examples=m.corpus_count, epochs=a["epochs"])
    secs = time.perf_counter() - t
    emb = np.random.default_rng(0).uniform(-0.5 / hp["dim"], 0.5 / hp["dim"], (V, hp["dim"])).astype(np.float32)
    emb[np.array([int(k) for k in m.wv.index_to_key])] = m.wv.vectors  # songs never in training keep a random vector
    np.save(a["emb"], emb)
    keep = np.zeros(V)
    for key, i in m.wv.key_to_index.items():
        keep[int(key)] = m.wv.get_vecattr(i, "sample_int") / 2**32
    pairs, kept = gensim_pairs(off, val, keep, hp["window"], a["epochs"])
    return {
        "seconds": secs,
        "import_seconds": imp,
        "vocab_seconds": vocab_secs,
        "effective_words": int(effective),
        "simulated_kept_words": kept,
        "positive_pairs": pairs,
    }


def gensim_pairs(offsets, values, keep, window: int, epochs: int, seed: int = 0) -> tuple[int, int]:
    """Skip-gram positive pairs of ``epochs`` epochs under gensim's own rules: each word kept with its
    ``sample_int / 2**32`` probability, the survivors of a sentence contiguous, and each centre's
    window reduced to a uniform 1..window on both sides (word2vec_inner.pyx). gensim does not
    count its pairs, so they are drawn here; its returned count of kept words checks the draw."""
    rng = np.random.default_rng(seed)
    sent = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    pairs = kept_total = 0
    for _ in range(epochs):
        kept = rng.random(len(values)) < keep[values]
        s = sent[kept]
        n = np.bincount(s, minlength=len(offsets) - 1)
        start = np.concatenate([[0], np.cumsum(n)[:-1]])
        i = np.arange(len(s)) - start[s]
        w = window - rng.integers(0, window, size=len(s))
        pairs += int((np.minimum(w, i) + np.minimum(w, n[s] - 1 - i)).sum())
        kept_total += int(kept.sum())
    return pairs, kept_total


def w_seed(a):
    from seed_code import seed_train

    d = data.load_prepared(Path(a["prepared"]))
    hp = a["hp"]
    emb, pairs, secs = seed_train(
        d["offsets"],
        d["values"],
        d["counts"],
        hp["dim"],
        hp["window"],
        hp["negatives"],
        hp["ns_exponent"],
        hp["subsample"],
        a["steps"],
    )
    np.save(a["emb"], emb)
    return {"seconds": secs, "positive_pairs": pairs}


def w_search(a):
    """The seed's KDTree against ours on equal terms: the same distinct queries, one thread each
    (the KDTree has no threads), and each side's index (tree, faiss index) built inside its clock."""
    from sklearn.neighbors import KDTree
    from threadpoolctl import threadpool_limits

    from track2vec import knn

    knn._THREADS = 1
    emb = np.load(a["emb"])
    q = np.unique(np.load(a["queries"]))
    out = {}
    with threadpool_limits(1, user_api="blas"):
        for _ in range(a["repeats"]):  # interleaved: ours, the seed's KDTree, ours again
            e = emb.copy()  # a new array each time: nothing kept from the previous call
            t = time.perf_counter()
            ours, _ = knn.nearest_neighbours(e, q, k=10, metric="euclidean")
            out.setdefault("ours", []).append(time.perf_counter() - t)
            t = time.perf_counter()
            kdt = KDTree(emb, leaf_size=10, metric="euclidean")
            _, ind = kdt.query(emb[q], k=11)
            out.setdefault("kdtree", []).append(time.perf_counter() - t)
            e = emb.copy()
            t = time.perf_counter()
            ours2, _ = knn.nearest_neighbours(e, q, k=10, metric="euclidean")
            out["ours"].append(time.perf_counter() - t)
            assert (ours2 == ours).all()
            e = emb.copy()
            t = time.perf_counter()
            knn.nearest_neighbours(e, q, k=10, metric="cosine")
            out.setdefault("ours_cosine", []).append(time.perf_counter() - t)
    # the seed's predict_batch: the query itself comes back first (distance 0); drop it
    kd = np.array([[j for j in row if j != qi][:10] for row, qi in zip(ind, q)])
    same_rows = (kd == ours).all(axis=1)
    same_sets = np.array([set(x) == set(y) for x, y in zip(kd, ours)])
    return {
        "ours": float(np.median(out["ours"])),
        "kdtree": float(np.median(out["kdtree"])),
        "ours_cosine": float(np.median(out["ours_cosine"])),
        "ours_all": out["ours"],
        "kdtree_all": out["kdtree"],
        "identical_rows": float(same_rows.mean()),
        "identical_sets": float(same_sets.mean()),
        "n_queries": int(len(q)),
        "n_distinct_queries": int(len(q)),
    }


def w_seedpre(a):
    from seed_code import seed_preprocess

    c = time.process_time()
    res = seed_preprocess(a["source"])
    res["cpu"] = time.process_time() - c  # CPU seconds of the three steps (waits on a busy machine excluded)
    return res


def w_ourpre(a):
    """Our preprocessing as library calls in one process, nothing written: what the seed's
    code does (file -> filtered integer corpus -> split), timed the same way."""
    from track2vec.io import read_playlists
    from track2vec.split import split_playlists
    from track2vec.vocab import build_vocabulary

    c = time.process_time()
    t0 = time.perf_counter()
    pl = read_playlists(a["source"])
    t1 = time.perf_counter()
    voc = build_vocabulary(pl, min_count=2)
    t2 = time.perf_counter()
    split_playlists(voc.offsets, voc.values, n_val=10_000, n_test=10_000, seed=4)
    t3 = time.perf_counter()
    return {"load": t1 - t0, "vocab": t2 - t1, "split": t3 - t2, "cpu": time.process_time() - c}


def w_step(a):
    """One of our pipeline steps, files in / files out, as Snakemake runs it."""
    from track2vec.pipeline.evaluate import evaluate_step
    from track2vec.pipeline.load import load_step
    from track2vec.pipeline.split import split_step
    from track2vec.pipeline.vocab import vocab_step

    tmp = Path(a["tmp"])
    t = time.perf_counter()
    if a["step"] == "load":
        load_step(a["source"], str(tmp / "playlists.parquet"))
    elif a["step"] == "vocab":
        vocab_step(str(tmp / "playlists.parquet"), 2, str(tmp / "vocab.parquet"), str(tmp / "corpus.parquet"))
    elif a["step"] == "split":
        split_step(
            str(tmp / "corpus.parquet"),
            10_000,
            10_000,
            4,
            str(tmp / "train.parquet"),
            str(tmp / "val.parquet"),
            str(tmp / "test.parquet"),
        )
    elif a["step"] == "evaluate":
        evaluate_step(
            a["emb"],
            str(tmp / "vocab.parquet"),
            str(tmp / "val.parquet"),
            10,
            "cosine",
            "miss",
            str(tmp / "metrics.json"),
        )
    return {"seconds": time.perf_counter() - t}


WORKERS = {
    "ourpre": w_ourpre,
    "ours": w_ours,
    "gensim": w_gensim,
    "seed": w_seed,
    "search": w_search,
    "seedpre": w_seedpre,
    "step": w_step,
}


def worker_main(kind: str, arg_path: str) -> None:
    import warnings

    warnings.simplefilter("ignore")
    a = json.loads(Path(arg_path).read_text())
    res = WORKERS[kind](a)
    res["peak_mb"] = maxrss_mb()
    Path(a["result"]).write_text(json.dumps(res))


def spawn(kind: str, work: Path, **args) -> dict:
    args["result"] = str(work / f"{kind}_result.json")
    ap = work / f"{kind}_args.json"
    ap.write_text(json.dumps(args))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "_worker", kind, str(ap)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{proc.stdout[-3000:]}")
    res = json.loads(Path(args["result"]).read_text())
    res["process_seconds"] = time.perf_counter() - t
    return res


# ----------------------------------------------------------------------------- driver


def scores(emb_path: str, d: dict) -> dict:
    from track2vec.knn import nearest_neighbours
    from track2vec.metrics import hr_ndcg

    emb = np.load(emb_path)
    idx, _ = nearest_neighbours(emb, d["val_query"], k=10)
    m = hr_ndcg(idx, d["val_query"], d["val_target"])
    return {"hr_at_10": m["hr_at_k"], "ndcg_at_10": m["ndcg_at_k"]}


def bench_dataset(name: str, source: Path, kind: str, args, tmp: Path, log) -> dict:
    cache = Path(args.out) / "cache"
    hp = HP[kind]
    large = name == "synthetic_1m"
    epochs = args.large_epochs if large else args.epochs
    repeats = 1 if large else args.repeats
    out: dict = {"name": name, "source": str(source), "hp": hp, "epochs": epochs}
    # --- preprocessing: our pipeline steps (each a subprocess, with parquet I/O) vs the seed's code
    steps_dir = tmp / f"steps_{name}"
    steps_dir.mkdir()
    pre = {}
    for step in ("load", "vocab", "split"):
        pre[step] = spawn("step", tmp, step=step, source=str(source), tmp=str(steps_dir))
        log(f"  ours {step}: {pre[step]['seconds']:.2f} s, peak {pre[step]['peak_mb']:.0f} MB")
    pairs = []
    for rep in range(args.pre_repeats):  # interleaved: the seed's code, then ours, each in a fresh process
        sp = spawn("seedpre", tmp, source=str(source))
        op = spawn("ourpre", tmp, source=str(source))
        pairs.append({"seed": sp, "ours": op})
        log(f"  preprocessing pair {rep + 1}: seed {sp}, ours {op}")
    out["preprocessing"] = {"ours": pre, "seed": pairs[0]["seed"], "pairs": pairs}
    prepared = data.prepared(cache, name, source)
    d = data.load_prepared(prepared)
    out["data"] = {
        "train_sequences": int(len(d["offsets"]) - 1),
        "train_tokens": int(len(d["values"])),
        "vocabulary": int(len(d["counts"])),
        "val_pairs": int(len(d["val_query"])),
    }
    log(f"  data: {out['data']}")
    # --- training, gensim and ours alternating
    train: dict = {"ours": [], "gensim": []}
    for rep in range(repeats):
        for who in ("gensim", "ours"):
            emb = str(tmp / f"{name}_{who}_{rep}.npy")
            r = spawn(who, tmp, prepared=str(prepared), hp=hp, epochs=epochs, threads=args.threads, emb=emb)
            r.update(scores(emb, d))
            r["emb"] = emb
            train[who].append(r)
            log(f"  {who} run {rep + 1}: {r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB, HR@10 {r['hr_at_10']:.4f}")
    if args.seed_steps:
        emb = str(tmp / f"{name}_seed.npy")
        r = spawn("seed", tmp, prepared=str(prepared), hp=hp, steps=args.seed_steps, emb=emb)
        r.update(scores(emb, d))
        train["seed"] = [r]
        log(f"  seed: {r['seconds']:.1f} s for {args.seed_steps} steps, HR@10 {r['hr_at_10']:.4f}")
    out["train"] = train
    # --- the evaluate step's memory (our pipeline step on our embeddings)
    ev = spawn("step", tmp, step="evaluate", tmp=str(steps_dir), emb=train["ours"][0]["emb"])
    out["evaluate_step"] = ev
    # --- search: the distinct validation queries, top 10 (against faiss: bench/search.py)
    q = np.unique(d["val_query"])
    qp = tmp / f"{name}_queries.npy"
    np.save(qp, q)
    s = spawn("search", tmp, emb=train["ours"][0]["emb"], queries=str(qp), repeats=args.search_repeats)
    log(f"  search: {s}")
    out["search"] = s
    return out


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def prep_totals(pair: dict) -> tuple[float, float]:
    """Seed's and our load + vocab + split seconds of one interleaved preprocessing pair."""
    return tuple(sum(pair[who][x] for x in ("load", "vocab", "split")) for who in ("seed", "ours"))


def goals(results: list[dict]) -> list[str]:
    """The issue's goals, each from this run: the median over the interleaved pairs (the
    machine's speed drifts between runs; a pair's two runs are seconds apart), and the range."""
    lines = [
        "## Goals (median over this run's interleaved pairs; range in brackets)",
        "",
        "| data | training time ours/gensim (goal: <= 0.5 at 100k, <= 0.7 e-commerce) "
        "| HR@10 ours - gensim (>= -0.005) | search speed-up vs the KDTree, one thread each "
        "| preprocessing speed-up (>= 5x) | peak MB, any step (<= 2,000 at 100k) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        t = r["train"]
        pairs = list(zip(t["ours"], t["gensim"]))
        tr = [o["seconds"] / g["seconds"] for o, g in pairs]
        dh = [o["hr_at_10"] - g["hr_at_10"] for o, g in pairs]
        pre = [ts / to for ts, to in map(prep_totals, r["preprocessing"].get("pairs", []))]
        s = r["search"]
        peak = max(
            [r["preprocessing"]["ours"][x]["peak_mb"] for x in ("load", "vocab", "split")]
            + [x["peak_mb"] for x in t["ours"]]
            + [r["evaluate_step"]["peak_mb"]]
        )

        def fmt(xs, f):
            return f"{f(np.median(xs))} [{f(min(xs))}, {f(max(xs))}]" if xs else "-"

        lines.append(
            f"| {r['name']} | {fmt(tr, lambda x: f'{x:.2f}')} | {fmt(dh, lambda x: f'{x:+.4f}')} | "
            f"{s['kdtree'] / s['ours']:.1f}x | {fmt(pre, lambda x: f'{x:.1f}x')} | {peak:,.0f} |"
        )
    return lines + [""]


def report(results: list[dict], args, path: Path) -> str:
    lines = [
        "# Benchmark: track2vec vs gensim vs the seed notebook",
        "",
        f"Command: `{' '.join(['.venv/bin/python', 'bench/run.py'] + sys.argv[1:])}`; "
        f"{os.cpu_count()} cores (shared), threads/workers = {args.threads}, {args.epochs} epochs "
        f"({args.large_epochs} on the 1,000,000-playlist set, one run each), "
        f"{args.repeats} alternating run(s) each of gensim and track2vec; seed: {args.seed_steps} Keras steps "
        "of 50 playlists. Training times are wall seconds of the training call (ours includes TensorFlow's "
        "runtime start-up and tracing; the library imports, done first, are shown apart, and so is gensim's "
        "build_vocab, as ours receives the vocabulary's counts from the vocab step); positive pairs: ours as "
        "counted by the trainer, gensim's drawn with its own keep probabilities and window rule; "
        "peak = the subprocess's VmHWM (peak resident memory).",
        "",
    ]
    lines += goals(results)
    lines += [
        "## Training (validation HR@10 / NDCG@10: exact cosine neighbours, same split)",
        "",
        "| data | epochs | trainer | seconds | import s | positive pairs/s | peak MB | HR@10 | NDCG@10 "
        "| time ratio ours/gensim | HR@10 ours - gensim |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        g = r["train"]["gensim"]
        for who, runs in r["train"].items():
            for i, x in enumerate(runs):
                o = r["train"]["ours"][i] if who == "ours" else None
                rat = ratio(o["seconds"], g[i]["seconds"]) if o else ""
                dh = f"{o['hr_at_10'] - g[i]['hr_at_10']:+.4f}" if o else ""
                pps = x.get("positive_pairs", 0) / x["seconds"]
                imp = f"{x['import_seconds']:.1f}" if "import_seconds" in x else "-"
                if "vocab_seconds" in x:
                    imp += f" (build_vocab {x['vocab_seconds']:.1f})"
                lines.append(
                    f"| {r['name']} | {r['epochs'] if who != 'seed' else '-'} | "
                    f"{who}{'' if len(runs) == 1 else f' #{i + 1}'} | {x['seconds']:.1f} | "
                    f"{imp} | {pps:,.0f} | {x['peak_mb']:.0f} | {x['hr_at_10']:.4f} | {x['ndcg_at_10']:.4f} | "
                    f"{rat} | {dh} |"
                )
    lines += [
        "",
        "## Search: the distinct validation queries, top 10, full vocabulary (Euclidean, as the seed)",
        "",
        "Timed in one process, one thread each, interleaved: track2vec, the seed's KDTree (build + query "
        "k=11), track2vec again (each building its index); the median of each.",
        "",
        "| data | vocabulary | distinct queries | seed KDTree(leaf_size=10) s | track2vec s (all runs) | speed-up "
        "| identical neighbour lists | identical sets | track2vec cosine s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["search"]
        runs = ", ".join(f"{x:.2f}" for x in s.get("ours_all", [s["ours"]]))
        lines.append(
            f"| {r['name']} | {r['data']['vocabulary']:,} | {s.get('n_distinct_queries', '-')} | {s['kdtree']:.2f} | "
            f"{s['ours']:.2f} ({runs}) | {s['kdtree'] / s['ours']:.1f}x | {s['identical_rows']:.4f} | "
            f"{s['identical_sets']:.4f} | {s.get('ours_cosine', float('nan')):.2f} |"
        )
    lines += [
        "",
        "## Preprocessing: file -> filtered integer corpus -> split (like for like)",
        "",
        "Both sides as library code in a fresh process each, nothing written, interleaved (seed, ours, seed, "
        "ours, ...): the seed's notebook code (`bench/seed_code.py`: np.load, filter lists, count dict, "
        "re-encode, split) vs `read_playlists` -> `build_vocabulary` -> `split_playlists`. Both load the "
        "same pickled object array. Goal: speed-up >= 5x.",
        "",
        "| data | pair | seed load / vocab / split s | track2vec load / vocab / split s | seed total s "
        "| track2vec total s | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for i, pr in enumerate(r["preprocessing"].get("pairs", [])):
            sd, od = pr["seed"], pr["ours"]
            ts, to = prep_totals(pr)
            lines.append(
                f"| {r['name']} | {i + 1} | {sd['load']:.2f} / {sd['vocab']:.2f} / {sd['split']:.2f} | "
                f"{od['load']:.2f} / {od['vocab']:.2f} / {od['split']:.2f} | {ts:.2f} | {to:.2f} | {ts / to:.1f}x |"
            )
    lines += [
        "",
        "Our pipeline steps as Snakemake runs them (each a process; parquet in and out, which the seed "
        "does not do; for information, not the goal's ratio):",
        "",
        "| data | load s | vocab s | split s | total s | peak MB (load / vocab / split) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        p = r["preprocessing"]["ours"]
        tot = sum(p[x]["seconds"] for x in ("load", "vocab", "split"))
        lines.append(
            f"| {r['name']} | {p['load']['seconds']:.2f} | {p['vocab']['seconds']:.2f} | {p['split']['seconds']:.2f} | "
            f"{tot:.2f} | {p['load']['peak_mb']:.0f} / {p['vocab']['peak_mb']:.0f} / {p['split']['peak_mb']:.0f} |"
        )
    lines += [
        "",
        "## Peak memory of each pipeline step (MB)",
        "",
        "| data | load | vocab | split | train | evaluate |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        p = r["preprocessing"]["ours"]
        lines.append(
            f"| {r['name']} | {p['load']['peak_mb']:.0f} | {p['vocab']['peak_mb']:.0f} | {p['split']['peak_mb']:.0f} | "
            f"{max(x['peak_mb'] for x in r['train']['ours']):.0f} | {r['evaluate_step']['peak_mb']:.0f} |"
        )
    small = next((r for r in results if r["name"] == "synthetic_100k"), None)
    large = next((r for r in results if r["name"] == "synthetic_1m"), None)
    if small and large:

        def per_epoch(r, who):  # mean seconds per epoch of a trainer's runs
            runs = r["train"][who]
            return sum(x["seconds"] for x in runs) / len(runs) / r["epochs"]

        def mem(r, who):
            return max(x["peak_mb"] for x in r["train"][who])

        rows = [
            ("training tokens", small["data"]["train_tokens"], large["data"]["train_tokens"], None, None),
            ("vocabulary", small["data"]["vocabulary"], large["data"]["vocabulary"], None, None),
        ]
        for step in ("load", "vocab", "split"):
            a, b = small["preprocessing"]["ours"][step], large["preprocessing"]["ours"][step]
            rows.append((f"our {step} step", a["seconds"], b["seconds"], a["peak_mb"], b["peak_mb"]))
        for who in ("ours", "gensim"):
            rows.append(
                (
                    f"{who} training, s per epoch",
                    per_epoch(small, who),
                    per_epoch(large, who),
                    mem(small, who),
                    mem(large, who),
                )
            )
        rows.append(("evaluate step", None, None, small["evaluate_step"]["peak_mb"], large["evaluate_step"]["peak_mb"]))
        rows.append(("our search, one thread", small["search"]["ours"], large["search"]["ours"], None, None))
        lines += [
            "",
            "## Growth from 100,000 to 1,000,000 playlists",
            "",
            "Linear growth means a ratio near the data's own (the first two rows).",
            "",
            "| what | 100k | 1M | ratio | peak MB 100k | peak MB 1M | memory ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        for what, a, b, ma, mb in rows:
            fa = "-" if a is None else (f"{a:,}" if isinstance(a, int) else f"{a:.2f}")
            fb = "-" if b is None else (f"{b:,}" if isinstance(b, int) else f"{b:.2f}")
            lines.append(
                f"| {what} | {fa} | {fb} | {ratio(b, a) if a else '-'} | {'-' if ma is None else f'{ma:.0f}'} | "
                f"{'-' if mb is None else f'{mb:.0f}'} | {ratio(mb, ma) if ma else '-'} |"
            )
    lines += ["", "Data: " + "; ".join(f"{r['name']}: {r['data']}" for r in results), ""]
    text = "\n".join(lines)
    write_text(path, text)
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="results/bench")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3, help="alternating gensim/track2vec runs per dataset")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="gensim workers = our threads (default: cores)")
    ap.add_argument("--seed-steps", type=int, default=400, help="Keras steps for the seed's model (0: skip)")
    ap.add_argument("--pre-repeats", type=int, default=3, help="interleaved seed/track2vec preprocessing runs")
    ap.add_argument("--search-repeats", type=int, default=1, help="rounds of (ours, KDTree, ours) search timings")
    ap.add_argument("--large", action="store_true", help="also the 1,000,000-playlist built-in set (slow)")
    ap.add_argument("--large-epochs", type=int, default=1, help="epochs on the 1,000,000-playlist set (one run each)")
    ap.add_argument("--only", default=None, help="comma-separated subset of: synthetic_100k, ecommerce, synthetic_1m")
    args = ap.parse_args()
    out = Path(args.out)
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    sets = [("synthetic_100k", lambda: data.synthetic_file(cache, 100_000), "synthetic")]
    if data.ecommerce_path():
        sets.append(("ecommerce", data.ecommerce_path, "ecommerce"))
    else:
        print("ecommerce_sessions.npy not found: skipped")
    if args.large:
        sets.append(("synthetic_1m", lambda: data.synthetic_file(cache, 1_000_000), "synthetic"))
    if args.only:
        keep = set(args.only.split(","))
        sets = [s for s in sets if s[0] in keep]
    results = []
    t0 = time.perf_counter()
    log = lambda line: print(f"[{time.perf_counter() - t0:7.1f}s] {line}", flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="t2v_bench_") as tmpd:
        for name, src, kind in sets:
            log(f"{name}")
            sub = Path(tmpd) / name
            sub.mkdir()
            results.append(bench_dataset(name, Path(src()), kind, args, sub, log))
            write_text(out / "report.json", json.dumps(results, indent=1, default=str))
            text = report(results, args, out / "report.md")
    print(text)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "_worker":
        worker_main(sys.argv[2], sys.argv[3])
    else:
        main()
