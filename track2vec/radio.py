"""A radio: a random walk through a model's nearest neighbours, and the files that play it.

Usage::

    from track2vec.radio import walk_radio, write_radio

    walk = walk_radio(model, catalog, "Holy Planet", nb_steps=20, nb_candidates=5, seed=0)
    write_radio(walk, "holy-planet.m3u8", "holy-planet.json", "holy-planet.html")

From the seed song, each next song is drawn at random among the ``nb_candidates`` nearest
neighbours of the current one that have not been played, ranked by
:func:`track2vec.models.complete_playlists` (the ranking the evaluation scores). A song without
a preview is skipped and the walk goes on from it. A radio is written as an .m3u8 playlist of
the previews, a .json summary and a self-contained HTML page (inline style and script) that
plays the previews one after another in an ``<audio>`` element, moving on when one ends *or*
fails to load.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import write_json, write_text
from .catalog import Catalog
from .knn import METRICS
from .models import Model, as_model, complete_playlists

__all__ = ["RadioWalk", "to_html", "to_m3u8", "walk_radio", "write_radio"]


@dataclass
class RadioWalk:
    """The songs of a radio: the seed, then one song per step.

    Attributes
    ----------
    query : str
        What the seed was asked as (a title or an id).
    seed_index : int
        Vocabulary index of the seed song (-1 when no song matched it).
    nb_steps, nb_candidates, seed : int
        The walk's settings (see :func:`walk_radio`).
    entry : str or None
        The grid entry whose model made the walk.
    metric : str
        The neighbour search's metric.
    tracks : list of dict
        One per song, seed first: ``step`` (0 = seed), ``index``, ``track_id``,
        ``title``, ``artist``, ``preview``, ``played`` (false = no preview,
        skipped), ``score`` (similarity to the previous song, or distance for
        the euclidean metric; none for the seed) and ``candidates`` (the
        vocabulary indices it was drawn among).
    messages : list of str
        One line per skipped song, and why a walk stopped early.
    """

    query: str
    seed_index: int
    nb_steps: int
    nb_candidates: int
    seed: int
    entry: str | None
    metric: str
    tracks: list[dict] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def played(self) -> list[dict]:
        """The songs that have a preview, in order."""
        return [t for t in self.tracks if t["played"]]

    def to_dict(self) -> dict:
        """A JSON-ready summary (what ``<slug>.json`` holds)."""
        return {
            "query": self.query,
            "seed_index": self.seed_index,
            "entry": self.entry,
            "metric": self.metric,
            "nb_steps": self.nb_steps,
            "nb_candidates": self.nb_candidates,
            "seed": self.seed,
            "n_played": len(self.played),
            "n_skipped": sum(not t["played"] for t in self.tracks),
            "tracks": self.tracks,
            "messages": self.messages,
        }


def walk_radio(
    model,
    catalog: Catalog,
    song: str | int,
    nb_steps: int = 20,
    nb_candidates: int = 5,
    seed: int = 0,
    metric: str = "cosine",
    prior: np.ndarray | None = None,
    entry: str | None = None,
) -> RadioWalk:
    """A radio from a seed song: each next song drawn at random among the ``nb_candidates``
    nearest neighbours of the current one, never a song already played.

    The candidates are :func:`~track2vec.models.complete_playlists` of the songs visited so
    far, as a playlist whose last song is the current one. A song without a preview is
    skipped (recorded with ``played: false`` and a message) and the walk goes on from it.
    The walk stops early only when every song has been visited.

    Parameters
    ----------
    model : numpy.ndarray of shape (V, dim), or Model
        The entry's embedding or baseline (see :mod:`track2vec.models`).
    catalog : Catalog
        The songs of the same vocabulary.
    song : str or int
        The seed song (see :meth:`Catalog.resolve`).
    nb_steps : int
        Songs drawn after the seed.
    nb_candidates : int
        Size of the neighbourhood each next song is drawn from.
    seed : int
        Seed of the random draws (``numpy.random.default_rng``): the same seed gives the same radio.
    metric : {"cosine", "euclidean"}
        Neighbour search; use the one the entry was evaluated with.
    prior : numpy.ndarray, shape (V,), optional
        Per-song score added before ranking (the entry's popularity prior).
    entry : str, optional
        The grid entry's name (recorded in the walk).

    Returns
    -------
    RadioWalk

    Raises
    ------
    SongNotFoundError
        No song matches ``song``.
    ValueError
        ``nb_steps`` < 0, ``nb_candidates`` < 1, an unknown metric, or a model and a
        catalog of different sizes.
    """
    model = _checked_model(model, catalog, nb_steps, nb_candidates, metric)
    rng = np.random.default_rng(seed)
    current = catalog.resolve(song)
    walk = RadioWalk(
        query=str(song),
        seed_index=current,
        nb_steps=nb_steps,
        nb_candidates=nb_candidates,
        seed=int(seed),
        entry=entry,
        metric=metric,
    )
    visited = [current]
    _visit(walk, catalog, current, step=0, score=None, candidates=[])
    for step in range(1, nb_steps + 1):
        k = min(nb_candidates, catalog.size - len(visited))
        if k < 1:
            walk.messages.append(f"step {step}: every song has been played; the radio stops")
            break
        # the current song is the last of the visited ones: the suggest code path
        cand, scores = complete_playlists(model, [visited], k=k, metric=metric, prior=prior)
        pick = int(rng.integers(k))
        current = int(cand[0, pick])
        visited.append(current)
        _visit(walk, catalog, current, step=step, score=float(scores[0, pick]), candidates=cand[0].tolist())
    return walk


def _checked_model(model, catalog: Catalog, nb_steps: int, nb_candidates: int, metric: str) -> Model:
    """``model`` as a :class:`~track2vec.models.Model`, once the walk's settings are checked."""
    if nb_steps < 0 or nb_candidates < 1:
        raise ValueError("nb_steps must be >= 0 and nb_candidates >= 1")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    model = as_model(model)
    if model.n_songs != catalog.size:
        raise ValueError(f"the model ranks {model.n_songs} songs but the catalog has {catalog.size}")
    return model


def _visit(
    walk: RadioWalk, catalog: Catalog, index: int, step: int, score: float | None, candidates: list[int]
) -> None:
    """Add a song to the walk; one without a preview is marked not played, with a message."""
    t = catalog.track(index)
    t.pop("count")
    t.update(step=step, played=bool(t["preview"]), score=score, candidates=[int(c) for c in candidates])
    if not t["played"]:
        label = catalog.label(index)
        song = label if t["title"] == t["track_id"] else f"{label} ({t['track_id']})"
        walk.messages.append(f"step {step}: skipped {song}: no preview")
    walk.tracks.append(t)


def _display(t: Mapping) -> str:
    return f"{t['artist']} - {t['title']}" if t.get("artist") else str(t["title"])


def to_m3u8(walk: RadioWalk) -> str:
    """Extended M3U (UTF-8) of the songs that have a preview: ``#EXTINF:-1,Artist - Title`` then the URL."""
    lines = ["#EXTM3U", f"#PLAYLIST:track2vec radio: {_title(walk)}"]
    for t in walk.played:
        name = _display(t).replace("\n", " ")
        lines += [f"#EXTINF:-1,{name}", t["preview"]]
    return "\n".join(lines) + "\n"


def _title(walk: RadioWalk) -> str:
    if walk.tracks:
        return str(walk.tracks[0]["title"])
    return walk.query


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.meta { color: #666; font-size: .9rem; margin-top: 0; }
#now { font-weight: 600; min-height: 1.4em; }
audio { width: 100%; margin: .5rem 0 1rem; }
ol { padding-left: 2rem; }
li { padding: .25rem .4rem; border-radius: .3rem; }
li.track { cursor: pointer; }
li.playing { background: #dbeafe; font-weight: 600; }
li.done { color: #555; }
li.failed { color: #b91c1c; }
li.failed::after { content: " — could not be played"; font-size: .85rem; }
li.skipped { color: #999; }
.artist { color: #555; }
.note { color: #999; font-size: .85rem; }
#start { display: none; margin: .5rem 0; }
"""

_JS = """
(function () {
  var player = document.getElementById('player');
  var now = document.getElementById('now');
  var start = document.getElementById('start');
  var items = Array.prototype.slice.call(document.querySelectorAll('#tracks li.track'));
  var current = -1;
  window.radioLog = [];
  function show(i) {
    document.body.dataset.current = String(i);
    items.forEach(function (li, j) { li.classList.toggle('playing', j === i); });
  }
  function play(i) {
    if (i >= items.length) {
      current = items.length;
      show(-1);
      player.removeAttribute('src');
      now.textContent = items.length ? 'End of the radio.' : 'No song of this radio has a preview.';
      document.body.dataset.state = 'finished';
      return;
    }
    current = i;
    var li = items[i];
    show(i);
    now.textContent = 'Now playing: ' + li.dataset.label;
    document.body.dataset.state = 'playing';
    player.src = li.dataset.src;
    var p = player.play();
    if (p && p.catch) {
      p.catch(function (err) {
        // autoplay refused: wait for a click; load failures are handled by the error event
        if (err && err.name === 'NotAllowedError') { start.style.display = 'inline-block'; }
      });
    }
  }
  function next(why) {
    if (current < 0 || current >= items.length) { return; }
    window.radioLog.push({index: current, event: why});
    items[current].classList.add(why === 'error' ? 'failed' : 'done');
    play(current + 1);
  }
  player.addEventListener('ended', function () { next('ended'); });
  player.addEventListener('error', function () { if (player.getAttribute('src')) { next('error'); } });
  start.addEventListener('click', function () { start.style.display = 'none'; \
play(current < 0 || current >= items.length ? 0 : current); });
  items.forEach(function (li, j) { li.addEventListener('click', function () { play(j); }); });
  play(0);
})();
"""


def to_html(walk: RadioWalk) -> str:
    """A self-contained HTML page: the songs of the walk and an ``<audio>`` player that plays the
    previews in order, moving on at ``ended`` and at ``error``."""
    title = _title(walk)
    rows = []
    for t in walk.tracks:
        label = html.escape(str(t["title"]))
        artist = f' <span class="artist">— {html.escape(str(t["artist"]))}</span>' if t.get("artist") else ""
        seed = ' <span class="note">(seed)</span>' if t["step"] == 0 else ""
        if t["played"]:
            rows.append(
                f'<li class="track" data-src="{html.escape(t["preview"], quote=True)}" '
                f'data-label="{html.escape(_display(t), quote=True)}" data-index="{t["index"]}">'
                f'<span class="title">{label}</span>{artist}{seed}</li>'
            )
        else:
            rows.append(
                f'<li class="skipped" data-index="{t["index"]}"><span class="title">{label}</span>{artist}{seed} '
                f'<span class="note">(no preview, skipped)</span></li>'
            )
    messages = "".join(f"<li>{html.escape(m)}</li>" for m in walk.messages if "skipped" not in m)
    info = (
        f"{len(walk.played)} of {len(walk.tracks)} songs have a preview · entry {html.escape(str(walk.entry))} · "
        f"{walk.nb_steps} steps among {walk.nb_candidates} nearest neighbours · seed {walk.seed}"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Radio: {html.escape(title)}</title>
<style>{_CSS}</style>
</head>
<body data-state="loading" data-current="-1">
<h1>Radio: {html.escape(title)}</h1>
<p class="meta">{info}</p>
<p id="now"></p>
<button id="start" type="button">▶ Start the radio</button>
<audio id="player" controls preload="auto"></audio>
<ol id="tracks">
{chr(10).join(rows)}
</ol>
<ul class="note">{messages}</ul>
<script>{_JS}</script>
</body>
</html>
"""


def write_radio(walk: RadioWalk, m3u8: str | Path, json_path: str | Path, html_path: str | Path) -> None:
    """Write a radio's three files atomically."""
    write_text(m3u8, to_m3u8(walk))
    write_json(json_path, walk.to_dict())
    write_text(html_path, to_html(walk))
