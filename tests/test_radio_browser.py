"""The radio page in a real browser: headless Chromium plays local previews one after another,
moving on when a preview ends and when one fails to load (404, corrupt file)."""

import functools
import http.server
import struct
import threading
import wave

import pytest

from conftest import CHROMEDRIVER, CHROMIUM, ROOT, needs_chromium
from track2vec.radio import RadioWalk, describe_measures, measure_walk, write_radio

selenium = pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
pytestmark = needs_chromium

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=900,900",
]


def silent_wav(path, seconds=0.3, rate=8000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<h", 0) * int(seconds * rate))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_radio_page_plays_and_advances_on_end_and_on_error(server, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    folder, base = server
    for name in ("a", "b", "c"):
        silent_wav(folder / f"{name}.wav")
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00this is not audio" * 4)
    songs = [  # (title, artist, preview)
        ("Holy Planet", "The Endless Comets", f"{base}/a.wav"),
        ("Missing Preview (404)", "Nobody", f"{base}/missing.wav"),
        ("Café Déjà-vu", "Léa Moreau", f"{base}/b.wav"),
        ("No Preview At All", "", ""),
        ("Rock & <Roll>", "Broken File", f"{base}/corrupt.wav"),
        ("Last Song", "Zoë Müller", f"{base}/c.wav"),
    ]
    tracks = [
        {
            "step": i,
            "index": i,
            "track_id": f"track_{i}",
            "title": t,
            "artist": a,
            "artist_id": a,
            "preview": p,
            "played": bool(p),
            "score": None if i == 0 else 0.9,
            "candidates": [],
        }
        for i, (t, a, p) in enumerate(songs)
    ]
    walk = RadioWalk(
        query="Holy Planet",
        seed_index=0,
        nb_steps=5,
        nb_candidates=3,
        seed=0,
        entry="test",
        metric="cosine",
        tracks=tracks,
        measures=measure_walk(tracks),
    )
    write_radio(walk, folder / "radio.m3u8", folder / "radio.json", folder / "radio.html")

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'chrome-profile'}")
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(30)
        driver.get(f"{base}/radio.html")
        listed = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#tracks li")]
        for (title, artist, _), text in zip(songs, listed, strict=False):
            assert title in text and artist in text
        assert len(listed) == len(songs)
        assert "no preview" in listed[3]
        # the radio's measures, under its title
        assert driver.find_element(By.ID, "measures").text == describe_measures(walk.measures)
        assert walk.measures["distinct_artists"] == 5
        # it starts on its own and moves through every playable song
        WebDriverWait(driver, 60, poll_frequency=0.1).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "finished"
        )
        log = driver.execute_script("return window.radioLog")
        assert [(e["index"], e["event"]) for e in log] == [
            (0, "ended"),
            (1, "error"),
            (2, "ended"),
            (3, "error"),
            (4, "ended"),
        ]
        failed = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#tracks li.failed")]
        assert [f.split(" —")[0] for f in failed] == ["Missing Preview (404)", "Rock & <Roll>"]
        shot = ROOT / "results" / "screenshots" / "radio.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 1000
    finally:
        driver.quit()
