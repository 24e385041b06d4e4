"""Figures and tables of the Snakemake report (``snakemake --report results/report.html``).

Every function reads plain tables (the grid, training logs, the test score) and writes one
file atomically: PNG figures drawn with matplotlib's Agg backend (no display needed), and
small self-contained HTML tables. Figures carry no timestamp or version, so the same inputs
give the same bytes.

matplotlib is imported only when a figure is drawn, so ``import track2vec`` stays light.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .atomic import atomic_path, write_text
from .config import HYPERPARAMETERS
from .names import EMBEDDING, ORACLE

__all__ = [
    "scores_figure",
    "loss_figure",
    "hyperparameter_figure",
    "test_figure",
    "embedding_map",
    "pca_2d",
    "map_labels",
    "grid_table_html",
    "test_table_html",
    "radio_quality_summary",
    "radio_quality_html",
    "best_embedding_entry",
    "varying_hyperparameters",
    "empty_figure",
]

_BASELINE_COLOUR = "#9a9a9a"
_SGNS_COLOUR = "#1f77b4"
_BEST_COLOUR = "#d62728"
_ORACLE_COLOUR = "#2ca02c"
#: hyperparameters never plotted as an "effect" (bookkeeping, or not a knob of the model)
_NOT_EFFECTS = ("method", "seed", "ensemble_windows")
_LOG_SCALE = ("subsample", "learning_rate", "min_learning_rate")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "svg.hashsalt": "track2vec"})
    return plt


def _save(fig, path) -> None:
    """Write a figure as PNG atomically, without the metadata that changes between versions."""
    plt = _pyplot()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def _has_intervals(grid: pd.DataFrame) -> bool:
    return "replicates" in grid.columns and bool((grid["replicates"].fillna(1) > 1).any())


def _errors(rows: pd.DataFrame, metric: str) -> np.ndarray | None:
    """Asymmetric error bars (2, n) from the interval columns, or None."""
    prefix = "hr" if metric == "hr_at_k" else "ndcg"
    low, high = f"{prefix}_ci_low", f"{prefix}_ci_high"
    if low not in rows.columns or high not in rows.columns:
        return None
    mid = rows[metric].to_numpy(float)
    lo = np.nan_to_num(mid - rows[low].to_numpy(float), nan=0.0)
    hi = np.nan_to_num(rows[high].to_numpy(float) - mid, nan=0.0)
    return np.vstack([np.maximum(lo, 0), np.maximum(hi, 0)])


def scores_figure(grid: pd.DataFrame, path, best: str | None = None) -> None:
    """Validation HR@k and NDCG@k of every grid entry, as horizontal bars.

    Parameters
    ----------
    grid : pandas.DataFrame
        ``grid.tsv``: ``entry``, ``method``, ``k``, ``hr_at_k``, ``ndcg_at_k`` and, with
        replicates, ``hr_ci_low`` ... ``ndcg_ci_high``.
    path : str or os.PathLike
        PNG file to write.
    best : str, optional
        The chosen entry (drawn in red).

    Notes
    -----
    Embedding entries are blue, baselines grey and hatched; the ``oracle`` row (the best
    achievable score on the built-in data) is a green dashed line; 95% intervals are
    drawn when entries have several replicates.
    """
    plt = _pyplot()
    oracle = grid[grid["method"] == ORACLE]
    rows = grid[grid["method"] != ORACLE].reset_index(drop=True)
    k = int(grid["k"].iloc[0]) if len(grid) else 10
    n = len(rows)
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 1.1 + 0.32 * max(n, 3)), sharey=True)
    y = np.arange(n)[::-1].astype(float)
    for ax, metric, title in zip(axes, ("hr_at_k", "ndcg_at_k"), (f"HR@{k}", f"NDCG@{k}")):
        colours = [
            (_BEST_COLOUR if e == best else (_SGNS_COLOUR if m == EMBEDDING else _BASELINE_COLOUR))
            for e, m in zip(rows["entry"], rows["method"])
        ]
        hatches = ["" if m == EMBEDDING else "//" for m in rows["method"]]
        err = _errors(rows, metric) if _has_intervals(grid) else None
        bars = ax.barh(
            y,
            rows[metric],
            color=colours,
            xerr=err,
            capsize=3 if err is not None else 0,
            edgecolor="black",
            linewidth=0.4,
        )
        for bar, hatch in zip(bars, hatches):
            bar.set_hatch(hatch)
        for yi, v in zip(y, rows[metric]):
            ax.text(v, yi, f" {v:.3f}", va="center", fontsize=7)
        if len(oracle):
            ov = float(oracle[metric].iloc[0])
            ax.axvline(ov, color=_ORACLE_COLOUR, linestyle="--", linewidth=1.5)
            ax.text(ov, -0.5, f"oracle {ov:.3f} ", color=_ORACLE_COLOUR, ha="right", va="center", fontsize=7)
        ax.set_title(f"validation {title}")
        ax.set_xlim(0, max(1e-3, float(np.nanmax([*rows[metric], *(oracle[metric] if len(oracle) else [])]))) * 1.25)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(
        [
            (e if e == m else f"{e} ({m})") + " (baseline)" if m != EMBEDDING else e
            for e, m in zip(rows["entry"], rows["method"])
        ]
    )
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=_SGNS_COLOUR, label=EMBEDDING),
        Patch(facecolor=_BASELINE_COLOUR, hatch="//", label="baseline"),
    ]
    if best is not None:
        handles.append(Patch(facecolor=_BEST_COLOUR, label=f"best ({best})"))
    if len(oracle):
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color=_ORACLE_COLOUR, linestyle="--", label="oracle (best achievable)"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), bbox_to_anchor=(0.5, -0.02), frameon=False)
    if _has_intervals(grid):
        fig.suptitle("bars: mean over replicates, whiskers: 95% t-interval", fontsize=8, y=1.0)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    _save(fig, path)


def loss_figure(logs: Mapping[str, pd.DataFrame], path, tied: Sequence[str] = ()) -> None:
    """Training loss per epoch of every embedding run (replicates share their entry's colour).

    Parameters
    ----------
    logs : mapping
        Run id (``entry`` or ``entry+r2`` ...) -> its ``train_log`` table (``epoch``,
        ``loss``). Baselines (a log without ``loss``) are left out.
    path : str or os.PathLike
        PNG file to write.
    tied : sequence of str
        Entries with ``tied: true`` (the seed's loss, not comparable with word2vec's):
        marked in the legend.
    """
    from matplotlib.ticker import MaxNLocator

    from .grid import split_run

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    entries: list[str] = []
    for run, log in logs.items():
        if "loss" not in log.columns or log["loss"].isna().all():
            continue
        name, rep = split_run(run)
        if name not in entries:
            entries.append(name)
        colour = f"C{entries.index(name) % 10}"
        ax.plot(
            log["epoch"],
            log["loss"],
            marker="o",
            markersize=3,
            color=colour,
            linewidth=1.5 if rep == 1 else 0.8,
            alpha=1.0 if rep == 1 else 0.6,
            label=(f"{name} (tied)" if name in tied else name) if rep == 1 else None,
        )
    if not entries:
        ax.text(0.5, 0.5, "no embedding entries in the grid", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize=7, ncol=2 if len(entries) > 6 else 1, loc="upper right")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss per positive pair")
    ax.set_title("training loss (thin lines: further replicates)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def _as_number(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Plot positions of hyperparameter values, and tick labels for non-numeric ones."""
    if values.dtype == bool or set(map(str, values.unique())) <= {"True", "False", "true", "false"}:
        return values.astype(str).str.lower().map({"false": 0.0, "true": 1.0}).to_numpy(float), ["false", "true"]
    return pd.to_numeric(values, errors="coerce").to_numpy(float), None


def varying_hyperparameters(grid: pd.DataFrame) -> list[str]:
    """Hyperparameters that take at least two values among the embedding (sgns) entries."""
    sgns = grid[grid["method"] == EMBEDDING]
    out = []
    for h in HYPERPARAMETERS:
        if h in _NOT_EFFECTS or h not in sgns.columns:
            continue
        if sgns[h].astype(str).nunique() > 1:
            out.append(h)
    return out


def hyperparameter_figure(grid: pd.DataFrame, defaults: Mapping[str, object], path, metric: str = "ndcg_at_k") -> None:
    """The effect of each hyperparameter: ``metric`` against its value, one small panel each.

    Parameters
    ----------
    grid : pandas.DataFrame
        ``grid.tsv``.
    defaults : mapping
        Config key ``defaults``: an entry that differs from them in this hyperparameter
        only is a filled point, joined to the others like it by a line (the one-factor
        effect); the other embedding entries are hollow points.
    path : str or os.PathLike
        PNG file to write.
    metric : {"ndcg_at_k", "hr_at_k"}
    """
    plt = _pyplot()
    sgns = grid[grid["method"] == EMBEDDING].reset_index(drop=True)
    hps = varying_hyperparameters(grid)
    k = int(grid["k"].iloc[0]) if len(grid) else 10
    label = ("NDCG@" if metric == "ndcg_at_k" else "HR@") + str(k)
    if not hps:
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no hyperparameter varies among the embedding entries", ha="center", va="center")
        _save(fig, path)
        return
    cols = min(3, len(hps))
    nrows = math.ceil(len(hps) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.3 * cols, 2.7 * nrows), squeeze=False)
    err = _errors(sgns, metric) if _has_intervals(grid) else None
    for ax, h in zip(axes.flat, hps):
        x, ticks = _as_number(sgns[h])
        others = [
            o
            for o in hps + [q for q in HYPERPARAMETERS if q not in hps]
            if o != h and o not in _NOT_EFFECTS and o in sgns.columns
        ]
        one_factor = np.array(
            [
                all(
                    str(row[o]).lower() == str(defaults.get(o, row[o])).lower() or _close(row[o], defaults.get(o))
                    for o in others
                )
                for _, row in sgns.iterrows()
            ],
            dtype=bool,
        )
        y = sgns[metric].to_numpy(float)
        if err is not None:
            ax.errorbar(x, y, yerr=err, fmt="none", ecolor="#555555", capsize=2, linewidth=0.8)
        ax.scatter(x[~one_factor], y[~one_factor], facecolors="none", edgecolors=_SGNS_COLOUR, s=28, zorder=3)
        ax.scatter(x[one_factor], y[one_factor], color=_SGNS_COLOUR, s=28, zorder=3)
        if one_factor.sum() > 1:
            order = np.argsort(x[one_factor], kind="stable")
            ax.plot(x[one_factor][order], y[one_factor][order], color=_SGNS_COLOUR, linewidth=1)
        for xi, yi, name in zip(x, y, sgns["entry"]):
            ax.annotate(name, (xi, yi), fontsize=6, xytext=(3, 3), textcoords="offset points", color="#333333")
        if ticks:
            ax.set_xticks([0, 1])
            ax.set_xticklabels(ticks)
            ax.set_xlim(-0.5, 1.5)
        elif h in _LOG_SCALE and np.nanmin(x) > 0 and np.nanmax(x) / np.nanmin(x) >= 10:
            ax.set_xscale("log")
        ax.set_title(h)
        ax.set_ylabel(f"validation {label}")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(hps) :]:
        ax.axis("off")
    fig.suptitle("filled, joined: entries that differ from `defaults` in this hyperparameter only", fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def _close(a, b) -> bool:
    try:
        return b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    except (TypeError, ValueError):
        return False


def test_figure(score: Mapping, path) -> None:
    """The best entry's test HR@k and NDCG@k: on all test pairs and on the cold-start subsets.

    Parameters
    ----------
    score : mapping
        ``test_score.json``: ``entry``, ``k``, ``hr_at_k``, ``ndcg_at_k``, ``n_pairs``,
        ``cold_start`` ({f: {``n_pairs``, ``hr_at_k``, ``ndcg_at_k``}}), optionally
        ``oracle`` and ``hr_ci`` / ``ndcg_ci``.
    path : str or os.PathLike
        PNG file to write.
    """
    plt = _pyplot()
    k = score["k"]
    groups = [(f"all test pairs\n(n={score['n_pairs']})", score["hr_at_k"], score["ndcg_at_k"])]
    for f, cs in sorted(score.get("cold_start", {}).items(), key=lambda kv: int(kv[0])):
        seen = "pair never seen in training" if int(f) == 0 else f"pair seen ≤ {f}× in training"
        groups.append((f"{seen}\n(n={cs['n_pairs']})", cs.get("hr_at_k", np.nan), cs.get("ndcg_at_k", np.nan)))
    fig, ax = plt.subplots(figsize=(2.2 + 1.9 * len(groups), 3.8))
    x = np.arange(len(groups))
    w = 0.38
    hr = [g[1] for g in groups]
    nd = [g[2] for g in groups]
    ax.bar(x - w / 2, hr, w, label=f"HR@{k}", color=_SGNS_COLOUR)
    ax.bar(x + w / 2, nd, w, label=f"NDCG@{k}", color="#ff7f0e")
    if "hr_ci" in score:
        lo, hi = score["hr_ci"]
        ax.errorbar([x[0] - w / 2], [hr[0]], yerr=[[hr[0] - lo], [hi - hr[0]]], fmt="none", ecolor="black", capsize=3)
    if "ndcg_ci" in score:
        lo, hi = score["ndcg_ci"]
        ax.errorbar([x[0] + w / 2], [nd[0]], yerr=[[nd[0] - lo], [hi - nd[0]]], fmt="none", ecolor="black", capsize=3)
    for xi, v in zip([*(x - w / 2), *(x + w / 2)], [*hr, *nd]):
        if np.isfinite(v):
            ax.text(xi, v, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
    if "oracle" in score:
        o = score["oracle"]
        ax.hlines(o["hr_at_k"], x[0] - w, x[0], color=_ORACLE_COLOUR, linestyle="--", label="oracle (all pairs)")
        ax.hlines(o["ndcg_at_k"], x[0], x[0] + w, color=_ORACLE_COLOUR, linestyle="--")
    ax.set_xticks(x)
    ax.set_xticklabels([g[0] for g in groups], fontsize=8)
    title = f"test score of the best entry, {score['entry']}"
    if score.get("share_of_oracle") is not None:
        title += f"\n(HR@{k} = {100 * score['share_of_oracle']:.0f}% of the oracle's)"
    ax.set_title(title)
    ax.set_ylim(0, max(1e-3, np.nanmax([*hr, *nd, *(score["oracle"].values() if "oracle" in score else [])])) * 1.2)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def best_embedding_entry(grid: pd.DataFrame, best: Mapping, metric: str = "ndcg_at_k") -> str | None:
    """The entry whose embedding is mapped: the best entry, or the best embedding (sgns)
    entry by ``metric`` when the best is a baseline; None when the grid has no sgns entry."""
    sgns = grid[grid["method"] == EMBEDDING]
    if best.get("entry") in set(sgns["entry"]):
        return str(best["entry"])
    if not len(sgns):
        return None
    return str(sgns.loc[sgns[metric].idxmax(), "entry"])


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """Deterministic 2-D PCA: the centred rows projected on the first two principal axes,
    each axis signed so that its largest loading is positive."""
    X = np.asarray(vectors, dtype=np.float64)
    X = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    axes = vt[:2]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    out = X @ axes.T
    if out.shape[1] < 2:
        out = np.hstack([out, np.zeros((len(out), 2 - out.shape[1]))])
    return out


def map_labels(
    vocab: pd.DataFrame, n: int, generator: Mapping[str, np.ndarray] | None = None, metadata: pd.DataFrame | None = None
) -> tuple[list[str], str]:
    """Colour labels of the ``n`` most frequent songs, and what they are.

    Parameters
    ----------
    vocab : pandas.DataFrame
        ``vocab.parquet`` (rows by descending count).
    n : int
    generator : mapping, optional
        The built-in dataset's model (``synthetic_model.npz``): label by genre.
    metadata : pandas.DataFrame, optional
        ``track_id`` and ``name`` (artist): artist names instead of artist ids.

    Returns
    -------
    labels : list of str
    kind : {"genre", "artist"}
    """
    top = vocab.iloc[:n]
    if generator is not None:
        from .synthetic import token_to_index

        lookup = token_to_index(generator)
        genre = np.asarray(generator["artist_genre"])[np.asarray(generator["track_artist"])]
        return [f"genre {int(genre[lookup[t]])}" if t in lookup else "unknown" for t in top["track_id"]], "genre"
    names = {}
    if metadata is not None and {"track_id", "name"} <= set(metadata.columns):
        names = dict(zip(metadata["track_id"].astype(str), metadata["name"].astype(str)))
    labels = []
    for t, a in zip(top["track_id"], top["artist_id"]):
        label = names.get(str(t)) or (a if isinstance(a, str) and a else "unknown")
        labels.append(label)
    return labels, "artist"


def embedding_map(
    emb: np.ndarray,
    labels: Sequence[str],
    path,
    entry: str,
    kind: str = "genre",
    max_groups: int = 10,
    metric: str = "cosine",
) -> None:
    """2-D PCA map of the most frequent songs' vectors, coloured by genre or artist.

    Parameters
    ----------
    emb : numpy.ndarray, shape (n, dim)
        The vectors of the songs to map (most frequent first).
    labels : sequence of str
        One label per row; the ``max_groups`` most common get a colour, the others grey.
    path : str or os.PathLike
        PNG file to write.
    entry : str
        The entry the embedding belongs to (in the title).
    kind : str
        What the labels are (``genre`` or ``artist``).
    metric : {"cosine", "euclidean"}
        ``cosine`` maps the unit vectors (what the neighbour search sees).
    """
    plt = _pyplot()
    X = np.asarray(emb, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.where(norms == 0, 1.0, norms)
    xy = pca_2d(X)
    counts = pd.Series(list(labels)).value_counts(sort=True)
    # most common first, ties by name (deterministic)
    ordered = sorted(counts.index, key=lambda g: (-counts[g], g))
    shown = [g for g in ordered if g != "unknown"][:max_groups]
    lab = np.asarray(labels, dtype=object)
    fig, ax = plt.subplots(figsize=(7.5, 6))
    rest = ~np.isin(lab, shown)
    if rest.any():
        ax.scatter(xy[rest, 0], xy[rest, 1], s=10, color="#cccccc", label="other" if shown else kind + " unknown")
    for i, g in enumerate(shown):
        m = lab == g
        ax.scatter(xy[m, 0], xy[m, 1], s=14, color=f"C{i % 10}", label=f"{g} ({int(m.sum())})")
    ax.set_title(
        f"{len(X)} most frequent songs, embedding of {entry} "
        f"(PCA of the {'unit ' if metric == 'cosine' else ''}vectors), by {kind}"
    )
    ax.set_xlabel("first principal axis")
    ax.set_ylabel("second principal axis")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), title=kind, title_fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f.is_integer() and abs(f) < 1e6:
            return str(int(f))
        if abs(f) < 1e-3:
            return f"{f:.0e}"
        return f"{f:.4g}"
    return str(v)


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:1em;color:#222}\n"
    "table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}\n"
    "th{background:#eee}td:first-child,th:first-child{text-align:left}tr.best td{background:#fde0dc;font-weight:bold}\n"
    "tr.baseline td{color:#666}tr.oracle td{color:#2ca02c;font-style:italic}"
    "caption{text-align:left;margin:.4em 0;font-weight:bold}"
)


def _html_table(df: pd.DataFrame, row_classes: Sequence[str], caption: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for cls, (_, row) in zip(row_classes, df.iterrows()):
        cells = "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row)
        body.append(f'<tr class="{cls}">{cells}</tr>')
    return (
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _page(title: str, inner: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>{inner}</body></html>\n"
    )


def grid_table_html(grid: pd.DataFrame, path, best: str | None = None) -> None:
    """The grid table as a self-contained HTML page (best entry highlighted, baselines grey).

    Parameters
    ----------
    grid : pandas.DataFrame
        ``grid.tsv``.
    path : str or os.PathLike
        HTML file to write.
    best : str, optional
        The chosen entry.
    """
    df = grid.copy()
    # leave out columns that are blank in every row
    df = df[[c for c in df.columns if not df[c].isna().all()]]
    classes = [
        "best" if e == best else ("oracle" if m == ORACLE else ("baseline" if m != EMBEDDING else ""))
        for e, m in zip(grid["entry"], grid["method"])
    ]
    k = int(grid["k"].iloc[0]) if len(grid) else 10
    inner = _html_table(df, classes, f"grid: validation HR@{k} / NDCG@{k} of every entry (best: {best})")
    write_text(path, _page("grid", inner))


def test_table_html(score: Mapping, path) -> None:
    """The best entry's test score (all pairs, cold-start subsets, from each pair's context,
    oracle) as an HTML table.

    Parameters
    ----------
    score : mapping
        ``test_score.json``.
    path : str or os.PathLike
        HTML file to write.
    """
    k = score["k"]
    rows = [
        {
            "pairs": "all test pairs",
            "n_pairs": score["n_pairs"],
            f"HR@{k}": score["hr_at_k"],
            f"NDCG@{k}": score["ndcg_at_k"],
        }
    ]
    for f, cs in sorted(score.get("cold_start", {}).items(), key=lambda kv: int(kv[0])):
        rows.append(
            {
                "pairs": f"cold start: (query, next) seen at most {f} times in training",
                "n_pairs": cs["n_pairs"],
                f"HR@{k}": cs.get("hr_at_k"),
                f"NDCG@{k}": cs.get("ndcg_at_k"),
            }
        )
    context = score.get("context")
    if context:
        rows.append(
            {
                "pairs": f"from each pair's context ({context['protocol']}, decay {context['context_decay']:g})",
                "n_pairs": context["n_pairs"],
                f"HR@{k}": context["hr_at_k"],
                f"NDCG@{k}": context["ndcg_at_k"],
            }
        )
    classes = [""] * len(rows)
    if "oracle" in score:
        rows.append(
            {
                "pairs": "oracle (best achievable), all test pairs",
                "n_pairs": score["n_pairs"],
                f"HR@{k}": score["oracle"]["hr_at_k"],
                f"NDCG@{k}": score["oracle"]["ndcg_at_k"],
            }
        )
        classes.append("oracle")
    caption = f"test score of {score['entry']} ({score.get('method', 'sgns')})"
    if score.get("share_of_oracle") is not None:
        caption += f": HR@{k} is {100 * score['share_of_oracle']:.1f}% of the oracle's"
    if "hr_ci" in score:
        caption += (
            f"; 95% interval HR@{k} [{score['hr_ci'][0]:.4f}, {score['hr_ci'][1]:.4f}] "
            f"over {score.get('replicates')} replicates"
        )
    write_text(path, _page("test score", _html_table(pd.DataFrame(rows), classes, caption)))


#: the walks of ``radio/quality.tsv``, in the order the summary shows them, and their names
_RADIO_WALKS = {"today": "today's walk (anchor 0, no artist rules)", "radio": "the radio (config key radio)"}


def radio_quality_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The measures of ``radio/quality.tsv`` summarised over its seed songs, one row per walk.

    Parameters
    ----------
    table : pandas.DataFrame
        ``radio/quality.tsv``: a row per walk (``walk``) and seed song, with the measures of
        :func:`track2vec.radio.measure_walk`, ``n_widened`` and ``n_rule_broken``.

    Returns
    -------
    pandas.DataFrame
        Indexed by walk (``today``, then ``radio``): ``seeds``; ``distinct_artists_mean``,
        ``_min`` and ``_max``; ``longest_artist_run_mean`` and ``_max``;
        ``mean_seed_similarity`` and ``same_genre_share`` (means over the seeds, NaN when
        unknown); ``n_widened`` (mean steps per radio whose candidate list widened) and
        ``n_rule_broken`` (steps that broke an artist rule, in all).
    """
    rows = {}
    for walk in [w for w in _RADIO_WALKS if w in set(table["walk"])]:
        t = table[table["walk"] == walk]
        rows[walk] = {
            "seeds": len(t),
            "distinct_artists_mean": t["distinct_artists"].mean(),
            "distinct_artists_min": t["distinct_artists"].min(),
            "distinct_artists_max": t["distinct_artists"].max(),
            "longest_artist_run_mean": t["longest_artist_run"].mean(),
            "longest_artist_run_max": t["longest_artist_run"].max(),
            "mean_seed_similarity": pd.to_numeric(t["mean_seed_similarity"], errors="coerce").mean(),
            "same_genre_share": pd.to_numeric(t["same_genre_share"], errors="coerce").mean(),
            "n_widened": t["n_widened"].mean(),
            "n_rule_broken": t["n_rule_broken"].sum(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def radio_quality_html(table: pd.DataFrame, path, settings: Mapping | None = None) -> None:
    """The radio quality table (:func:`radio_quality_summary`) as a self-contained HTML page.

    Parameters
    ----------
    table : pandas.DataFrame
        ``radio/quality.tsv``.
    path : str or os.PathLike
        HTML file to write.
    settings : mapping, optional
        What the caption names: ``entry``, ``seeds``, ``among``, ``nb_steps``, ``anchor``,
        ``max_artist_run``, ``max_per_artist``.
    """
    summary = radio_quality_summary(table)
    out = pd.DataFrame(
        {
            "walk": [_RADIO_WALKS[w] for w in summary.index],
            "seeds": summary["seeds"],
            "distinct artists: mean": summary["distinct_artists_mean"],
            "distinct artists: min": summary["distinct_artists_min"],
            "distinct artists: max": summary["distinct_artists_max"],
            "longest same-artist run: mean": summary["longest_artist_run_mean"],
            "longest same-artist run: max": summary["longest_artist_run_max"],
            "mean similarity to the seed": summary["mean_seed_similarity"],
            "share in the seed's genre": summary["same_genre_share"],
            "steps widened per radio": summary["n_widened"],
            "rules broken": summary["n_rule_broken"],
        }
    )
    out = out[[c for c in out.columns if not out[c].isna().all()]]
    s = dict(settings or {})
    caption = "radio quality: today's walk and the radio"
    if s:
        run, total = (s.get(k) for k in ("max_artist_run", "max_per_artist"))
        caption += (
            f" from {s.get('seeds')} seed songs drawn among the {s.get('among')} most played, "
            f"{s.get('nb_steps')} steps each, entry {s.get('entry')}; the radio: anchor {s.get('anchor')}, "
            f"songs per artist: {'no limit' if run is None else f'at most {run}'} in a row, "
            f"{'no limit' if total is None else f'at most {total}'} in all"
        )
    write_text(path, _page("radio quality", _html_table(out.reset_index(drop=True), [""] * len(out), caption)))


def empty_figure(path, message: str) -> None:
    """A small figure that only says ``message`` (a page with nothing to draw)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    _save(fig, path)
