"""Crash safety of ingestion: a SIGKILL at any point leaves the collection at its old or its new version.

The killed ingest runs in a subprocess against its own embedded Chroma (a copy of a collection holding the
old version of the files) with a fake embedder; a fresh process then reads the collection and re-runs the
ingest, which must embed only what the killed run had not staged completely.
"""

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.index.ingest import ingest
from lab.index.store import Store, staging_name

REPO = Path(__file__).resolve().parent.parent
HELPER = REPO / "tests" / "fixtures" / "crash_ingest.py"


def write_corpus(folder: Path, version: str) -> Path:
    """20 Markdown files (every 4th the same in both versions), plus one file only the new version has."""
    folder.mkdir(parents=True)
    for i in range(21 if version == "new" else 20):
        tag = version if i % 4 else "same"
        paragraphs = [f"Document {i} ({tag}) part {p}. " + " ".join(f"w{i}x{p}x{k}{tag}" for k in range(70)) + "."
                      for p in range(4)]
        (folder / f"doc-{i:02d}.md").write_text(f"# Doc {i}\n\n" + "\n\n".join(paragraphs))
    return folder


def helper(*args: str, timeout: float = 180) -> dict:
    done = subprocess.run([sys.executable, str(HELPER), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def kill_during_ingest(data: Path, docs: Path, after_line: int | None, delay: float) -> str:
    """Start an ingest and SIGKILL it `delay` s after it reports file `after_line` (None: after start-up)."""
    proc = subprocess.Popen([sys.executable, str(HELPER), "ingest", str(data), str(docs), "0.04"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen = "started"
    if after_line is not None:
        for line in proc.stdout:
            if line.startswith(f"file {after_line} "):
                seen = line.strip()
                break
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    return f"{seen} + {delay:.2f} s (exit {proc.returncode})"


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    old, new = write_corpus(root / "old", "old"), write_corpus(root / "new", "new")
    template = root / "template"
    seeded = helper("resume", str(template), str(old))
    assert seeded["documents"] == 20
    shutil.copytree(template, root / "clean")
    clean = helper("resume", str(root / "clean"), str(new))
    assert clean["before"] == seeded["after"]
    changed = {s for s in clean["after"] if clean["after"][s] != seeded["after"].get(s)}
    assert len(changed) == 16 and "doc-20.md" in changed and "doc-04.md" not in changed
    return {"root": root, "new": new, "template": template, "old_state": seeded["after"],
            "new_state": clean["after"], "changed": changed}


@pytest.mark.slow  # ~45 s: a dozen ingest subprocesses, eight of them killed
def test_sigkill_at_random_points_leaves_the_old_or_the_new_version_and_resume_embeds_only_the_rest(versions):
    rng = random.Random(20250511)
    # (after file N, seconds): during start-up, early, mid-batch, then after the last file at delays that span
    # the commit (~0.1-0.3 s here: copy the staged chunks over, drop the replaced ones and the staging collection)
    points = [(None, rng.uniform(0.2, 0.5)), (3, rng.uniform(0, 0.12)), (12, rng.uniform(0, 0.12)),
              (21, 0.0), (21, 0.01), (21, 0.03), (21, 0.1), (21, 0.3)]
    outcomes = []
    for run, (point, delay) in enumerate(points):
        data = versions["root"] / f"run-{run}"
        shutil.copytree(versions["template"], data)
        where = kill_during_ingest(data, versions["new"], point, delay)
        result = helper("resume", str(data), str(versions["new"]))
        before = result["before"]
        assert before in (versions["old_state"], versions["new_state"]), \
            f"killed at {where}: the collection is between versions"
        assert result["after"] == versions["new_state"], f"killed at {where}: the resumed ingest did not finish"
        embedded, resumed = set(result["embedded"]), set(result["resumed"])
        if before == versions["new_state"]:
            assert not embedded and not resumed, f"killed at {where}: committed files were embedded again"
        else:
            assert not embedded & resumed and embedded | resumed == versions["changed"], where
        outcomes.append((where, "new" if before == versions["new_state"] else "old", len(resumed),
                         result["staging_left"]))
    print("\n".join(f"{w}: staging collection left: {s}; found the {v} version; {r} files reused"
                     for w, v, r, s in outcomes))
    assert any(v == "old" and r > 0 for _, v, r, _ in outcomes), "no kill landed after some files were staged"
    assert any(v == "old" for _, v, _, _ in outcomes) and len(outcomes) >= 5


# --- the same guarantees in-process, at the exact points that random kills rarely hit -------------------------


@pytest.fixture
def two_versions(tmp_path):
    """The same documents in two versions, from two folders (an update from elsewhere, so replaced on purpose)."""
    return write_corpus(tmp_path / "old", "old"), write_corpus(tmp_path / "new", "new")


def chunks_by_source(store, name) -> dict:
    out: dict[str, set] = {}
    for chunk in store.chunks(name):
        out.setdefault(chunk["meta"]["source"], set()).add((chunk["id"], chunk["text"]))
    return out


class Counting:
    def __init__(self, embedder):
        self.inner, self.name, self.texts = embedder, embedder.name, 0

    def encode(self, texts):
        self.texts += len(texts)
        return self.inner.encode(texts)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


@pytest.mark.slow  # two 20-file corpora ingested into the embedded store
def test_a_crash_before_the_commit_point_shows_the_old_version_and_resume_reuses_the_staged_embeddings(
        two_versions, fake_embedder, store, monkeypatch):
    old, new = two_versions
    ingest([old], "crash-before", fake_embedder, store)
    old_state = chunks_by_source(store, "crash-before")
    monkeypatch.setattr(Store, "commit", lambda *a, **k: (_ for _ in ()).throw(LabError("killed")))
    with pytest.raises(LabError):
        ingest([new], "crash-before", fake_embedder, store, replace_elsewhere=True)
    assert chunks_by_source(store, "crash-before") == old_state
    assert "crash-before" in store.names() and staging_name("crash-before") not in store.names()
    monkeypatch.undo()
    counting = Counting(fake_embedder)
    report = ingest([new], "crash-before", counting, store, replace_elsewhere=True)
    assert counting.texts == 0 and len(report.resumed) == 16 and report.documents == 16
    assert chunks_by_source(store, "crash-before") != old_state
    assert staging_name("crash-before") not in {c.name for c in store.client.list_collections()}


@pytest.mark.slow  # two 20-file corpora ingested into the embedded store
def test_a_crash_after_the_commit_point_is_rolled_forward_before_anything_is_read(
        two_versions, fake_embedder, store, monkeypatch):
    old, new = two_versions
    ingest([old], "crash-after", fake_embedder, store)
    ingest([new], "crash-reference", fake_embedder, store)
    expected = chunks_by_source(store, "crash-reference")
    real_drop = Store._drop
    monkeypatch.setattr(Store, "_drop", lambda self, name: (_ for _ in ()).throw(LabError("killed")))
    with pytest.raises(LabError):  # copied over, stale chunks deleted, but the staging collection still there
        ingest([new], "crash-after", fake_embedder, store, replace_elsewhere=True)
    monkeypatch.setattr(Store, "_drop", real_drop)
    fresh = Store()
    assert chunks_by_source(fresh, "crash-after") == expected  # the read finished the roll-forward first
    assert staging_name("crash-after") not in {c.name for c in fresh.client.list_collections()}
    counting = Counting(fake_embedder)
    again = ingest([new], "crash-after", counting, fresh, replace_elsewhere=True)
    assert counting.texts == 0 and len(again.unchanged) == 21


@pytest.mark.slow  # two 20-file corpora ingested into the embedded store
def test_a_new_collection_appears_whole_or_not_at_all(two_versions, fake_embedder, store, monkeypatch):
    _, new = two_versions
    monkeypatch.setattr(Store, "commit", lambda *a, **k: (_ for _ in ()).throw(LabError("killed")))
    with pytest.raises(LabError):
        ingest([new], "crash-new", fake_embedder, store)
    assert "crash-new" not in store.names()
    monkeypatch.undo()
    report = ingest([new], "crash-new", fake_embedder, store)
    assert len(report.resumed) == 21 and store.info("crash-new").chunks == report.chunks_total > 21


def test_staging_names_are_reserved():
    from lab.errors import InputError
    from lab.index.store import check_name

    with pytest.raises(InputError, match="not starting with lab-staging-"):
        check_name(staging_name("x-y-z"))
