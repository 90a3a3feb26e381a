"""Writers of one collection are serialized across processes, a lock left by a killed writer is recovered, and a
reader during ingests sees one whole version or a clear error. Real processes, the embedded
Chroma, random start delays and SIGKILLs; a few rounds here (LAB_CONCURRENCY_ROUNDS=20 for the soak)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HELPER = Path(__file__).resolve().parent / "fixtures" / "concurrent_ingest.py"
ROUNDS = int(os.environ.get("LAB_CONCURRENCY_ROUNDS", 3))
DOCS = 8


def _corpus(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True)
    for i in range(DOCS):
        (folder / f"policy-{i}.md").write_text(f"version {version} policy {i}: the retention is {i} days in "
                                               f"version {version}.\n")
    return folder


def _start(mode: str, data: Path, arg: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HELPER), mode, str(data), arg], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "LAB_LOCK_WAIT_S": "120"})


def _state(data: Path) -> dict:
    out = subprocess.run([sys.executable, str(HELPER), "state", str(data)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def _check_whole(state: dict, versions: set[str]) -> None:
    """One version of every document: never lost documents, never a mix of versions."""
    assert len(state) == DOCS, f"lost documents: {sorted(state)}"
    seen = {v for vs in state.values() for v in vs}
    assert len(seen) == 1 and seen <= versions, f"mixed collection: {state}"


@pytest.mark.slow  # a dozen Python processes per round
@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_ingests_of_different_versions_never_lose_or_mix(writers, tmp_path):
    rng = random.Random(16 + writers)
    versions = {"A", "B", "C", "D"}
    corpora = {v: _corpus(tmp_path / v, v) for v in sorted(versions)}
    data = tmp_path / "data"
    outcomes = {"done": 0, "killed": 0, "waited": 0}
    for round_ in range(ROUNDS):
        procs = []
        for _ in range(writers):
            time.sleep(rng.uniform(0, 0.3))
            procs.append(_start("ingest", data, str(corpora[rng.choice(sorted(versions))])))
        victim = procs[rng.randrange(writers)] if round_ % 2 else None  # every other round, SIGKILL one writer
        if victim is not None:
            time.sleep(rng.uniform(0.5, 3.0))
            victim.send_signal(signal.SIGKILL)
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert "Traceback" not in err, err
            if proc is victim and proc.returncode == -signal.SIGKILL:
                outcomes["killed"] += 1
                continue
            assert proc.returncode == 0, (out, err)
            outcomes["done"] += 1
            outcomes["waited"] += "is being written by pid" in err
        _check_whole(_state(data), versions)
    print(f"\n{writers} writers x {ROUNDS} rounds: {outcomes}")
    assert outcomes["waited"] >= 1  # the writers did meet, and the later ones said whom they waited for


@pytest.mark.slow
def test_a_reader_during_ingests_sees_one_version_or_a_clear_error(tmp_path):
    data = tmp_path / "data"
    a, b = _corpus(tmp_path / "A", "A"), _corpus(tmp_path / "B", "B")
    first = _start("ingest", data, str(a))
    assert first.wait(timeout=120) == 0
    reader = _start("read", data, str(8 + 4 * ROUNDS))
    for round_ in range(ROUNDS):
        for version in (b, a):
            proc = _start("ingest", data, str(version))
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0 and "Traceback" not in err, (out, err)
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0 and "Traceback" not in err, err
    counts = json.loads(out)
    print(f"\nreader during {2 * ROUNDS} ingests: {counts}")
    assert counts["ok"] > 0 and counts["mixed"] == 0
    _check_whole(_state(data), {"A"})


@pytest.mark.slow
def test_a_compare_during_ingests_finishes_with_whole_contexts_or_clear_errors_on_its_answers(tmp_path):
    """The attack run's crash: an ingest while a compare read the collection ended the compare with
    `AttributeError: 'NoneType' object has no attribute 'strip'` and an interrupted run with no error. Now every
    answer's passages come from one version, or the answer records a clear error; the run finishes."""
    rng = random.Random(1616)
    data = tmp_path / "data"
    corpora = {v: _corpus(tmp_path / v, v) for v in "AB"}
    assert _start("ingest", data, str(corpora["A"])).wait(timeout=120) == 0
    totals = {"answers": 0, "errored": 0, "rounds_with_errors": 0, "mixed": 0, "killed": 0}
    for round_ in range(ROUNDS):
        reader = _start("compare", data, "24")
        writers = []
        for version in ("B", "A"):
            time.sleep(rng.uniform(0, 0.5))
            writers.append(_start("ingest", data, str(corpora[version])))
        if round_ % 2:  # every other round, SIGKILL a writer mid-ingest
            time.sleep(rng.uniform(0.2, 1.5))
            writers[-1].send_signal(signal.SIGKILL)
        for proc in writers:
            out, err = proc.communicate(timeout=300)
            assert "Traceback" not in err, err
            totals["killed"] += proc.returncode == -signal.SIGKILL
            assert proc.returncode in (0, -signal.SIGKILL), (out, err)
        out, err = reader.communicate(timeout=300)
        assert reader.returncode == 0 and "Traceback" not in err, err
        result = json.loads(out)
        assert result["status"] == "done" and result["error"] is None and result["answers"] == 48, result
        assert result["mixed"] == 0, result
        totals["answers"] += result["answers"]
        totals["errored"] += result["errored"]
        totals["rounds_with_errors"] += bool(result["errors"])
        for message in result["errors"]:
            assert "collection" in message.lower(), message  # says what happened, not a raw attribute error
        _check_whole(_state(data), {"A", "B"})
    print(f"\ncompare during {2 * ROUNDS} ingests: {totals}")


def test_a_lock_left_by_a_killed_writer_is_recovered_and_a_second_writer_is_refused(tmp_path, monkeypatch):
    """The holder is a real process that takes the writer lock and is SIGKILLed; the lock file keeps its stale pid,
    but the kernel released the lock, so the next writer gets it at once."""
    from lab.errors import StoreError
    from lab.index.lock import holder, writer_lock

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    code = ("import os, sys, time; os.environ['LAB_DATA_DIR'] = sys.argv[1]; from lab.index.lock import writer_lock\n"
            "with writer_lock('held', 'ingest'):\n    print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout.readline().strip() == "held"
    messages: list[str] = []
    started = time.perf_counter()
    with pytest.raises(StoreError, match=f"being written by pid {proc.pid} \\(ingest since"):
        with writer_lock("held", "ingest", wait_s=0.3, notify=messages.append):
            pass
    assert time.perf_counter() - started < 2 and messages and f"pid {proc.pid}" in messages[0]
    proc.kill()
    proc.wait()
    assert holder("held")["pid"] == proc.pid  # the stale record is still there...
    with writer_lock("held", "ingest", wait_s=0):  # ...but the lock is free
        assert holder("held")["pid"] == os.getpid()
