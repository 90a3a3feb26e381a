"""End to end in a real browser: headless Chromium (Debian's package) drives the running app through
ingest -> ask -> golden batch -> charts -> CSV download, and checks the downloaded file."""

import csv
import os
from pathlib import Path

import pytest

from tests.conftest import IDLE, SERVED, chromium, streamlit_app

# `streamlit run` of the whole app, driven by Chromium; the app ingests and answers with the real models
pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.browser, pytest.mark.model]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("e2e-data")
    env = {**os.environ, "LAB_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    with streamlit_app(SERVED, env, data / "streamlit.log") as url:
        yield url


REQUESTS: list[str] = []  # every URL the pages asked for, across this module's tests


@pytest.fixture(scope="module")
def page():
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        tab = context.new_page()
        tab.on("request", lambda request: REQUESTS.append(request.url))
        yield tab


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE, timeout=240_000)  # the rerun the new value started has finished


def test_a_deep_link_on_a_fresh_server_goes_through_the_frame(app_url, page):
    """Streamlit's old pages/ folder mode runs a page file on its own for the very first request of a fresh
    server; the lab must still show its own navigation (and gate), not helper modules listed as pages."""
    page.set_default_timeout(120_000)
    page.goto(app_url + "/corpus")
    page.get_by_text("One-click demo").or_(page.get_by_role("heading", name="Corpus")).first.wait_for()
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.get_by_text("Decide", exact=True).wait_for()
    assert nav.get_by_text("common", exact=True).count() == 0


def test_ingest_ask_batch_charts_and_csv(app_url, page, tmp_path):
    page.set_default_timeout(240_000)
    page.goto(app_url)
    page.get_by_text("One-click demo").wait_for()

    page.get_by_role("link", name="Corpus").click()
    page.get_by_role("button", name="Ingest").click()
    page.get_by_text("Chunks in collection").wait_for()
    assert page.get_by_text("Done in").count() == 1

    page.get_by_role("link", name="Compare").click()
    page.get_by_text("Golden question", exact=True).wait_for()
    page.get_by_text("Golden question", exact=True).locator("xpath=ancestor::*[@data-testid='stSelectbox']").click()
    page.get_by_role("option").nth(2).click()
    set_number(page, "Max new tokens", 24)
    page.get_by_role("button", name="Ask").click()
    page.get_by_text("Latency").first.wait_for()
    assert page.get_by_role("heading", name="hybrid-rag").count() == 1

    page.get_by_role("tab", name="Golden set (batch)").click()
    set_number(page, "Questions (0 = all)", 2)
    page.get_by_role("button", name="Start batch run").click()
    page.get_by_role("link", name="See the results").wait_for()
    page.get_by_role("link", name="See the results").click()

    page.get_by_text("Paired tests").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.locator(".js-plotly-plot").count() >= 4
    with page.expect_download() as download:
        page.get_by_role("button", name="Download per-question CSV").click()
    target = tmp_path / "questions.csv"
    download.value.save_as(target)
    rows = list(csv.DictReader(target.open(newline="", encoding="utf-8")))
    assert len(rows) == 6 and {r["path"] for r in rows} == {"prompt", "rag", "hybrid-rag"}
    assert {"question_id", "answer", "gold", "correct", "f1", "latency_ms_total", "cost_usd"} <= set(rows[0])
    assert all(r["error"] == "" for r in rows)


def test_offline_means_offline_every_request_stays_on_the_lab(app_url, page):
    """Every request the pages made in this module's journeys went to the lab itself (no font, icon or emoji CDN)."""
    from urllib.parse import urlsplit

    page.goto(app_url + "/results")
    page.wait_for_timeout(3000)
    assert REQUESTS, "the recorder saw no request"
    elsewhere = sorted({url for url in REQUESTS if urlsplit(url).scheme in ("http", "https", "ws", "wss")
                        and urlsplit(url).hostname not in ("127.0.0.1", "localhost")})
    assert elsewhere == [], elsewhere
