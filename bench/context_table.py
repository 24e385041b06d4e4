"""The context protocol's table: each entry's last-song and context scores, on validation and test.

    .venv/bin/python bench/context_table.py RESULTS [ENTRY ...]

RESULTS is a results folder of a run with ``evaluate.context`` set (``all`` or M). The
validation scores, the prior and the context decay of every entry (or of the ENTRY arguments)
are read from ``metrics/{entry}.json``, where the evaluate step chose them on the validation
pairs; the test pairs are then scored once, with those settings, for both protocols. Prints a
Markdown table (the one in docs/evaluation.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from track2vec.io import read_pairs, read_sequences, vocab_size
from track2vec.metrics import evaluate_pairs
from track2vec.models import load_model, song_prior
from track2vec.split import pair_contexts


def _model_file(results: Path, entry: str) -> Path:
    emb = results / "embeddings" / f"{entry}.npy"
    return emb if emb.exists() else results / "baselines" / f"{entry}.npz"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    results = Path(argv[0])
    entries = argv[1:] or sorted(p.stem for p in (results / "metrics").glob("*.json") if p.stem != "oracle")
    V = vocab_size(results / "vocab.parquet")
    train = results / "split" / "train.parquet"
    test = read_pairs(results / "split" / "test.parquet")
    offsets, values, ids = read_sequences(train)
    rows = []
    for entry in entries:
        val = json.loads((results / "metrics" / f"{entry}.json").read_text())
        ctx = val["context"]
        contexts = pair_contexts(offsets, values, ids, test["playlist"].to_numpy(),
                                 last=None if ctx["protocol"] == "all" else int(ctx["protocol"]))  # fmt: skip
        model = load_model(_model_file(results, entry), V)
        prior = song_prior(str(train), V, val.get("popularity_prior", 0.0), model)
        kw = dict(k=val["k"], metric=val["metric"], same_song=val["same_song"], prior=prior)
        last = evaluate_pairs(model, test, **kw)
        context = evaluate_pairs(model, test, contexts=contexts, decay=ctx["context_decay"],
                                 exclude_context=ctx["exclude_context"], **kw)  # fmt: skip
        rows.append((entry, val, ctx, last, context))
    k = rows[0][1]["k"]
    print(f"| entry | decay | validation HR@{k} last / context | validation NDCG@{k} last / context "
          f"| test HR@{k} last / context | test NDCG@{k} last / context |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for entry, val, ctx, last, context in rows:
        print(f"| {entry} | {ctx['context_decay']:g} | {val['hr_at_k']:.4f} / {ctx['hr_at_k']:.4f} "
              f"| {val['ndcg_at_k']:.4f} / {ctx['ndcg_at_k']:.4f} | {last['hr_at_k']:.4f} / {context['hr_at_k']:.4f} "
              f"| {last['ndcg_at_k']:.4f} / {context['ndcg_at_k']:.4f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
