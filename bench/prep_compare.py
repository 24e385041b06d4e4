"""Preprocessing only: the seed's code vs ours, interleaved, per step, on one or more files.

    .venv/bin/python bench/prep_compare.py                       # built-in 100k + e-commerce, 3 pairs each
    .venv/bin/python bench/prep_compare.py --repeats 5 FILE.npy  # any .npy playlists file(s)

Each run is ``bench/run.py``'s ``seedpre`` / ``ourpre`` worker in a fresh subprocess (the same
code and timing as the full benchmark), alternating seed, ours, seed, ours, ... per file; the
files are interleaved too, so slow phases of a shared machine hit every file and both sides.
Prints each run's load / vocab / split wall seconds and the per-pair ratio, then min / max per file;
also the CPU seconds of the same calls (``time.process_time``), which a busy machine's waits do not
inflate: on a shared machine a short run can lose tens of milliseconds to the scheduler.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402
import run  # noqa: E402

STEPS = ("load", "vocab", "split")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help="playlists .npy files (default: built-in 100k + e-commerce)")
    ap.add_argument("--repeats", type=int, default=3, help="seed/ours pairs per file")
    ap.add_argument("--cache", default="results/bench/cache", help="where the built-in 100k file is generated")
    args = ap.parse_args()
    files = [Path(f) for f in args.files]
    if not files:
        files = [data.synthetic_file(Path(args.cache), 100_000)]
        if data.ecommerce_path():
            files.append(data.ecommerce_path())
    ratios: dict[str, list[float]] = {f.name: [] for f in files}
    cpu_ratios: dict[str, list[float]] = {f.name: [] for f in files}
    with tempfile.TemporaryDirectory(prefix="t2v_prep_") as tmp:
        work = Path(tmp)
        for rep in range(args.repeats):
            for f in files:
                seed = run.spawn("seedpre", work, source=str(f))
                ours = run.spawn("ourpre", work, source=str(f))
                ts, to = sum(seed[s] for s in STEPS), sum(ours[s] for s in STEPS)
                ratios[f.name].append(ts / to)
                cpu_ratios[f.name].append(seed["cpu"] / ours["cpu"])
                fmt = lambda r: " / ".join(f"{r[s]:.3f}" for s in STEPS)  # noqa: E731
                print(
                    f"{f.name:28s} pair {rep + 1}: seed {fmt(seed)} = {ts:.3f} s | ours {fmt(ours)} = {to:.3f} s"
                    f" | {ts / to:5.1f}x  (CPU s: seed {seed['cpu']:.3f}, ours {ours['cpu']:.3f}, "
                    f"{seed['cpu'] / ours['cpu']:.1f}x;"
                    f" process s: seed {seed['process_seconds']:.2f}, ours {ours['process_seconds']:.2f})",
                    flush=True,
                )
    for name, r in ratios.items():
        c = cpu_ratios[name]
        print(
            f"{name:28s} speed-up (wall) min {min(r):.1f}x  max {max(r):.1f}x; "
            f"CPU time min {min(c):.1f}x  max {max(c):.1f}x;"
            f" over {len(r)} pairs"
        )


if __name__ == "__main__":
    main()
