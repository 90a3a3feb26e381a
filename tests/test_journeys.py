"""Journeys in a real browser (headless Chromium driving `streamlit run app.py`), on a data directory that
already holds collections, runs and adapters, each step done twice, as users do: repeat, switch pages, refresh,
open a second tab. Every step checks that no Streamlit exception box and no redacted error appear."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IDLE, SERVED, chromium, need_system_files, streamlit_app

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.browser, pytest.mark.model]
REPO = Path(__file__).resolve().parent.parent
LICENSES = Path("/usr/share/common-licenses")
VALGRIND = Path("/usr/share/doc/valgrind/html")  # a real manual that, like the sample, holds a faq.html
MANUAL_PAGES = ("faq.html", "QuickStart.html", "manual-intro.html", "dist.readme.html")
PAGES = ["", "corpus", "golden", "models", "compare", "results", "decide"]
TIMEOUT = 300_000


def _lab(env: dict, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "lab", *args, "--json"], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def lived_in(tmp_path_factory):
    """A data directory a user has worked in: three collections (the sample, real licence texts, and pages of the
    Valgrind manual, whose faq.html shares its name with the sample's), golden sets tied to them, an adapter, a run on
    a user's own golden set, a run whose adapter was deleted since, and an interrupted run."""
    need_system_files({"valgrind": VALGRIND / "faq.html"})
    data = tmp_path_factory.mktemp("lived-in")
    env = {**os.environ, "LAB_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    _lab(env, "ingest", str(REPO / "sample_corpus" / "docs"), "--collection", "sample")
    manual = data / "valgrind"
    manual.mkdir()
    for name in MANUAL_PAGES:
        shutil.copy(VALGRIND / name, manual / name)
    _lab(env, "ingest", str(manual), "--collection", "valgrind")
    faq = data / "valgrind-questions.jsonl"
    faq.write_text("".join(json.dumps(q) + "\n" for q in [
        {"id": "name", "question": "What was Valgrind named before its release?", "answer": "Heimdall",
         "sources": ["faq.html"]},
        {"id": "say", "question": "How is the 'Val' in Valgrind pronounced?", "answer": "as in the word value",
         "sources": ["faq.html"]}]))
    _lab(env, "golden", "import", str(faq), "--name", "valgrind-faq", "--collection", "valgrind")
    licences = data / "licences"  # the licence texts carry no file extension: named as a user would save them
    licences.mkdir()
    for name in ("GPL-3", "Apache-2.0", "MPL-2.0", "LGPL-3", "Artistic"):
        shutil.copy(LICENSES / name, licences / f"{name}.txt")
    _lab(env, "ingest", str(licences), "--collection", "licenses")
    adapters = data / "adapters"
    _lab(env, "train", "--data", str(REPO / "sample_corpus" / "finetune_behaviour.jsonl"), "--out",
         str(adapters / "tiny"), "--max-steps", "1", "--batch-size", "2", "--no-eval")
    shutil.copytree(adapters / "tiny", adapters / "gone")
    own = data / "my-questions.jsonl"
    own.write_text("".join(json.dumps(q) + "\n" for q in [
        {"id": "gpl", "question": "Which licence is published by the Free Software Foundation as version 3?",
         "answer": "GNU General Public License", "sources": ["GPL-3.txt"]},
        {"id": "apache", "question": "Which licence grants a patent license from each contributor?",
         "answer": "Apache", "sources": ["Apache-2.0.txt"]}]))
    _lab(env, "compare", "--questions", str(own), "--collection", "licenses", "--paths", "prompt,rag",
         "--max-new-tokens", "8", "--out", str(data / "own.csv"))
    _lab(env, "compare", "--questions", str(REPO / "sample_corpus" / "golden.jsonl"), "--limit", "1",
         "--paths", "prompt,finetuned", "--adapter", str(adapters / "gone"), "--max-new-tokens", "8",
         "--out", str(data / "gone.csv"))
    shutil.rmtree(adapters / "gone")
    subprocess.run([sys.executable, "-c", "from lab.experiments.run_store import RunStore; "
                    "RunStore().create({'collection': 'sample', 'paths': ['prompt']}, 5)"],
                   env=env, cwd=REPO, check=True)  # its process exits at once: the run reads as interrupted
    return data, env


@pytest.fixture(scope="module")
def app_url(lived_in):
    data, env = lived_in
    with streamlit_app(SERVED, env, data / "streamlit.log") as url:
        yield url
    log = (data / "streamlit.log").read_text()
    assert "Traceback" not in log, log[-4000:]  # nothing failed behind the pages either


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT)
    yield tab
    context.close()


# Words that cannot follow a number: "1 questions", a signed zero ("0/1 answers" reads right).
MISREAD = re.compile(r"(?<![\d.,/])1 (?:questions|answers|chunks|documents|files|runs|passages)\b"
                     r"|(?<![\d.])[-\u2212]0\.0+(?![\d])")


def clean(page) -> None:
    """No exception box, no redacted 'This app has encountered an error' anywhere on the page, and no words that
    contradict their number."""
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.all_inner_texts()
    assert page.get_by_text("This app has encountered an error").count() == 0
    misread = MISREAD.findall(page.evaluate("document.body.innerText"))
    assert not misread, misread


def settle(page) -> None:
    """Let the app finish the run a click started (Streamlit marks its root with the script's state), then check
    the page."""
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    clean(page)


def go(page, name: str) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=name, exact=True).click()
    settle(page)


def fill(page, label: str, value) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    settle(page)


def choose(page, label: str, option: str, starts: bool = False) -> None:
    """Pick the option ending in `option` (starting with it, when `starts`) from the selectbox labelled `label` (a
    first click after a form was submitted may only focus the box: open it until the options show)."""
    box = page.get_by_text(label, exact=True).locator("xpath=ancestor::*[@data-testid='stSelectbox']")
    pattern = "^" + re.escape(option) if starts else re.escape(option) + "$"
    wanted = page.get_by_role("option").filter(has_text=re.compile(pattern)).first
    open_until(page, box, wanted)
    wanted.click()
    settle(page)


def open_until(page, box, wanted) -> None:
    """Click the selectbox `box` until the option `wanted` shows: a click on a box the last choice left focused
    may only focus it, not open it."""
    from playwright.sync_api import TimeoutError as NotOpened

    for _ in range(3):
        box.click()
        try:
            wanted.wait_for(timeout=5_000)
            return
        except NotOpened:
            page.keyboard.press("Escape")


def metric(page, label: str, value: str):
    """The metric labelled `label` showing `value` (a locator to wait for)."""
    return page.locator("[data-testid='stMetric']", has_text=label).locator(
        "[data-testid='stMetricValue']", has_text=value)


def test_every_page_opens_from_a_deep_link_on_a_server_with_data(app_url, page):
    for name in PAGES:
        page.goto(f"{app_url}/{name}")
        page.locator("[data-testid='stSidebarNav']").get_by_text("Decide", exact=True).wait_for()
        settle(page)
        page.locator("h1").first.wait_for()


def test_the_home_demo_twice_shows_the_collection_it_made(app_url, page):
    page.goto(app_url)
    for _ in range(2):
        page.get_by_role("button", name="Run the demo").click()
        page.get_by_text("Question:", exact=False).first.wait_for()
        settle(page)
        assert page.get_by_role("heading", name="hybrid-rag").count() == 1
        assert page.get_by_role("heading", name="finetuned").count() == 1  # the sample's shipped adapter
    assert page.locator("[data-testid='stSidebar']").get_by_text("Active collection").count() == 1
    # the measured batch beside the one question: asked until rag vs prompt is decided by an anytime-valid interval
    # (or the set runs out), then accuracy with CIs per path
    page.get_by_text("Measured on", exact=False).wait_for(timeout=600_000)
    settle(page)
    assert page.get_by_text("separable", exact=False).count() >= 3  # one verdict per pair of paths
    if page.get_by_text("Decided after", exact=False).count():
        assert page.get_by_text("anytime 95% interval", exact=False).count() == 1  # the pair that decided it


def test_corpus_ingest_upload_and_reupload_each_twice(app_url, page, tmp_path):
    page.goto(app_url)  # a deep link is its own test: a fresh session may be sent through Home first
    settle(page)
    go(page, "Corpus")
    for _ in range(2):  # the sample again: unchanged, and the page stays
        page.get_by_role("button", name="Ingest").click()
        page.get_by_text("Unchanged (skipped)").wait_for()
        settle(page)
    page.get_by_text("Upload files").click()
    settle(page)
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("BSD", "Apache-2.0", "MPL-2.0"):
        shutil.copy(LICENSES / name, mine / f"{name}.txt")
    shutil.copy(LICENSES / "Artistic", mine / "LICENSE")  # extension-less text is read
    (mine / "tool.exe").write_bytes(b"MZ\x90\x00")  # and a binary is listed with its reason
    files = sorted(mine.iterdir())
    page.get_by_text("a new one").click()  # the target is the active collection unless the user names a new one
    settle(page)
    fill(page, "New collection's name", "my-uploads")
    for attempt in range(2):
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files([str(f) for f in files])
        settle(page)
        page.get_by_role("button", name="Ingest").click()
        page.get_by_text("my-uploads: done in", exact=False).wait_for()  # this ingest's report, not the last one's
        metric(page, "Unchanged (skipped)" if attempt else "Documents ingested", "4").wait_for()
        settle(page)
        assert page.get_by_text("file(s) skipped").count() == 1, "the refused file is listed with its reason"
    changed = mine / "BSD.txt"
    changed.write_text(changed.read_text() + "\nA line the user added.\n")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files([str(changed)])
    settle(page)
    page.get_by_role("button", name="Ingest").click()
    page.get_by_text("Chunks written").wait_for()
    settle(page)
    # rename the active collection, twice, then delete it: the sidebar follows each time, the page stays
    assert "my-uploads" in active(page), active(page)
    for old, new in (("my-uploads", "renamed-once"), ("renamed-once", "twice-renamed")):
        fill(page, f"Rename {old} to", new)
        page.get_by_role("button", name="Rename", exact=True).click()
        settle(page)
        assert new in active(page) and old not in active(page), active(page)
        page.get_by_label(f"Rename {new} to", exact=True).wait_for()  # the page names the collection it now acts on
    page.get_by_text("Yes, delete twice-renamed and its chunks").click()
    settle(page)
    page.get_by_role("button", name="Delete", exact=True).click()
    settle(page)
    assert "twice-renamed" not in active(page), active(page)
    assert page.get_by_role("button", name="Delete", exact=True).is_disabled()  # the next one needs its own yes


def test_importing_into_an_existing_golden_set_asks_and_keeps_every_version(app_url, lived_in, page, tmp_path):
    """Import a set, import again under the same name: the page asks (append or a new version) before the button
    works, and after "append" the hand-written questions are still there, every version listed."""
    data, _ = lived_in
    first, second = tmp_path / "hand.jsonl", tmp_path / "more.jsonl"
    first.write_text(json.dumps({"id": "h1", "question": "Which licence is the GPL's third version?",
                                 "answer": "GPL-3"}) + "\n")
    second.write_text(json.dumps({"id": "m1", "question": "Which licence names the Mozilla Foundation?",
                                  "answer": "MPL-2.0"}) + "\n")
    page.goto(app_url)
    settle(page)
    go(page, "Golden sets")
    for upload, expected in ((first, "hand@v1"), (second, "hand@v2")):
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files([str(upload)])
        settle(page)
        fill(page, "Save as", "hand")
        if upload == second:
            assert page.get_by_role("button", name="Import", exact=True).is_disabled(), "it asks first"
            page.get_by_text("add them to the latest version's questions").click()
            settle(page)
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text(f"as {expected}", exact=False).wait_for()
        settle(page)
    stored = [json.loads(line)["id"] for line in (data / "golden" / "hand" / "v0002.jsonl").read_text().splitlines()]
    assert stored == ["h1", "m1"] and (data / "golden" / "hand" / "v0001.jsonl").is_file()


def test_the_golden_set_builder_writes_to_the_set_of_the_collection_in_view(app_url, lived_in, page):
    """Active collection sample, then switched to licenses: the builder's target follows the switch (it kept
    "sample" before), a written question lands in the licenses set, and the built-in sample set stays as shipped."""
    data, _ = lived_in
    page.goto(app_url)
    settle(page)
    choose(page, "Active collection", "sample")
    from playwright.sync_api import expect

    go(page, "Golden sets")
    expect(page.get_by_label("Golden set to add to", exact=True)).to_have_value("sample-mine", timeout=30_000)
    hits = page.locator("[data-testid='stCheckbox']", has_text="(score")
    search = page.get_by_test_id("stBaseButton-secondary").filter(has_text=re.compile(r"^Search$"))  # not a toolbar's
    fill(page, "Question", "What does the FAQ say?")
    for _ in range(2):
        search.click()
        settle(page)
    assert hits.count() > 0
    assert page.locator("[data-testid='stMarkdown'] strong").count() > 0, "the query's words are marked in each chunk"
    hits.first.click()  # a passage of the sample, picked
    settle(page)
    choose(page, "Active collection", "licenses")
    expect(page.get_by_label("Golden set to add to", exact=True)).to_have_value("licenses", timeout=30_000)
    assert hits.count() == 0, "passages found in the sample are not offered as gold passages of licenses"
    fill(page, "Question", "Which licence text is published as version 3 of the GPL?")
    fill(page, "Gold answer (short)", "GPL-3")
    search.click()
    settle(page)
    hits.first.click()
    settle(page)
    page.get_by_role("button", name="Add the question", exact=True).click()
    page.get_by_text("to licenses@v", exact=False).wait_for()
    settle(page)
    assert (data / "golden" / "licenses" / "meta.json").is_file() and not (data / "golden" / "sample").exists()


def test_models_training_is_found_again_after_leaving_and_a_refresh_and_cancels(app_url, page):
    page.goto(app_url)  # a deep link is its own test: a fresh session may be sent through Home first
    settle(page)
    go(page, "Models")

    def start(steps: int) -> None:  # no Enter in the form's boxes: Enter submits a Streamlit form at once
        page.get_by_label("Adapter name", exact=True).fill("journey")
        page.get_by_label("Max steps (0: all)", exact=True).fill(str(steps))
        evaluate = page.get_by_role("checkbox", name="Evaluate base vs adapter after training")
        if evaluate.is_checked():
            page.get_by_text("Evaluate base vs adapter after training").click()
        page.get_by_role("button", name="Start training").click()
        settle(page)

    start(0)  # a whole epoch: long enough to leave, come back, refresh and cancel
    page.get_by_text("step ", exact=False).first.wait_for()
    go(page, "Home")
    go(page, "Models")
    page.get_by_role("button", name="Cancel training").wait_for()
    page.reload()
    page.get_by_role("button", name="Cancel training").wait_for()  # found again by its status file
    clean(page)
    page.get_by_role("button", name="Cancel training").click()
    page.get_by_text("Cancelled; nothing saved.").wait_for()
    settle(page)
    start(1)  # again under the same name: the cancelled job does not stand in the way
    page.get_by_text("Saved to", exact=False).wait_for()
    settle(page)
    # load an adapter, switch to another, unload: the sidebar says which one the paths use
    sidebar = page.locator("[data-testid='stSidebar']")
    for name in ("tiny", "journey"):
        choose(page, "Adapter folder", f"/{name}")
        page.get_by_role("button", name="Load adapter", exact=True).click()
        page.get_by_text(f"Adapter {name} loaded", exact=False).wait_for()
        settle(page)
        sidebar.get_by_text(f"Adapter: {name}", exact=True).wait_for()
    page.get_by_role("button", name="Unload adapter").click()
    settle(page)
    sidebar.get_by_text("Adapter: none", exact=False).wait_for()


def test_compare_every_path_twice_then_a_batch_survives_a_page_switch_and_a_refresh(app_url, page):
    page.goto(app_url)  # a deep link is its own test: a fresh session may be sent through Home first
    settle(page)
    go(page, "Models")
    choose(page, "Adapter folder", "/tiny")
    page.get_by_role("button", name="Load adapter", exact=True).click()
    settle(page)
    go(page, "Compare")
    fill(page, "Max new tokens", 8)
    question = page.get_by_label("Question", exact=True)
    question.fill("Which port does the Halyard agent listen on?")
    for _ in range(2):
        page.get_by_role("button", name="Ask").click()
        page.get_by_text("Latency").first.wait_for()
        settle(page)
        for path in ("prompt", "rag", "hybrid-rag", "finetuned", "hybrid"):
            assert page.get_by_role("heading", name=path, exact=True).count() == 1, path

    page.get_by_role("tab", name="Golden set (batch)").click()
    fill(page, "Questions (0 = all)", 6)
    page.get_by_role("button", name="Start batch run").click()
    page.locator("[data-testid='stProgress']").first.wait_for()
    settle(page)
    go(page, "Results")
    page.reload()
    go(page, "Compare")
    page.get_by_role("tab", name="Golden set (batch)").click()
    cancel = page.get_by_role("button", name="Cancel run")
    cancel.wait_for()  # the run kept going and is found again after the refresh
    cancel.click()
    page.get_by_text("cancelled", exact=False).first.wait_for()
    settle(page)
    fill(page, "Questions (0 = all)", 1)
    page.get_by_role("button", name="Start batch run").click()
    page.get_by_role("link", name="See the results").wait_for()
    settle(page)


def test_results_decide_and_the_brief_on_an_own_golden_set_an_interrupted_run_and_a_deleted_adapter(app_url, page):
    page.goto(app_url)  # a deep link is its own test: a fresh session may be sent through Home first
    settle(page)
    go(page, "Results")
    box = page.get_by_text("Run", exact=True).locator("xpath=ancestor::*[@data-testid='stSelectbox']")
    open_until(page, box, page.get_by_role("option").first)
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert any("interrupted" in o for o in options), options
    briefs = 0
    for index in range(len(options)):
        for _ in range(2):
            wanted = page.get_by_role("option").nth(index)
            open_until(page, box, wanted)
            wanted.click()
            settle(page)
        build = page.get_by_role("button", name="Build the brief (HTML)")
        if build.count():  # a run with answers (the interrupted one has none: the page says so)
            build.click()
            settle(page)
            with page.expect_download() as brief:
                page.get_by_role("button", name="Download the brief (HTML)").click()
            assert Path(brief.value.path()).stat().st_size > 10_000
            briefs += 1
        go(page, "Decide")
        go(page, "Results")
    assert briefs >= 2  # the own golden set's run and the run whose adapter was deleted


def test_two_tabs_on_one_server_do_different_things_at_once(app_url, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    first, second = context.new_page(), context.new_page()
    for tab in (first, second):
        tab.set_default_timeout(TIMEOUT)
    for tab, name in ((first, "Compare"), (second, "Corpus")):
        tab.goto(app_url)
        settle(tab)
        go(tab, name)
    first.get_by_role("tab", name="Golden set (batch)").click()
    fill(first, "Questions (0 = all)", 1)
    fill(first, "Max new tokens", 8)
    first.get_by_role("button", name="Start batch run").click()
    second.get_by_role("button", name="Ingest").click()
    second.get_by_text("Unchanged (skipped)").wait_for()
    first.get_by_role("link", name="See the results").wait_for()
    settle(first)
    settle(second)
    context.close()


def chunks_of(env: dict, name: str) -> int:
    return next(c["chunks"] for c in _lab(env, "collections")["collections"] if c["name"] == name)


def active(page) -> str:
    """The sidebar's active collection (shown as text, or in the combobox input)."""
    return chosen(page, "Active collection")


def chosen(page, label: str) -> str:
    """The value the selectbox labelled `label` shows."""
    return page.get_by_text(label, exact=True).locator("xpath=ancestor::*[@data-testid='stSelectbox']").evaluate(
        "e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value).join(' ')")


def test_after_a_switch_ingest_names_its_target_and_asks_before_a_same_named_page_is_replaced(app_url, lived_in,
                                                                                                page):
    """The sequence that once replaced a user's page: the active collection switched to a manual holding a
    faq.html, Home, back to Corpus, Ingest with the Documents radio on the sample. The button names the manual, each
    click asks (nothing written), and the confirmed ingest reports the replaced page with its chunk counts."""
    data, env = lived_in
    _lab(env, "ingest", str(data / "valgrind"), "--collection", "manual-copy")  # this journey ends replacing a page
    before = chunks_of(env, "manual-copy")
    page.goto(app_url)
    settle(page)
    go(page, "Corpus")
    choose(page, "Active collection", "manual-copy")
    go(page, "Home")
    go(page, "Corpus")
    for _ in range(2):
        page.get_by_role("button", name="Ingest into manual-copy", exact=True).click()
        page.get_by_text("Same-named documents from elsewhere would be replaced: faq.html", exact=False).wait_for()
        settle(page)
    assert chunks_of(env, "manual-copy") == before, "nothing is written before the yes"
    page.get_by_role("button", name="Yes, ingest into manual-copy", exact=True).click()
    page.get_by_text("Replaced 1 document(s): faq.html:", exact=False).wait_for()
    settle(page)
    assert chunks_of(env, "manual-copy") > before


def test_a_set_made_for_other_files_is_refused_though_both_corpora_hold_a_faq_html(app_url, page):
    """The sample's golden set on the Valgrind manual (both hold a faq.html), and the manual's set on the sample:
    each refused by content, not drawn over the questions whose file names happen to match; a result shown for one
    collection is not shown after a switch to another."""
    page.goto(app_url)
    settle(page)
    choose(page, "Active collection", "valgrind")
    go(page, "Corpus")
    chart = page.locator("[data-testid='stPlotlyChart']")
    for wanted, refused in (("sample@v1 (", True), ("valgrind-faq@v1 (", False)):
        choose(page, "Golden set", wanted, starts=True)
        for _ in range(2):
            page.get_by_role("button", name="Evaluate retrieval").click()
            settle(page)
            if refused:
                page.get_by_text("faq.html (other content)", exact=False).first.wait_for()
                assert chart.count() == 0
            else:
                chart.first.wait_for()
    choose(page, "Active collection", "sample")
    assert chart.count() == 0, "the manual's scores are not shown as the sample's"
    choose(page, "Golden set", "valgrind-faq@v1 (", starts=True)
    page.get_by_role("button", name="Evaluate retrieval").click()
    page.get_by_text("made for another corpus", exact=False).first.wait_for()
    settle(page)
    assert chart.count() == 0


def test_a_refresh_and_a_second_tab_keep_the_collection_the_adapter_and_the_wizards_answers(app_url, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT)
    tab.goto(app_url)
    settle(tab)
    choose(tab, "Active collection", "valgrind")
    go(tab, "Models")
    choose(tab, "Adapter folder", "/tiny")
    tab.get_by_role("button", name="Load adapter", exact=True).click()
    tab.get_by_text("Adapter tiny loaded", exact=False).wait_for()
    settle(tab)
    go(tab, "Decide")
    tab.get_by_text("Yes", exact=True).click()
    settle(tab)
    second = context.new_page()
    second.set_default_timeout(TIMEOUT)
    for view in (tab, tab, second):  # F5 twice, then the same address in a second tab
        if view is second:
            second.goto(tab.url)
        else:
            view.reload()
        view.locator("[data-testid='stSidebarNav']").get_by_text("Decide", exact=True).wait_for()
        settle(view)
        view.locator("[data-testid='stSidebar']").get_by_text("Adapter: tiny", exact=True).wait_for()
        assert "valgrind" in active(view), active(view)
        expect(view.get_by_role("radio", name="Yes", exact=True)).to_be_checked()
    context.close()


def test_a_blind_question_is_not_the_run_results_and_decide_open_on_and_no_answer_is_not_no(app_url, page):
    """One blind-mode question, asked twice, is stored as runs; Results and Decide still open on the latest complete
    batch run and say so. With the wizard unanswered the headline follows the run; answered No and No, the guide's
    framework speaks."""
    page.goto(app_url)
    settle(page)
    go(page, "Compare")
    fill(page, "Max new tokens", 8)
    page.get_by_text("Blind mode", exact=False).click()
    settle(page)
    page.get_by_label("Question", exact=True).fill("How is the name Valgrind pronounced?")
    for _ in range(2):
        page.get_by_role("button", name="Ask").click()
        page.get_by_role("button", name="Vote for A").wait_for()
        settle(page)
    for name, label in (("Results", "Run"), ("Decide", "Run whose measurements are cited")):
        go(page, name)
        shown = chosen(page, label)
        assert "blind" not in shown and " - done - " in shown, shown
        page.get_by_text("the latest complete run", exact=False).first.wait_for()
    unstated = page.get_by_text("No need is stated in the wizard", exact=False)
    unstated.first.wait_for()
    for _ in range(2):
        for option in ("No", "No: a general improvement"):
            page.get_by_text(option, exact=True).click()
            settle(page)
    assert unstated.count() == 0, "No and No are answers"
    page.get_by_text("Prompt engineer first", exact=False).first.wait_for()


def hashes_of(env: dict, collection: str) -> dict:
    code = f"import json; from lab.index.store import Store; print(json.dumps(Store().source_hashes({collection!r})))"
    done = subprocess.run([sys.executable, "-c", code],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)


def test_the_update_demo_takes_an_edited_page_of_the_users_manual_and_undo_puts_the_original_back(
        app_url, lived_in, page, tmp_path):
    """The user's own update to a collection that shares file names with the sample: the manual's faq.html edited
    under its own name, with the question it changes. Twice: the demo asks before and after, Undo puts the original
    page back (its content hash as before), and an undone update offers no second Undo."""
    data, env = lived_in
    original = hashes_of(env, "valgrind")
    edited = tmp_path / "faq.html"
    edited.write_text((data / "valgrind" / "faq.html").read_text().replace("Heimdall", "Yggdrasil"))
    questions = tmp_path / "changed.jsonl"
    questions.write_text(json.dumps({"id": "name", "question": "What was Valgrind named before its release?",
                                     "answer": "Yggdrasil", "answer_before_update": "Heimdall",
                                     "sources": ["faq.html"]}) + "\n")
    page.goto(app_url)
    settle(page)
    choose(page, "Active collection", "valgrind")
    go(page, "Compare")
    fill(page, "Max new tokens", 8)
    page.get_by_role("tab", name="Knowledge update").click()
    settle(page)
    for label, upload in (("Your edited document", edited), ("Affected questions", questions)):
        page.locator("[data-testid='stFileUploader']", has_text=label).locator("input[type=file]").set_input_files(
            str(upload))
        settle(page)
    undo = page.get_by_role("button", name="Undo the update (faq.html in valgrind)")
    for _ in range(2):
        page.get_by_role("button", name="Add the update to valgrind and re-ask").click()
        undo.wait_for()  # offered once this run's update is in (the last run's result may still be on show)
        metric(page, "Re-index the update (measured now)", " s").wait_for()
        settle(page)
        assert hashes_of(env, "valgrind")["faq.html"] != original["faq.html"]
        undo.click()
        page.get_by_text("as it was before the demo", exact=False).wait_for()
        settle(page)
        assert hashes_of(env, "valgrind") == original
        assert undo.count() == 0, "an undone update offers no second Undo"


def sidebar_collections(page) -> list[str]:
    """The options of the sidebar's Active collection box."""
    box = page.get_by_text("Active collection", exact=True).locator("xpath=ancestor::*[@data-testid='stSelectbox']")
    open_until(page, box, page.get_by_role("option").first)
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def test_a_chunk_size_sweep_keeps_its_rebuilt_collections_out_of_the_sidebar(app_url, lived_in, page):
    """A sweep on the manual rebuilds it at another chunk size; the rebuilt copy belongs to the manual and is listed
    nowhere, before and after a refresh, while the store holds it."""
    _, env = lived_in
    page.goto(app_url)
    settle(page)
    choose(page, "Active collection", "valgrind")
    go(page, "Golden sets")
    before = sidebar_collections(page)
    fill(page, "Chunk sizes (tokens)", "128,256")
    page.get_by_role("button", name="Run the sweep").click()
    page.locator("[data-testid='stPlotlyChart']").first.wait_for()
    settle(page)
    for _ in range(2):
        assert sidebar_collections(page) == before
        page.reload()
        page.locator("[data-testid='stSidebarNav']").get_by_text("Decide", exact=True).wait_for()
        settle(page)
    code = "import json; from lab.index.store import Store; print(json.dumps(Store().names(sweeps=True)))"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=True)
    assert len(json.loads(done.stdout)) > len(before), "the sweep's copy is in the store, only not in the sidebar"


@pytest.mark.parametrize("name", PAGES)
def test_every_page_opens_from_a_deep_link_on_a_fresh_server(name, fresh_url, page):
    page.goto(f"{fresh_url}/{name}")
    page.locator("[data-testid='stSidebarNav']").get_by_text("Decide", exact=True).wait_for()
    settle(page)
    page.locator("h1").first.wait_for()


@pytest.fixture(scope="module")
def fresh_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("fresh")
    env = {**os.environ, "LAB_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    with streamlit_app(SERVED, env, data / "streamlit.log") as url:
        yield url
    log = (data / "streamlit.log").read_text()
    assert "Traceback" not in log, log[-4000:]
