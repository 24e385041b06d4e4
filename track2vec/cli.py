"""The ``track2vec`` command: find songs, complete a playlist, start a radio.

::

    track2vec find "holy planet"
    track2vec suggest "Holy Planet" "Train of Sky" -n 10
    track2vec radio "Holy Planet" --nb-steps 20 --nb-candidates 5 --seed 0 --out radio/

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
    for add in (_add_find, _add_suggest, _add_radio):
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


def _add_suggest(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "suggest",
        help="songs to continue a playlist",
        description=(
            "Suggest songs to continue a partial playlist: the nearest neighbours of its last song (the protocol "
            "the grid table scores), or of the mean of its last M songs with --last M. A song already in the "
            "playlist is never suggested."
        ),
    )
    p.add_argument("songs", nargs="+", metavar="SONG", help="the playlist, in order (titles, track ids or #index)")
    p.add_argument("-n", type=int, default=10, help="number of suggestions (default: 10)")
    p.add_argument(
        "--last",
        type=int,
        default=1,
        metavar="M",
        help="search from the mean of the last M songs (default: 1, the last song)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    return p


def _add_radio(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "radio",
        help="a radio from a seed song",
        description=(
            "From a seed song, draw NB_STEPS songs, each at random among the NB_CANDIDATES nearest neighbours of "
            "the current song, never one already played. A song without a preview is skipped (a line says so) "
            "and the walk goes on. Writes OUT/<slug>.m3u8 (previews), OUT/<slug>.json and OUT/<slug>.html "
            "(a self-contained page that plays the previews one after another)."
        ),
    )
    p.add_argument("song", metavar="SEED_SONG")
    p.add_argument("--nb-steps", type=int, default=20, help="songs after the seed (default: 20)")
    p.add_argument("--nb-candidates", type=int, default=5, help="neighbourhood size (default: 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same radio (default: 0)")
    p.add_argument("--out", default="radio", metavar="DIR", help="output folder (default: radio)")
    p.add_argument(
        "--name", default=None, metavar="SLUG", help="file name without extension (default: from the seed's title)"
    )
    p.add_argument("--json", action="store_true", help="print the radio as JSON instead of lines")
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
        _positive(parser, "--last", args.last)
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
        table = rec.suggest(indices, n=args.n, last=args.last)
    except ValueError as exc:  # n larger than the songs left to suggest
        print(f"track2vec: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(
            {
                "entry": rec.entry,
                "metric": rec.metric,
                "playlist": indices,
                "last": args.last,
                "suggestions": table.to_dict(orient="records"),
            },
            out,
            ensure_ascii=False,
            indent=2,
        )
        out.write("\n")
        return 0
    score = rec.model.score_label(rec.metric)
    print(f"rank\tindex\ttrack_id\ttitle\tartist\t{score}", file=out)
    for r in table.itertuples(index=False):
        print("\t".join(_cell(x) for x in (r.rank, r.index, r.track_id, r.title, r.artist, f"{r.score:.4f}")), file=out)
    return 0


def _cmd_radio(args, rec, out) -> int:
    from .radio import write_radio
    from .text import slugify

    walk = rec.radio(args.song, nb_steps=args.nb_steps, nb_candidates=args.nb_candidates, seed=args.seed)
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
        for m in walk.messages:
            if "skipped" not in m:
                print(m, file=out)
    print("wrote " + ", ".join(map(str, paths)), file=sys.stderr)
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
        handler = {"find": _cmd_find, "suggest": _cmd_suggest, "radio": _cmd_radio}[args.command]
        return handler(args, rec, out)
    except Track2VecError as exc:
        print(f"track2vec: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
