"""Exact top-k search: track2vec's (faiss plus a float64 re-scoring) against faiss ``IndexFlatIP``
alone and the seed's KDTree.

    .venv/bin/pip install -q -e '.[bench]'
    .venv/bin/python bench/search.py                        # results/embeddings/tuned.npy, results/split/val.parquet
    .venv/bin/python bench/search.py --emb E.npy --pairs P.parquet --dims 50,256,768

Cosine top-10 of every distinct validation query song, the query excluded, at each of
``--dims`` (an embedding of another dimension comes from a fixed Gaussian random projection of
the given one, which keeps its cluster structure). For each OpenBLAS kernel of ``--kernels``
(``auto``: OPENBLAS_CORETYPE unset, the kernel OpenBLAS picks for this CPU; any other value is
set as OPENBLAS_CORETYPE) a fresh process times, interleaved ``--repeats`` times:

* ours: :func:`track2vec.knn.nearest_neighbours` (faiss's float32 candidates re-scored in
  float64: exact), its index built inside the clock;
* faiss: normalise, ``IndexFlatIP`` (float32, exact within float32), add, search k + 1, drop the
  query;
* at the first dimension only, the seed's ``KDTree(leaf_size=10)`` on the unit vectors (their
  Euclidean order is the cosine order), built inside the clock, against ours on one thread.

Every side gets the same queries and ``--threads`` threads (faiss's OpenMP, in ours too),
except the KDTree pair (one thread each, BLAS included). Neighbour
lists are compared with ours, which are exact in float64: a differing row is a near tie when
the two lists' float64 scores agree within the float32 error bound (``dim * eps32``).
Writes ``<out>/search.md`` and ``<out>/search.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

EPS32 = float(np.finfo(np.float32).eps)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)


def _drop_query(ind: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """The first k entries of each row other than the row's query."""
    keep = ind != q[:, None]
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(ind, order, axis=1)


def faiss_flat(emb: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    import faiss

    x = np.ascontiguousarray(_unit(emb.astype(np.float32)))
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    _, ind = index.search(x[q], k + 1)
    return _drop_query(ind, q, k)


def compare(emb: np.ndarray, q: np.ndarray, ours: np.ndarray, other: np.ndarray) -> dict:
    x = _unit(emb.astype(np.float64))
    diff = np.flatnonzero((ours != other).any(axis=1))
    bound = 2 * emb.shape[1] * EPS32
    near = 0
    for i in diff:
        a = np.sort(x[ours[i]] @ x[q[i]])
        b = np.sort(x[other[i]] @ x[q[i]])
        near += bool(np.all(np.abs(a - b) <= bound))
    return {"identical_rows": int(len(q) - len(diff)), "near_tie_rows": near, "other_rows": int(len(diff) - near)}


def worker(a: dict) -> dict:
    import faiss
    from threadpoolctl import threadpool_info

    from track2vec import knn

    knn._THREADS = a["threads"]
    faiss.omp_set_num_threads(a["threads"])
    base = np.load(a["emb"]).astype(np.float32)
    q = np.load(a["queries"])
    k = a["k"]
    res: dict = {"blas": [], "dims": {}}
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            res["blas"].append({x: info.get(x) for x in ("internal_api", "architecture", "version", "filepath")})
    for n, dim in enumerate(a["dims"]):
        if dim == base.shape[1]:
            emb = base
        else:
            proj = np.random.default_rng(dim).standard_normal((base.shape[1], dim)) / np.sqrt(dim)
            emb = (base.astype(np.float64) @ proj).astype(np.float32)
        t: dict = {"ours": [], "faiss": []}
        for _ in range(a["repeats"]):
            e = emb.copy()
            s = time.perf_counter()
            ours, _ = knn.nearest_neighbours(e, q, k=k, metric="cosine")
            t["ours"].append(time.perf_counter() - s)
            e = emb.copy()
            s = time.perf_counter()
            fl = faiss_flat(e, q, k)
            t["faiss"].append(time.perf_counter() - s)
        row = {
            "seconds": t,
            "faiss_vs_ours": compare(emb, q, ours, fl),
        }
        if n == 0 and a["kdtree"] and a["first_kernel"]:
            from sklearn.neighbors import KDTree
            from threadpoolctl import threadpool_limits

            knn._THREADS = 1
            with threadpool_limits(1, user_api="blas"):
                e = emb.copy()
                s = time.perf_counter()
                ours1, _ = knn.nearest_neighbours(e, q, k=k, metric="cosine")
                row["ours_1_thread"] = time.perf_counter() - s
                s = time.perf_counter()
                u = _unit(emb.astype(np.float64))
                _, ind = KDTree(u, leaf_size=10).query(u[q], k=k + 1)
                row["kdtree"] = time.perf_counter() - s
            knn._THREADS = a["threads"]
            row["kdtree_vs_ours"] = compare(emb, q, ours1, _drop_query(ind, q, k))
        res["dims"][str(dim)] = row
        print(f"  dim {dim}: {json.dumps(row)}", file=sys.stderr, flush=True)
    return res


def report(args, runs: dict, n_queries: int, vocab: int) -> str:
    med = lambda xs: float(np.median(xs))  # noqa: E731
    lines = [
        "# Exact search: track2vec vs faiss IndexFlatIP (and the seed's KDTree)",
        "",
        f"Command: `{' '.join(['.venv/bin/python', 'bench/search.py'] + sys.argv[1:])}`; {os.cpu_count()} cores, "
        f"{args.threads} threads each side; {n_queries:,} distinct queries, {vocab:,} songs, cosine top-{args.k}; "
        f"median of {args.repeats} interleaved runs (all runs in brackets); every index or partition built "
        "inside the clock.",
        "",
        "| OpenBLAS kernel (threadpoolctl) | dim | ours s | faiss s | ours / faiss "
        "| faiss rows identical / near ties / other |",
        "|---|---|---|---|---|---|",
    ]
    for kernel, r in runs.items():
        arch = ", ".join(sorted({f"{b['architecture']}" for b in r["blas"]}))
        for dim, x in r["dims"].items():
            s = x["seconds"]
            f = x["faiss_vs_ours"]
            lines.append(
                f"| {kernel} ({arch}) | {dim} | {med(s['ours']):.2f} ({', '.join(f'{v:.2f}' for v in s['ours'])}) "
                f"| {med(s['faiss']):.2f} ({', '.join(f'{v:.2f}' for v in s['faiss'])}) "
                f"| {med(s['ours']) / med(s['faiss']):.2f} "
                f"| {f['identical_rows']} / {f['near_tie_rows']} / {f['other_rows']} |"
            )
    for kernel, r in runs.items():
        x = next(iter(r["dims"].values()))
        if "kdtree" in x:
            kd = x["kdtree_vs_ours"]
            lines += [
                "",
                f"KDTree(leaf_size=10), one thread, kernel {kernel}, dim {next(iter(r['dims']))}: "
                f"{x['kdtree']:.2f} s against ours on one thread {x['ours_1_thread']:.2f} s "
                f"({x['kdtree'] / x['ours_1_thread']:.1f}x); rows identical / near ties / other: "
                f"{kd['identical_rows']} / {kd['near_tie_rows']} / {kd['other_rows']}.",
            ]
    lines += ["", "BLAS libraries seen by threadpoolctl:", ""]
    for kernel, r in runs.items():
        for b in r["blas"]:
            name = Path(b["filepath"]).name
            lines.append(f"* {kernel}: {b['internal_api']} {b['version']} {b['architecture']} ({name})")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb", default="results/embeddings/tuned.npy")
    ap.add_argument("--pairs", default="results/split/val.parquet", help="queries: its distinct query songs")
    ap.add_argument("--dims", default="50,256,768")
    ap.add_argument("--kernels", default="auto,Haswell", help="auto = OPENBLAS_CORETYPE unset")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--no-kdtree", dest="kdtree", action="store_false")
    ap.add_argument("--out", default="results/bench")
    args = ap.parse_args()
    import pandas as pd

    from track2vec.atomic import write_text

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    q = np.unique(pd.read_parquet(args.pairs, columns=["query"])["query"].to_numpy(np.int64))
    qp = out / "search_queries.npy"
    np.save(qp, q)
    vocab = int(np.load(args.emb, mmap_mode="r").shape[0])
    a = {
        "emb": args.emb,
        "queries": str(qp),
        "dims": [int(d) for d in args.dims.split(",")],
        "repeats": args.repeats,
        "threads": args.threads,
        "k": args.k,
        "kdtree": args.kdtree,
    }
    runs = {}
    for n, kernel in enumerate(args.kernels.split(",")):
        a["first_kernel"] = n == 0  # the KDTree uses no BLAS: timed once
        env = {x: v for x, v in os.environ.items() if x != "OPENBLAS_CORETYPE"}
        if kernel != "auto":
            env["OPENBLAS_CORETYPE"] = kernel
        print(f"kernel {kernel}", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "_worker", json.dumps(a)], env=env, stdout=subprocess.PIPE, text=True, check=True
        )
        runs[kernel] = json.loads(proc.stdout)
    write_text(out / "search.json", json.dumps({"args": a, "runs": runs}, indent=1))
    text = report(args, runs, len(q), vocab)
    write_text(out / "search.md", text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_worker":
        print(json.dumps(worker(json.loads(sys.argv[2]))))
    else:
        main()
