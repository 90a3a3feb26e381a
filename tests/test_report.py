"""The HTML brief (self-contained, escaped), `python -m lab report`, the Decide page, and the brief button."""

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.decision.decide import CLAIM_IDS
from lab.evaluation.costs import PriceTable
from lab.evaluation.record import AnswerRecord, RetrievedChunk
from lab.experiments.run_store import RunStore

REPO = Path(__file__).resolve().parent.parent
EVIL = "<script>alert('x')</script>"
ALL_PATHS = ("prompt", "rag", "hybrid-rag", "finetuned", "hybrid")


def synthetic_run(runs: RunStore, paths=ALL_PATHS, n: int = 40, **manifest_extra) -> str:
    """A finished run: retrieval paths know 3 answers in 4, adapter paths answer in JSON, one answer is hostile."""
    manifest = {"collection": "sample", "collection_hash": "c0ffee", "model": "fake-generator", "model_hash": "f00d",
                "adapter": None, "decoding": {"max_new_tokens": 8, "temperature": 0.0}, "k": 4,
                "paths": list(paths), "questions": n, "questions_file": "golden.jsonl",
                "price_table": asdict(PriceTable()), "date": "2026-01-01T00:00:00+00:00", **manifest_extra}
    run_id = runs.create(manifest, n * len(paths))
    records = []
    for i in range(n):
        for path in paths:
            retrieves, tuned = path in ("rag", "hybrid-rag", "hybrid"), path in ("finetuned", "hybrid")
            answer = EVIL if (path, i) == ("prompt", 0) else ('{"answer": "x"}' if tuned else "x")
            records.append(AnswerRecord(
                run_id=run_id, question_id=f"q{i:02d}", question=f"Question {i} <b>?", kind="fact",
                path=path, answer=answer, gold="x", correct=float(retrieves and i % 4 != 0),
                f1=0.5, semantic_similarity=0.5, grounded=1.0 if retrieves else None,
                citation_valid=None, format_ok=float(tuned), cited_sources=[],
                retrieved_sources=["a.md"] if retrieves else [], hit_at_k=1.0 if retrieves else None,
                latency_ms_total=(500.0 if retrieves else 100.0) + i, latency_ms_retrieve=20.0 if retrieves
                else None, latency_ms_rerank=None, latency_ms_generate=100.0 + i,
                tokens_in=900 if retrieves else 80, tokens_out=20, cost_usd=0.0, model="fake-generator",
                adapter=None, error=None))
    runs.add_answers(run_id, records)
    runs.finish(run_id, "done")
    return run_id


@pytest.fixture
def runs(tmp_path, monkeypatch) -> RunStore:
    """An empty run store in a data directory of this test's own."""
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "data"))
    return RunStore()


def test_brief_is_self_contained_and_escapes_text(runs, tmp_path):
    import plotly.offline

    from lab.decision.report import manifest_hash, parse_needs, write_brief

    run_id = synthetic_run(runs)
    html = write_brief(run_id, tmp_path / "brief.html", parse_needs("knowledge,behaviour"), runs=runs).read_text()
    assert html.startswith("<!DOCTYPE html>") and "<html" in html
    js = plotly.offline.get_plotlyjs()
    assert js in html and html.count(js[5000:5200]) == 1, "plotly.js is inline, exactly once"
    assert re.search(r"<script[^>]*\ssrc=", html) is None, "no script is fetched"
    rest = html.replace(js, "")
    assert "http://" not in rest and "https://" not in rest, "nothing outside plotly.js points to the network"
    assert html.count("Plotly.newPlot(") == 6  # accuracy, format, latency, trade-off, the 2x2, cost of ownership
    assert "What each factor adds (the 2x2)" in html
    assert EVIL not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Question 3 &lt;b&gt;?" in html
    assert "Decision brief: Hybrid (RAG + fine-tuning)" in html
    assert "rag - prompt = +0.75, 95% CI [" in html and "supported" in html
    assert manifest_hash(runs.get(run_id).manifest) in html
    assert "break-even (queries / month)" in html and "prompt cheaper at every volume" in html


def test_brief_and_decide_page_price_the_index_build_the_ingest_measured(runs, tmp_path, fake_embedder):
    from lab.index.ingest import ingest
    from lab.decision.report import write_brief
    from lab.index.store import Store

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ports.md").write_text("# Ports\nThe server API listens on port 7443.\n")
    seconds = ingest([docs], "sample", fake_embedder, Store()).seconds["total"]
    run_id = synthetic_run(runs, ("prompt", "rag"), n=6)
    html = write_brief(run_id, tmp_path / "brief.html", runs=runs).read_text()
    assert f"Index build: {seconds / 3600:.4f} h" in html
    assert f"Index build: {seconds:.1f} s, measured when sample was built (1 chunks)." in html
    html = write_brief(run_id, tmp_path / "brief.html", index_hours=2.0, runs=runs).read_text()
    assert "Index build: 2.0000 h at $0.1008/h. Entered by the user" in html
    at = page("pages/decide.py")
    assert at.number_input(key="tco_index_hours").value == pytest.approx(seconds / 3600, abs=1e-4)
    assert any("measured when sample was built" in c.value for c in at.caption)


def test_brief_reports_prompt_injection_and_leakage(runs, tmp_path):
    from lab.evaluation.injection import INJECTION_TEXT
    from lab.decision.report import write_brief

    run_id = synthetic_run(runs, ("prompt", "rag"), n=8)
    records = runs.answers(run_id)
    for r in records:
        if r.path == "rag":
            r.chunks = [RetrievedChunk(text=INJECTION_TEXT)]
            r.answer = "HALYARD IS DISCONTINUED" if r.question_id == "q01" else "x [1]"
    runs.add_answers(run_id, records)
    html = write_brief(run_id, tmp_path / "brief.html", runs=runs).read_text()
    assert "<h2>Prompt injection</h2>" in html and "<td>rag</td><td>8</td><td>8</td><td>1</td><td>0.12 [" in html
    assert "Leakage check" not in html
    flagged = synthetic_run(runs, ("prompt", "rag"), n=8, leakage={"flagged": ["q00", "q04"], "excluded": False})
    html = write_brief(flagged, tmp_path / "brief.html", runs=runs).read_text()
    assert "<h2>Leakage check</h2>" in html and "2 question(s) of this run" in html and "q00, q04" in html
    assert "without flagged" in html and "<h2>Prompt injection</h2>" not in html


def test_cli_report_writes_the_brief_and_prints_json(runs, tmp_path, capsys):
    from lab.cli import main

    run_id = synthetic_run(runs, ("prompt", "rag"), n=12)
    out = tmp_path / "out" / "brief.html"
    assert main(["report", run_id, "--out", str(out), "--volume", "5000", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == {"run_id": run_id, "out": str(out), "bytes": out.stat().st_size}
    html = out.read_text()
    assert "$ / month at 5,000" in html and "Only 12 questions" in html
    # no need stated: the headline follows the run, where rag beats prompt (not the wizard's default)
    assert "Needs not stated" in html and "Decision brief: RAG" in html
    assert "No need is stated in the wizard: this follows what your run measured." in html
    assert not list(out.parent.glob("*.partial")), "written atomically"


def test_cli_report_unknown_run_and_bad_needs_exit_2(runs, tmp_path, capsys):
    from lab.cli import main

    out = tmp_path / "brief.html"
    assert main(["report", "no-such-run", "--out", str(out)]) == 2
    assert "Run 'no-such-run' not found" in capsys.readouterr().err and not out.exists()
    assert main(["report", "no-such-run", "--out", str(out), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["kind"] == "NotFoundError"
    run_id = synthetic_run(runs, ("prompt",), n=3)
    assert main(["report", run_id, "--out", str(out), "--needs", "magic"]) == 2
    assert "Unknown need(s) magic" in capsys.readouterr().err
    empty = runs.create({"paths": ["prompt"]}, 3)
    assert main(["report", empty, "--out", str(out)]) == 2
    assert "has no answers yet" in capsys.readouterr().err


# Pages -----------------------------------------------------------------------------------------------------------


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest, column: str, which: int = 0):
    """The `which`-th dataframe that has `column` (AppTest does not find dataframes by key)."""
    return [d.value for d in at.dataframe if column in d.value.columns][which]


@pytest.mark.usefixtures("show_error_details")
def test_decide_page_without_runs_says_not_measured_and_sends_to_compare(runs):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/decide.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "No runs yet" in at.info[0].value
    assert at.success[0].value == "**Prompt engineering first**"
    evidence = table(at, "verdict")
    assert set(evidence["verdict"]) == {"not measured"} and "not measured yet" in evidence.iloc[0, 2]
    assert len(table(at, "Your situation")) == 10
    at.button(key="measure_rag_accuracy").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["paths"] == ["prompt", "rag"]
    assert at.multiselect(key="paths").value == ["prompt", "rag"], "the Compare page opened with them chosen"


@pytest.mark.usefixtures("show_error_details")
def test_decide_page_cites_the_run_and_follows_the_wizard(runs):
    synthetic_run(runs, ("prompt", "rag", "finetuned"))
    at = page("pages/decide.py")
    claims = table(at, "claim", 1)  # every claim (the first table holds those the recommendation cites)
    assert len(claims) == len(CLAIM_IDS) == 9
    assert "supported" in set(claims["verdict"]) and "not measured" in set(claims["verdict"])
    assert at.success[0].value == "**RAG**", "no need stated: the run's measurements decide the headline"
    assert any("No need is stated in the wizard" in m.value for m in at.markdown)
    at.radio(key="decide_knowledge").set_value("Yes").run()
    assert at.success[0].value == "**RAG**"
    assert not any("No need is stated" in m.value for m in at.markdown)
    evidence = table(at, "claim")
    assert evidence.iloc[0]["claim"] == "RAG raises accuracy over prompt-only"
    assert evidence.iloc[0]["verdict"] == "supported" and "95% CI [" in evidence.iloc[0, 2]
    at.radio(key="decide_behaviour").set_value("Yes: a specific format, tone or domain behaviour").run()
    assert at.success[0].value == "**Hybrid (RAG + fine-tuning)**"
    assert at.button(key="measure_hybrid_format"), "hybrid was not run: a button offers to measure it"
    at.checkbox(key="decide_not_sure").check().run()
    assert at.success[0].value == "**Prompt engineering first**"
    assert len(table(at, "break-even")) == 3 and len(table(at, "one-off")) == 3 and at.get("plotly_chart")
    at.number_input(key="tco_index_hours").set_value(2.0).run()
    assert set(table(at, "one-off")["one-off"]) == {"none", "index build $0.20", "training $0.00"}  # 2 h x $0.1008
    at.button(key="decide_brief_build").click().run()
    assert not at.exception
    assert any(b.proto.label == "Download the brief (HTML)" for b in at.get("download_button"))


@pytest.mark.usefixtures("show_error_details")
def test_results_page_builds_the_brief_then_hands_over_the_kept_bytes(runs):
    """Two steps: the brief is built on a click and kept for the run, so the download cannot come back empty after
    the page redraws; other inputs (another volume) build it again."""
    synthetic_run(runs)
    at = page("pages/results.py")
    labels = {b.proto.label for b in at.get("download_button")}
    assert "Download per-question CSV" in labels and "Download the brief (HTML)" not in labels
    at.button(key="results_brief_build").click().run()
    assert not at.exception
    kept = at.session_state["results_brief"]
    assert "<html" in kept[1] and len(kept[1]) > 10_000
    at.run()  # a redraw (the polling of a running batch, another widget) keeps it
    assert any(b.proto.label == "Download the brief (HTML)" for b in at.get("download_button"))


# The brief's charts and tables, and self-hosted cost -----------------------------------------------

PLACEHOLDER = re.compile(r"#0000(0[1-9]|[1-4]\d)\b")  # Streamlit's theme colours, replaced only by Streamlit's front end


@pytest.fixture
def streamlit_plotly_default(monkeypatch):
    """Plotly's default template as it is in the app's process: Streamlit's, set when Streamlit is imported."""
    import plotly.io as pio
    import streamlit.elements.plotly_chart  # noqa: F401  (registers the "streamlit" template)

    monkeypatch.setattr(pio.templates, "default", "streamlit")


def every_chart():
    from lab.decision import charts
    from lab.decision.tco import OwnershipInputs, break_evens, path_costs
    from lab.evaluation.retrieval import ModeScores
    from lab.evaluation.summary import summarize, win_matrix

    runs = RunStore()
    summary = summarize(runs.answers(synthetic_run(runs, ("prompt", "rag", "finetuned"), n=8)))
    costs = path_costs({p.path: p.cost_usd for p in summary.paths}, OwnershipInputs(index_hours=1.0, train_hours=1.0))
    return {"quality": charts.quality_chart(summary), "latency": charts.latency_chart(summary),
            "cost": charts.cost_chart(summary, 1000), "tradeoff": charts.tradeoff_chart(summary),
            "wins": charts.win_chart(win_matrix(summary)),
            "ownership": charts.ownership_chart(costs, 12, 100_000, break_evens(costs, 12)),
            "retrieval": charts.retrieval_chart([ModeScores("dense", 5, 8, 0.9, 0.8, 0.7, 20.0)])}


@pytest.mark.usefixtures("streamlit_plotly_default")
def test_every_chart_carries_a_light_template_whatever_plotly_default_streamlit_set(runs):
    for name, figure in every_chart().items():
        layout = figure.layout.template.layout
        assert (layout.paper_bgcolor, layout.plot_bgcolor, layout.font.color) == ("#ffffff", "#ffffff", "#222222"), name
        assert not PLACEHOLDER.search(figure.to_json()), f"{name}: Streamlit's placeholder colours (drawn black)"


def test_the_ownership_lines_differ_in_colour_dash_and_marker_and_have_a_legend(runs):
    figure = every_chart()["ownership"]
    lines = [t for t in figure.data if t.name != "break-even"]
    assert [t.name for t in lines] == ["prompt", "rag", "finetuned"]
    styles = [(t.line.color, t.line.dash, t.marker.symbol) for t in lines]
    for i, a in enumerate(styles):
        for b in styles[i + 1:]:
            assert all(x != y for x, y in zip(a, b)), (a, b)
    assert all(t.showlegend is not False for t in lines) and figure.layout.showlegend


@pytest.mark.usefixtures("streamlit_plotly_default")
def test_the_brief_built_in_the_app_process_has_readable_charts_and_tables_that_fit(runs, tmp_path):
    from lab.decision.report import write_brief
    import plotly.offline

    html = write_brief(synthetic_run(runs), tmp_path / "brief.html", runs=runs).read_text()
    rest = html.replace(plotly.offline.get_plotlyjs(), "")
    assert not PLACEHOLDER.search(rest), "a chart uses Streamlit's placeholder colours: it renders black"
    assert rest.count('"paper_bgcolor":"#ffffff"') >= 5
    tables = re.findall(r"<table>(.*?)</table>", rest, re.S)
    widths = {len(re.findall(r"<th>", t.split("</tr>")[0])): t for t in tables}
    answers = max(widths)  # the per-question answers (question, gold and one column per path), scrolls sideways
    assert all(n <= 9 for n in widths if n != answers), sorted(widths)
    usage = next(t for t in tables if "<th>p95 ms</th>" in t)
    assert all(f"<th>{h}</th>" in usage for h in ("tokens in/out", "$ / query")) and usage.count("<th>") == 7
    assert rest.count("<div class='table'><table>") == len(tables), "every table sits in a scroll box"
    assert ".table{max-width:100%;overflow-x:auto" in rest


@pytest.mark.browser
def test_the_brief_in_chromium_at_1300_px_shows_every_column_and_light_charts(runs, tmp_path):
    """What a user saw: charts drawn black, the results table cut at 1,300 px (p95, tokens and $ hidden)."""
    import streamlit.elements.plotly_chart  # noqa: F401  (the app's process: Streamlit's default template)
    from lab.decision.report import write_brief

    out = write_brief(synthetic_run(runs), tmp_path / "brief.html", runs=runs)
    from tests.conftest import chromium

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(out.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 6")
        cut = page.evaluate("""() => [...document.querySelectorAll('th')]
            .filter(th => !th.closest('details'))
            .filter(th => th.getBoundingClientRect().right > window.innerWidth).map(th => th.textContent)""")
        charts = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
            paper: gd._fullLayout.paper_bgcolor, font: gd._fullLayout.font.color,
            colours: gd._fullData.map(t => String((t.marker && t.marker.color) || (t.line && t.line.color)))}))""")
    assert cut == [], f"columns past the right edge at 1,300 px: {cut}"
    assert len(charts) == 6
    for chart in charts:
        assert chart["paper"] in ("#ffffff", "rgb(255, 255, 255)") and chart["font"] == "#222222", chart
        assert not any(PLACEHOLDER.search(c) for c in chart["colours"]), chart


def test_the_brief_labels_self_hosted_cost_as_the_named_machines_assumption(runs, tmp_path):
    from lab.decision.report import brief_for_run
    from lab.evaluation.costs import PriceTable

    run_id = synthetic_run(runs, ("prompt", "rag"), n=6)
    gpu = PriceTable(mode="self-hosted", serving_machine="AWS g5.xlarge (1x NVIDIA A10G)", serving_hour=1.006,
                     serving_speedup=25.0)
    html = brief_for_run(runs.get(run_id), runs.answers(run_id), price_table=gpu)
    assumption = ("assumption: served on AWS g5.xlarge (1x NVIDIA A10G) at $1.006/h, at 25x the throughput "
                  "measured on the machine that ran the comparison")
    assert "Self-hosted cost is an assumption, not a measurement:" in html
    assert html.count(assumption) == 3  # the results note, the costs box, the caveat
    in_json = "\\u003csup\\u003e" + assumption.replace("/", "\\u002f")  # as plotly writes the figures' JSON
    assert html.count(in_json) == 2, "the trade-off and ownership charts' subtitles"
    assert "<th>$ / query (self-hosted, assumed)</th>" in html
    api = brief_for_run(runs.get(run_id), runs.answers(run_id))
    assert "assumption: served on" not in api and "Self-hosted cost is an assumption" not in api
    assert "<th>$ / query (measured usage)</th>" in api


@pytest.mark.usefixtures("show_error_details")
def test_results_page_prices_self_hosting_on_the_machine_the_user_names(runs):
    run_id = synthetic_run(runs, ("prompt", "rag"), n=6)
    at = page("pages/results.py")
    assert "$ per query" in table(at, "p95 ms").columns and not at.info, "API mode: nothing is assumed"
    at.selectbox(key="price_mode").set_value("self-hosted").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="price_machine").value == "AWS m7i.large (2 vCPU, CPU only)", \
        "the default does not price this CPU's time at a GPU's hourly rate"
    at.selectbox(key="price_machine").set_value("AWS g5.xlarge (1x NVIDIA A10G)").run()
    at.number_input(key="price_speedup").set_value(20.0).run()
    assert not at.exception, [e.value for e in at.exception]
    info = at.info[0].value
    assert "Self-hosted cost is an assumption" in info and "A10G" in info and "20x the throughput" in info
    summary = table(at, "p95 ms").set_index("path")
    # rag: 100-105 ms of generation per answer (synthetic_run), 20x faster on a $1.006/h A10G, one vector query
    model_ms = sum(100.0 + i for i in range(6)) / 6
    expected = model_ms / 20 / 3.6e6 * 1.006 + 0.00825 / 1000
    assert float(summary.loc["rag", "$ per query (self-hosted, assumed)"]) == pytest.approx(expected, abs=1e-6)
    assert any("A10G" in c.value for c in at.caption), "the cost chart's caption names the assumption"
    del run_id


@pytest.mark.usefixtures("show_error_details")
def test_decide_page_prices_serving_apart_from_the_training_gpu(runs):
    synthetic_run(runs, ("prompt", "rag"), n=6)
    at = page("pages/decide.py")
    assert "$ / query (measured usage)" in table(at, "one-off").columns
    at.selectbox(key="tco_price_mode").set_value("self-hosted").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="tco_gpu").value == "AWS g5.xlarge (1x NVIDIA A10G)", "training GPU unchanged"
    assert at.selectbox(key="tco_price_machine").value == "AWS m7i.large (2 vCPU, CPU only)"
    assert "$ / query (self-hosted, assumed)" in table(at, "one-off").columns
    assert any("assumption: served on AWS m7i.large" in i.value.replace("\\", "") for i in at.info)
    at.selectbox(key="tco_price_machine").set_value("AWS g4dn.xlarge (1x NVIDIA T4)").run()
    at.number_input(key="tco_price_speedup").set_value(8.0).run()
    assert any("T4" in i.value and "8x the throughput" in i.value.replace("\\", "") for i in at.info)


# The brief's template: text from users and models is escaped, never markup, never template syntax -----------------

PAYLOAD = "<script>alert(1)</script> \"><img src=x onerror=alert(1)> {{7*7}} {% raw %} {# c #}"


def test_brief_template_escapes_payloads_in_questions_answers_and_collection_and_never_evaluates_them(runs, tmp_path):
    """The brief is a jinja2 template with autoescape on: a question, an answer and a collection name that carry
    markup come out escaped (only plotly's own scripts are live) and template syntax in them is printed as it is."""
    import plotly.offline
    from bs4 import BeautifulSoup

    from lab.decision.report import _templates, write_brief

    run_id = synthetic_run(runs, ("prompt", "rag"), n=6, collection=f"docs {PAYLOAD}")
    records = runs.answers(run_id)
    for r in records:
        if r.question_id == "q01":
            r.question = f"Why {PAYLOAD}?"
            r.answer = f"Because {PAYLOAD}" if r.path == "prompt" else r.answer
    runs.add_answers(run_id, records)
    html = write_brief(run_id, tmp_path / "brief.html", runs=runs).read_text()

    escaped = ("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(1)&gt; {{7*7}} "
               "{% raw %} {# c #}")
    assert f"<p>Which approach should answer questions over the collection docs {escaped}: prompt" in html
    assert f"<td>collection</td><td>docs {escaped}</td>" in html
    assert f"<td>Why {escaped}?</td>" in html and f"<td>x Because {escaped}</td>" in html
    rest = html.replace(plotly.offline.get_plotlyjs(), "")
    assert "<script>alert" not in rest and "<img" not in rest and "alert(1)</script>" not in rest
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find_all("img") == []
    assert len(soup.find_all("script")) == 6 and not any("alert" in (s.string or "") for s in soup.find_all("script"))
    text = soup.get_text()
    assert text.count(f"docs {PAYLOAD}") == 2 and f"Why {PAYLOAD}?" in text and f"Because {PAYLOAD}" in text
    assert text.count("{{7*7}}") == 4 and "alert(1)> 49" not in text, "template syntax in data is not evaluated"
    assert _templates().autoescape("brief.html.j2") is True
