"""The Models page: loads, lists adapters with their manifests, validates the training form and endpoint, builds
behaviour sets."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("show_error_details")]
REPO = Path(__file__).resolve().parent.parent



def page() -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / "models.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_loads_and_lists_adapters_with_their_manifest(lab_data_dir):
    folder = lab_data_dir / "adapters" / "listed"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "SmolLM2-135M-Instruct"}))
    (folder / "manifest.json").write_text(json.dumps({"base_model": "SmolLM2-135M-Instruct", "date": "2025-01-02",
                                                      "data_sha256": "ab" * 32, "hyperparameters": {"rank": 8}}))
    at = page()
    assert at.title[0].value == "Models"
    table = at.dataframe[0].value
    assert "listed" in list(table["adapter"]) and 8 in list(table["rank"])


def test_the_training_form_validates_its_inputs():
    at = page()
    at.radio(key="train_source").set_value("Upload JSONL")
    submit = [b for b in at.button if b.label == "Start training"][0]
    submit.click().run()
    assert "Choose a JSONL file" in at.error[0].value
    at.text_input(key="train_name").set_value("bad name!")
    submit = [b for b in at.button if b.label == "Start training"][0]
    submit.click().run()
    assert "Adapter name" in at.error[0].value
    at.text_input(key="train_name").set_value("ok")
    at.text_input(key="train_targets").set_value(" , ")
    submit = [b for b in at.button if b.label == "Start training"][0]
    submit.click().run()
    assert "LoraTrainConfig.targets" in at.error[0].value
    assert "train_job" not in at.session_state


def test_the_endpoint_form_reports_a_missing_key_variable(monkeypatch):
    monkeypatch.delenv("LAB_PAGE_NO_KEY", raising=False)
    monkeypatch.setenv("LAB_ENDPOINT_KEYS", "LAB_PAGE_NO_KEY=127.0.0.1:9")
    at = page()
    at.radio(key="model_kind").set_value("OpenAI-compatible endpoint").run()
    at.text_input(key="endpoint_url").set_value("http://127.0.0.1:9/v1")
    at.text_input(key="endpoint_model").set_value("m")
    at.selectbox(key="endpoint_key_env").set_value("LAB_PAGE_NO_KEY")
    at.button(key="use_endpoint").click().run()
    assert "LAB_PAGE_NO_KEY is not set" in at.error[0].value


def test_build_a_behaviour_set_twice_then_a_bad_schema_keeps_the_saved_set(fake_app):
    """The behaviour-set builder: a golden set's questions in the user's format, shown, saved all at once, offered
    to the training form; a bad schema says what is wrong and leaves the last saved set as it was."""
    from lab.config import data_dir

    at = page()
    sample = next(o for o in at.selectbox(key="bh_golden").options if o.startswith("sample@"))
    at.selectbox(key="bh_golden").set_value(sample)
    at.text_input(key="bh_name").set_value("json-answers")
    for _ in range(2):  # building again under the same name replaces the set
        at.button(key="bh_build").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert "Saved" in at.success[0].value and "of which" in at.success[0].value
    folder = data_dir() / "finetune" / "json-answers"
    rows = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    assert {"prompt", "completion"} <= set(rows[0])
    own = [r for r in rows if r["completion"].startswith("{")]
    assert own and set(json.loads(own[0]["completion"])) == {"answer", "sources", "confidence"}
    assert len(rows) + sum(1 for _ in (folder / "validation.jsonl").open()) + sum(1 for _ in (folder / "test.jsonl").open()) \
        > 81, "81 golden questions plus the general examples mixed into training"
    assert "Built: json-answers" in at.radio(key="train_source").options
    before = (folder / "train.jsonl").read_bytes()

    at.text_area(key="bh_schema").set_value('{"properties": {"answer": {}}').run()  # a brace short
    at.button(key="bh_build").click().run()
    assert "not valid JSON (line 1" in at.error[0].value
    assert (folder / "train.jsonl").read_bytes() == before
    assert not list(folder.parent.glob("*.partial"))
