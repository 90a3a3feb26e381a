"""A dry run before a batch: tokens, cost, time per path and the detectable difference; nothing is stored."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.server
def test_compare_dry_run_estimates_and_stores_nothing(chat_server, tmp_path, monkeypatch, capsys):
    from lab import cli
    from lab.experiments.run_store import RunStore

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"id": f"q{i}", "question": f"Which port, case {i}?", "answer": "7443"})
                                 + "\n" for i in range(10)))
    code = cli.main(["compare", "--questions", str(questions), "--paths", "prompt@endpoint", "--endpoint-url",
                     chat_server[0], "--endpoint-model", "tiny", "--collection", "none-here", "--out",
                     str(tmp_path / "r.csv"), "--dry-run", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["dry_run"] and document["questions"] == 10
    path = document["paths"][0]
    assert path["path"] == "prompt@endpoint" and path["answers"] == 10 and path["sampled"] == 3
    assert path["tokens_in"] > 0 and path["estimated_tokens"] and path["tokens_out"] == 40  # 4 a answer, measured
    assert 0.5 < document["detectable_difference"] < 1  # 10 questions cannot tell small differences apart
    assert RunStore().list() == [] and not (tmp_path / "r.csv").exists()


@pytest.mark.slow
@pytest.mark.usefixtures("show_error_details")
def test_the_compare_page_estimates_before_a_batch(fake_app):
    at = AppTest.from_file(str(REPO / "pages" / "compare.py"), default_timeout=120)
    at.session_state["collection"] = fake_app
    at.run()
    at.multiselect(key="paths").set_value(["prompt", "rag"]).run()
    at.button(key="batch_dry_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = [d.value for d in at.dataframe if "completion tokens" in d.value.columns][0]
    assert list(table["path"]) == ["prompt", "rag"] and all(table["answers"] > 0)
    assert any("detects a difference in accuracy" in c.value for c in at.caption)
