"""The Models page's behaviour-set builder: a golden set's questions in the user's format, shown, saved all at once,
offered to the training form; a bad schema says what is wrong and leaves the last saved set as it was."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.config import data_dir

pytestmark = pytest.mark.usefixtures("show_error_details")
REPO = Path(__file__).resolve().parent.parent


def page() -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / "models.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_build_a_behaviour_set_twice_then_a_bad_schema_keeps_the_saved_set(fake_app):
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
