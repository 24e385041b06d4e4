"""Writing a radio: an .m3u8 playlist, a .json summary and a self-contained HTML player.

The HTML page needs nothing but the preview URLs: its style and script are inline.
It lists every song of the walk (skipped ones marked) and plays the previews one
after another in an ``<audio>`` element, moving on when one ends *or* fails to load.
"""
from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Mapping

from .atomic import write_json, write_text
from .errors import DataError
from .recommend import RadioWalk, Recommender, SongNotFoundError

__all__ = ["to_m3u8", "to_html", "write_radio", "radio_step"]

_log = logging.getLogger("track2vec")


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
  start.addEventListener('click', function () { start.style.display = 'none'; play(current < 0 || current >= items.length ? 0 : current); });
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
    info = (f"{len(walk.played)} of {len(walk.tracks)} songs have a preview · entry {html.escape(str(walk.entry))} · "
            f"{walk.nb_steps} steps among {walk.nb_candidates} nearest neighbours · seed {walk.seed}")
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


def radio_step(
    best: str,
    embeddings: Mapping[str, str],
    vocab: str,
    metadata: str | None,
    query: str,
    nb_steps: int,
    nb_candidates: int,
    seed: int,
    metric: str,
    m3u8: str,
    json_out: str,
    html_out: str,
    logger: logging.Logger = _log,
    train: str | None = None,
) -> RadioWalk:
    """The ``radio`` rule: a radio from one seed song with the best entry, written as .m3u8/.json/.html.

    ``train`` (``split/train.parquet``) gives the song counts of the best entry's
    popularity prior, when its ``popularity_prior`` hyperparameter is above 0.

    A seed that matches no song (for example the built-in titles on another
    dataset) does not fail the run: the three files say so and a warning is logged.
    """
    from .pipeline import prior_weight

    with open(best, encoding="utf-8") as fh:
        chosen = json.load(fh)
    entry = chosen["entry"]
    if entry not in embeddings:
        raise DataError(best, f"names entry {entry!r}, which is not in the grid any more", "re-run the best rule")
    rec = Recommender.from_files(vocab, embeddings[entry], metadata, metric=metric, entry=entry,
                                 popularity=prior_weight(chosen), train=train)
    try:
        walk = rec.radio(query, nb_steps=nb_steps, nb_candidates=nb_candidates, seed=seed)
    except SongNotFoundError as exc:
        logger.warning("radio seed %r: %s; change the config key 'radio.seeds'", query, exc)
        walk = RadioWalk(query=query, seed_index=-1, nb_steps=nb_steps, nb_candidates=nb_candidates, seed=seed,
                         entry=entry, metric=metric, messages=[f"no song matches the seed {query!r}: change the config key 'radio.seeds'"])
    for line in walk.messages:
        logger.info("%s", line)
    write_radio(walk, m3u8, json_out, html_out)
    logger.info("radio from %r (entry %s): %d songs, %d with a preview", query, entry, len(walk.tracks), len(walk.played))
    return walk
