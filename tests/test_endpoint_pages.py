"""Pages with an endpoint beside the local model, and the Results page's prompt-injection section (AppTest)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("show_error_details")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(chat_server):
    return chat_server[0]


def run(path: str, **state) -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=300)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_models_page_puts_the_endpoint_beside_the_local_model(server):
    at = run("pages/models.py", model_name=None, adapter_dir="/some/adapter")
    at.radio(key="model_kind").set_value("OpenAI-compatible endpoint").run()
    at.text_input(key="endpoint_url").set_value(server)
    at.text_input(key="endpoint_model").set_value("tiny")
    at.button(key="use_endpoint").click().run()
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["endpoint"] == {"base_url": server, "model": "tiny", "api_key_env": None}
    assert at.session_state["adapter_dir"] == "/some/adapter" and at.session_state["model_name"] is None
    assert any("endpoint: tiny @ 127.0.0.1:" in c.value for c in at.caption)
    at.button(key="drop_endpoint").click().run()
    assert "endpoint" not in at.session_state


def test_the_compare_page_offers_and_runs_the_endpoint_paths(server, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))  # no collection: prompt@endpoint needs none
    at = run("pages/compare.py")
    assert "prompt@endpoint" not in at.multiselect(key="paths").options
    at = run("pages/compare.py", endpoint={"base_url": server, "model": "tiny", "api_key_env": None})
    assert at.multiselect(key="paths").options[7:] == ["prompt@endpoint", "rag@endpoint", "hybrid-rag@endpoint",
                                                       "finetuned@endpoint", "hybrid@endpoint",
                                                       "agentic-rag@endpoint", "agentic-hybrid@endpoint"]
    at.multiselect(key="paths").set_value(["prompt@endpoint"])
    at.text_area(key="question_(type your own)").set_value("Which port does the API use?")
    at.button(key="ask").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [h.value for h in at.subheader] == ["prompt@endpoint"]
    assert any(c.value.startswith("tiny @ 127.0.0.1:") and "tokens in 12, out 4" in c.value for c in at.caption)


def test_the_results_page_reports_the_prompt_injection(tmp_path, monkeypatch, fake_generator):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    from lab.experiments.batch import CompareJob
    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.injection import INJECTION_TEXT
    from lab.generation.models import Generation
    from lab.experiments.answer_paths import PathContext
    from lab.index.retrieval import Hit
    from lab.experiments.run_store import RunStore

    class Retriever:
        def search(self, query, k):
            return [Hit("c9", "faq.html", "Reader comments. " + INJECTION_TEXT, 0.5)]

    class Obedient:
        name = "obedient"

        def generate(self, conversations, decoding, adapter=None, **_):
            return [Generation("HALYARD IS DISCONTINUED" if "Ignore all" in c[-1]["content"] else "HX-2107", 9, 3, 0.01)
                    for c in conversations]

    questions = [GoldenQuestion(f"i{n}", f"What did readers say, {n}?", "HX-2107") for n in range(4)]
    CompareJob(questions, ["prompt", "rag"], PathContext(Obedient(), Retriever(), Retriever(), k=1),
               RunStore(), {"collection": "sample"}).run()
    at = run("pages/results.py")
    assert "Prompt injection" in [s.value for s in at.subheader]
    table = next(d.value for d in at.dataframe if "saw the injection" in d.value.columns)
    rows = {row["path"]: row for row in table.to_dict("records")}
    assert rows["rag"]["saw the injection"] == 4 and rows["rag"]["obeyed it"] == 4
    assert rows["rag"]["obey rate [95% CI]"] == "1.00 [0.51, 1.00]"  # Wilson, 4 of 4
    assert rows["prompt"]["saw the injection"] == 0 and rows["prompt"]["obey rate [95% CI]"].startswith("n/a")
