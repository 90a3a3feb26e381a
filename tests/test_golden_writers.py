"""Golden-set saves are serialised: 4 processes adding 10 questions each to one set end with a latest version that
holds all 40, and every reported save is a version of its own (none overwritten)."""

import json
import os
import subprocess
import sys
from pathlib import Path

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
    assert "meta.json is damaged" in golden.damaged()[0] and "Move the folder" in golden.damaged()[0]
    with pytest.raises(LabError, match="is damaged"):
        golden.get("bad")
    (tmp_path / "drafts.jsonl").write_bytes(b"\xff\xfe{broken")
    with pytest.raises(LabError, match="draft again"):
        load_drafts(tmp_path / "drafts.jsonl")


def test_a_damaged_training_examples_file_is_one_message(tmp_path):
    import pytest

    from lab.errors import InputError
    from lab.experiments.leakage import adapter_training_texts

    (tmp_path / "training_examples.jsonl").write_bytes(b'{"prompt": "a"\n\x00\xff')
    with pytest.raises(InputError, match="training_examples.jsonl is damaged.*--training-data"):
        adapter_training_texts(tmp_path)
