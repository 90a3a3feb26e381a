"""Golden-set saves are serialised: 4 processes adding 10 questions each to one set end with a latest version that
holds all 40, and every reported save is a version of its own (none overwritten)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WRITER = """
import json, sys
from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.golden_store import GoldenStore
from lab.experiments.golden_sets import add_questions

me = sys.argv[1]
saved = []
for i in range(10):
    q = GoldenQuestion(f"{me}-{i}", f"Question {i} of writer {me}?", "an answer")
    saved.append(add_questions(GoldenStore(), None, "shared", [q], None, f"writer {me}").version)
print(json.dumps(saved))
"""


def test_four_writers_lose_no_save(tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(w)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(4)]
    versions = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        versions += json.loads(out)
    assert sorted(versions) == list(range(1, 41))  # every reported save is its own version
    from lab.evaluation.golden_store import GoldenStore

    latest = GoldenStore(tmp_path / "golden").get("shared")
    assert latest.version == 40 and len(latest.questions) == 40


def test_a_damaged_set_hides_only_itself_and_damaged_drafts_are_one_message(tmp_path, monkeypatch):
    import pytest

    from lab.errors import LabError
    from lab.evaluation.drafting import load_drafts
    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.golden_store import GoldenStore

    golden = GoldenStore(tmp_path / "golden")
    for name in ("good", "bad"):
        golden.save(name, [GoldenQuestion("q1", "Which port?", "7443")])
    (tmp_path / "golden" / "bad" / "meta.json").write_text("{garbled")
    assert [i.name for i in golden.list() if not i.builtin] == ["good"]
    assert "meta.json is damaged" in golden.damaged()["bad"] and "golden restore bad" in golden.damaged()["bad"]
    with pytest.raises(LabError, match="is damaged"):
        golden.get("bad")
    (tmp_path / "drafts.jsonl").write_bytes(b"\xff\xfe{broken")
    with pytest.raises(LabError, match="draft again"):
        load_drafts(tmp_path / "drafts.jsonl")


@pytest.mark.parametrize("damage", ["garbage", "no-versions", "a-list-of-numbers", "wrong-keys", "deleted"])
def test_a_damaged_set_is_restored_with_every_version_and_its_collection(tmp_path, damage, capsys, monkeypatch):
    """Three versions (an import, two additions), meta.json damaged in five ways: `golden restore` puts back every
    version with its count, hash, note and collection, keeps the damaged file, and the set reads as before."""
    import json

    from lab import cli
    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.golden_store import GoldenStore

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    golden = GoldenStore()
    questions = [GoldenQuestion(f"q{i}", f"Question {i}?", f"answer {i}") for i in range(1, 4)]
    for n, note in ((1, "imported from q.csv"), (2, "added q2"), (3, "added q3")):
        golden.save("mine", questions[:n], collection="manuals", fingerprint="f" * 16, note=note)
    before = golden.info("mine")
    meta = tmp_path / "golden" / "mine" / "meta.json"
    {"garbage": lambda: meta.write_bytes(b"\xff{garbled"), "no-versions": lambda: meta.write_text('{"name": "mine"}'),
     "a-list-of-numbers": lambda: meta.write_text('{"versions": [1, 2]}'),
     "wrong-keys": lambda: meta.write_text('{"versions": [{"v": 1}]}'), "deleted": lambda: meta.write_text("")}[damage]()
    assert cli.main(["golden", "show", "mine", "--json"]) == 2
    refused = json.loads(capsys.readouterr().out)
    assert refused["kind"] == "DamagedStore" and "golden restore mine" in refused["error"], refused
    assert cli.main(["golden", "restore", "mine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["versions"] == [json.loads(json.dumps(v.__dict__))
                                                               for v in before.versions]
    assert golden.info("mine") == before and golden.get("mine", 2).questions == questions[:2]
    assert [p.name.split("-")[0] for p in meta.parent.glob("meta.json.damaged-*")] == ["meta.json.damaged"]


def test_a_damaged_training_examples_file_is_one_message(tmp_path):
    import pytest

    from lab.errors import InputError
    from lab.experiments.leakage import adapter_training_texts

    (tmp_path / "training_examples.jsonl").write_bytes(b'{"prompt": "a"\n\x00\xff')
    with pytest.raises(InputError, match="training_examples.jsonl is damaged.*--training-data"):
        adapter_training_texts(tmp_path)


@pytest.mark.usefixtures("show_error_details")
def test_the_golden_sets_page_restores_a_damaged_set(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from lab.evaluation.golden import GoldenQuestion
    from lab.evaluation.golden_store import GoldenStore

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    golden = GoldenStore()
    for n in (1, 2):
        golden.save("mine", [GoldenQuestion(f"q{i}", f"Question {i}?", "a") for i in range(n)], collection="manuals")
    (tmp_path / "golden" / "mine" / "meta.json").write_text("{garbled")
    at = AppTest.from_file(str(REPO / "pages" / "golden.py"), default_timeout=120)
    at.run()
    assert not at.exception and any("golden restore mine" in w.value.replace("\\", "") for w in at.warning)
    at.button(key="golden_restore_mine").click().run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert any("restored 2 version(s)" in s.value for s in at.success)
    assert golden.info("mine").latest.questions == 2 and golden.info("mine").collection == "manuals"
