"""The ``track2vec`` command: find songs, complete a playlist, start a radio.

::

    track2vec find "holy planet"
    track2vec suggest "Holy Planet" "Train of Sky" -n 10
    track2vec radio "Holy Planet" --nb-steps 20 --nb-candidates 5 --seed 0 --out radio/
    track2vec export --entry tuned --out export/tuned --top 10000

Every subcommand reads a pipeline's results folder (``--results``, default
``results``) and uses the best grid entry (``best.json``) unless ``--entry`` names
another one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser"]


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "--results", default="results", metavar="DIR", help="the pipeline's results folder (default: results)"
    )
    g.add_argument(
        "--entry",
        default=None,
        metavar="NAME",
        help="grid entry whose embeddings to use (default: the best one, from DIR/best.json)",
    )
    g.add_argument(
        "--metadata",
        default=None,
        metavar="CSV",
        help="TracksArtists.csv-like file (track_id, title, name, preview); default: the built-in "
        "dataset's DIR/data/synthetic_tracks.csv when present. Songs without metadata are shown by id",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``track2vec`` command."""
    parser = argparse.ArgumentParser(
        prog="track2vec",
        description="Song search, playlist completion and radio from the embeddings the pipeline learnt.",
        epilog="Songs are given as titles (case and accents do not matter; exact matches first, then partial), "
        "track ids (track_123) or #<vocabulary index>. See `track2vec COMMAND --help`.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_find, _add_suggest, _add_radio, _add_export):
        _common(add(sub))
    return parser


def _add_find(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "find",
        help="songs whose title matches",
        description=(
            "List the songs whose title matches TITLE, case- and accent-insensitively: exact matches first, "
            "then titles that contain it; the more played first. Shows the vocabulary index, track id, title "
            "and artist."
        ),
    )
    p.add_argument("title", metavar="TITLE")
    p.add_argument("-n", "--limit", type=int, default=20, help="at most this many songs (default: 20)")
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    return p


def _last(text: str) -> int | str | None:
    """``--last``: a number of songs, ``all`` (None: every song) or ``auto``."""
    if text in ("all", "auto"):
        return None if text == "all" else "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of songs, `all` or `auto`, got {text!r}") from None


def _decay(text: str) -> float | str:
    """``--decay``: a number, or ``auto``."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1] or `auto`, got {text!r}") from None


def _add_suggest(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "suggest",
        help="songs to continue a playlist",
        description=(
            "Suggest songs to continue a partial playlist, from its last song (the seed's protocol, --last 1) or "
            "from its last M songs or all of them, each weighted by DECAY to the power of its distance from the "
            "end. By default, the context that scored best on the validation pairs. A song already in the "
            "playlist is never suggested. The `score` column is what the suggestions rank by (the similarity "
            "plus the entry's popularity prior), the next column the similarity itself."
        ),
    )
    p.add_argument("songs", nargs="+", metavar="SONG", help="the playlist, in order (titles, track ids or #index)")
    p.add_argument("-n", type=int, default=10, help="number of suggestions (default: 10)")
    p.add_argument(
        "--last",
        type=_last,
        default="auto",
        metavar="M",
        help="the context: the last M songs (1: the last song only), or `all` (default: what validation found best)",
    )
    p.add_argument(
        "--decay",
        type=_decay,
        default="auto",
        metavar="DECAY",
        help="weight decay along the context, in (0, 1] (default: the entry's, chosen on validation)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    return p


def _add_radio(sub) -> argparse.ArgumentParser:
    from .radio import ANCHOR, MAX_ARTIST_RUN, MAX_PER_ARTIST, NB_CANDIDATES, NB_STEPS, PER_ARTIST_SHARE

    def anchor(text: str) -> float:
        value = float(text)
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
        return value

    def songs(text: str, words: tuple[str, ...]) -> int | str | None:
        if text in words:
            return None if text == "off" else text
        if not text.isdigit() or int(text) < 1:
            raise argparse.ArgumentTypeError(f"must be a number of songs (at least 1) or {' or '.join(words)}")
        return int(text)

    def run(text: str) -> int | None:
        return songs(text, ("off",))

    def per_artist(text: str) -> int | str | None:
        return songs(text, ("auto", "off"))

    p = sub.add_parser(
        "radio",
        help="a radio from a seed song",
        description=(
            "From a seed song, draw NB_STEPS songs, each at random among the NB_CANDIDATES best songs not played "
            "yet, ranked by (1 - ANCHOR) x similarity to the current song + ANCHOR x similarity to the seed, "
            "keeping artists apart: never more than MAX_ARTIST_RUN songs of one artist in a row, nor more than "
            "MAX_PER_ARTIST in the radio (a candidate list in which every song breaks a rule widens first; a line "
            "says so). A song without a preview is skipped (a line says so) and the walk goes on. Writes "
            "OUT/<slug>.m3u8 (previews), OUT/<slug>.json (the walk and its measures) and OUT/<slug>.html (a "
            "self-contained page that plays the previews one after another). --anchor 0 --max-artist-run off "
            "--max-per-artist off walks as the seed's radio did: among the nearest neighbours of the current song."
        ),
    )
    p.add_argument("song", metavar="SEED_SONG")
    p.add_argument("--nb-steps", type=int, default=NB_STEPS, help=f"songs after the seed (default: {NB_STEPS})")
    p.add_argument(
        "--nb-candidates", type=int, default=NB_CANDIDATES, help=f"candidate list size (default: {NB_CANDIDATES})"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same radio (default: 0)")
    p.add_argument(
        "--anchor",
        type=anchor,
        default=ANCHOR,
        metavar="A",
        help=f"weight of the seed song in the ranking, 0 to 1 (0: from the current song alone; default: {ANCHOR})",
    )
    p.add_argument(
        "--max-artist-run",
        type=run,
        default=MAX_ARTIST_RUN,
        metavar="N|off",
        help=f"the most songs of one artist in a row (default: {MAX_ARTIST_RUN})",
    )
    p.add_argument(
        "--max-per-artist",
        type=per_artist,
        default=MAX_PER_ARTIST,
        metavar="N|auto|off",
        help=f"the most songs of one artist in the radio (auto: one in {PER_ARTIST_SHARE} of its songs, rounded up; "
        f"default: {MAX_PER_ARTIST})",
    )
    p.add_argument("--out", default="radio", metavar="DIR", help="output folder (default: radio)")
    p.add_argument(
        "--name", default=None, metavar="SLUG", help="file name without extension (default: from the seed's title)"
    )
    p.add_argument("--json", action="store_true", help="print the radio as JSON instead of lines")
    return p


def _add_export(sub) -> argparse.ArgumentParser:
    from .export import DEFAULT_TOP

    def top(text: str) -> int:
        n = int(text)
        if n < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
        return n

    p = sub.add_parser(
        "export",
        help="the embeddings for other tools (gensim, TensorBoard's projector, parquet)",
        description=(
            "Write an entry's embeddings, keyed by track id, into OUT: word2vec.txt and word2vec.bin (the word2vec "
            "text and binary formats: gensim's KeyedVectors.load_word2vec_format reads them), vectors.tsv and "
            "metadata.tsv (TensorBoard's projector, for the --top most frequent songs), vectors.parquet (track_id, "
            "artist_id, count, vector) and export.json. Without --entry: the best entry or, when it is a baseline, "
            "the best sgns entry. A baseline has no vectors: asking for one is an error."
        ),
    )
    p.add_argument(
        "--out", default=None, metavar="OUT", help="output folder (default: export/ENTRY, in the current folder)"
    )
    p.add_argument(
        "--top",
        type=top,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"the most frequent songs in the projector files (default: {DEFAULT_TOP})",
    )
    return p


def _positive(parser: argparse.ArgumentParser, name: str, value: int, minimum: int = 1) -> None:
    if value < minimum:
        parser.error(f"{name} must be at least {minimum}, got {value}")


def _check_counts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a usage error when a count option is out of range."""
    if args.command == "find":
        _positive(parser, "--limit", args.limit)
    elif args.command == "suggest":
        _positive(parser, "-n", args.n)
        if isinstance(args.last, int):
            _positive(parser, "--last", args.last)
        if args.decay != "auto" and not 0 < args.decay <= 1:
            parser.error(f"--decay must be in (0, 1], got {args.decay}")
    elif args.command == "radio":
        _positive(parser, "--nb-steps", args.nb_steps, 0)
        _positive(parser, "--nb-candidates", args.nb_candidates)


def _cell(v) -> str:
    return str(v).replace("\t", " ")


def _cmd_find(args, rec, out) -> int:
    hits = rec.find(args.title, limit=args.limit)
    if hits.empty:
        print(
            f"track2vec: no song title matches {args.title!r} (among {rec.size} songs, "
            f"{int(rec.songs['has_metadata'].sum())} with metadata); try a shorter part of the title",
            file=sys.stderr,
        )
        return 1
    if args.json:
        json.dump(hits.drop(columns=["preview"]).to_dict(orient="records"), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    print("index\ttrack_id\ttitle\tartist\tmatch", file=out)
    for r in hits.itertuples(index=False):
        print("\t".join(_cell(x) for x in (r.index, r.track_id, r.title, r.artist, r.match)), file=out)
    return 0


def _cmd_suggest(args, rec, out) -> int:
    indices = []
    for s in args.songs:
        i = rec.resolve(s)
        indices.append(i)
        if str(s) not in (rec.songs["track_id"].iloc[i], f"#{i}"):
            print(f"# {s!r} -> {rec.label(i)} ({rec.songs['track_id'].iloc[i]}, #{i})", file=sys.stderr)
    try:
        table = rec.suggest(indices, n=args.n, last=args.last, decay=args.decay)
    except ValueError as exc:  # n larger than the songs left to suggest
        print(f"track2vec: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(
            {
                "entry": rec.entry,
                "metric": rec.metric,
                "playlist": indices,
                "last": rec.context if args.last == "auto" else args.last,
                "decay": rec.decay if args.decay == "auto" else args.decay,
                "suggestions": table.to_dict(orient="records"),
            },
            out,
            ensure_ascii=False,
            indent=2,
        )
        out.write("\n")
        return 0
    label = rec.model.score_label(rec.metric)
    print(f"rank\tindex\ttrack_id\ttitle\tartist\tscore\t{label}", file=out)
    for r in table.to_dict(orient="records"):
        cells = (r["rank"], r["index"], r["track_id"], r["title"], r["artist"], f"{r['score']:.4f}", f"{r[label]:.4f}")
        print("\t".join(_cell(x) for x in cells), file=out)
    return 0


def _cmd_radio(args, rec, out) -> int:
    from .catalog import generator_genres
    from .radio import describe_measures, write_radio
    from .text import slugify

    # on the built-in dataset, the generator's genres give the same-genre measure
    generator = Path(args.results) / "data" / "synthetic_model.npz"
    genres = generator_genres(rec.songs["track_id"], generator) if generator.exists() else None
    walk = rec.radio(
        args.song,
        nb_steps=args.nb_steps,
        nb_candidates=args.nb_candidates,
        seed=args.seed,
        anchor=args.anchor,
        max_artist_run=args.max_artist_run,
        max_per_artist=args.max_per_artist,
        genres=genres,
    )
    slug = args.name or slugify(walk.tracks[0]["title"])
    folder = Path(args.out)
    paths = [folder / f"{slug}.{ext}" for ext in ("m3u8", "json", "html")]
    write_radio(walk, *paths)
    if args.json:
        json.dump(walk.to_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        for t in walk.tracks:
            who = f" — {t['artist']}" if t["artist"] else ""
            state = "" if t["played"] else "   [skipped: no preview]"
            print(f"{t['step']:>3}  {t['title']}{who}{state}", file=out)
        for m in walk.notes():
            print(m, file=out)
        print(describe_measures(walk.measures), file=out)
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)
    return 0


def _cmd_export(args, rec, out) -> int:
    from .export import baseline_error, choose_entry, export_paths, write_export
    from .models import Embedding
    from .recommend import Recommender

    results = Path(args.results)
    info = {"entry": rec.entry}
    if not isinstance(rec.model, Embedding):  # a baseline: it counts songs and has no vectors
        if args.entry is not None:
            sgns = sorted(p.stem for p in (results / "embeddings").glob("*.npy") if "+" not in p.stem)
            raise baseline_error(
                results / "baselines" / f"{rec.entry}.npz", rec.entry, getattr(rec.model, "method", "baseline"), sgns
            )
        entry, note = choose_entry(results / "best.json", results / "grid.tsv")
        print(f"# {note}", file=sys.stderr)
        rec = Recommender.from_results(results, entry=entry, metadata=args.metadata)
        info = {"entry": entry, "note": note}
    folder = Path(args.out) if args.out else Path("export") / rec.entry
    paths = export_paths(folder)
    manifest = write_export(rec.model.matrix, rec.songs, paths, top=args.top, info=info)
    print(
        f"{rec.entry}: {manifest['songs']} songs x {manifest['dim']} dimensions "
        f"({manifest['projector_songs']} in the projector files)",
        file=out,
    )
    for path in paths.values():
        print(f"{path}\t{path.stat().st_size:,} bytes", file=out)
    return 0


def main(argv: Sequence[str] | None = None, out=None) -> int:
    """Run the command line; returns the exit status (1 with a clear message on a user error).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).
    out : file, optional
        Where results are printed (default: standard output).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    out = out or sys.stdout
    _check_counts(parser, args)

    from .errors import Track2VecError
    from .recommend import Recommender

    try:
        rec = Recommender.from_results(args.results, entry=args.entry, metadata=args.metadata)
        handler = {"find": _cmd_find, "suggest": _cmd_suggest, "radio": _cmd_radio, "export": _cmd_export}[args.command]
        return handler(args, rec, out)
    except Track2VecError as exc:
        print(f"track2vec: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
