"""The app's start-up and page-switch times, measured in headless Chromium (a benchmark figure; see `lab.bench.suite`).

`streamlit run app.py` starts as a child against the benchmark's data directory (the sample collection
ingested); the clock starts when the process is spawned. Then, in the browser: Home rendered; Home -> Corpus;
a search (the first one loads the embedder and builds the BM25 index); Corpus -> Home -> Corpus; a second
search. Models and indexes are `st.cache_resource`d, so the second search and the page switches do not load
anything again: the second search is fast. Peak RSS of the app is read from /proc before it stops.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from lab.bench.children import AppData, peak_rss_mb
from lab.bench.figure import Figure, meets
from lab.errors import LabError

CHROMIUM = "/usr/bin/chromium"
FIRST_RENDER_TARGET = "< 5"  # seconds: "the first page renders within a few seconds after start-up"
# Golden questions whose gold source is the marker that their search results are on screen.
SEARCHES = (("On what date was Halyard 4.1 released?", "release-notes-4.1.html"),
            ("Who is the Data Protection Officer of Marrowlake Systems?", "privacy-policy.pdf"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            return
        except OSError:
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise LabError(f"The app did not start within {timeout:.0f} s (exit {proc.poll()}).") from None
            time.sleep(0.05)


def _timed(action, wait) -> float:
    start = time.perf_counter()
    action()
    wait()
    return round(time.perf_counter() - start, 2)


def _search(page, query: str, marker: str) -> float | None:
    """Seconds from clicking Search to the results showing `marker` (None if it was on screen already)."""
    if page.get_by_text(marker).count():
        return None
    box = page.get_by_label("Query", exact=True)
    box.fill(query)
    box.press("Enter")
    button = page.get_by_test_id("stBaseButton-secondary").filter(has_text=re.compile(r"^Search$"))
    return _timed(button.click,
                  lambda: page.get_by_text(marker).first.wait_for())


def bench_first_render(app: AppData) -> Figure:
    from playwright.sync_api import sync_playwright

    from lab.config import REPO_ROOT, SERVED_SCRIPT

    chromium = shutil.which("chromium") or CHROMIUM
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    detail: dict = {}
    with sync_playwright() as p:  # the browser starts first: its start-up is not the app's
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(SERVED_SCRIPT), "--server.headless", "true",
                                 "--server.port", str(port), "--server.address", "127.0.0.1"],
                                cwd=REPO_ROOT, env=app.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_health(url, proc)
            detail["health_seconds"] = round(time.perf_counter() - start, 2)
            page.goto(url)
            page.get_by_text("One-click demo").wait_for()
            first_render = time.perf_counter() - start
            detail["home_after_health_seconds"] = round(first_render - detail["health_seconds"], 2)
            corpus = lambda: page.get_by_role("link", name="Corpus").click()  # noqa: E731
            home = lambda: page.get_by_role("link", name="Home").click()  # noqa: E731
            on_corpus = lambda: page.get_by_text("Search playground").wait_for()  # noqa: E731
            on_home = lambda: page.get_by_text("One-click demo").wait_for()  # noqa: E731
            detail["home_to_corpus_seconds"] = _timed(corpus, on_corpus)
            detail["first_search_seconds"] = _search(page, *SEARCHES[0])
            detail["corpus_to_home_seconds"] = _timed(home, on_home)
            detail["home_to_corpus_again_seconds"] = _timed(corpus, on_corpus)
            detail["second_search_seconds"] = _search(page, *SEARCHES[1])
            detail["app_peak_rss_mb"] = round(peak_rss_mb(proc.pid) or 0)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            browser.close()
    detail["note"] = ("the first search loads the embedder and builds the BM25 index (st.cache_resource); the "
                      "second, after switching pages, reuses them")
    return Figure("first_render", round(first_render, 2), None, "s to Home", None, FIRST_RENDER_TARGET,
                  meets(first_render, FIRST_RENDER_TARGET), detail)
