"""Hostile files end in a clear per-file reason within seconds; the process survives; good files still go in.

The files come from tests/fixtures/hostile/make_hostile.py (generated into a tmp dir: the script is the
fixture). Time bounds are generous (< 30 s): they prove a limit works, they do not measure speed.
"""

import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from lab.config import SAMPLE_DOCS
from lab.errors import InputError
from lab.index.ingest import ingest
from lab.corpus.parse_worker import ParseWorker, WorkerLimits
from lab.corpus.parsing import SUPPORTED

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "hostile"))
from make_hostile import make_all  # noqa: E402

EXPECTED = {
    "pdf-decompression-bomb.pdf": "possible decompression bomb",
    "pdf-reference-loop.pdf": "cyclic page references",
    # pypdf's own token limit stops it after ~5-15 s of extraction, depending on the machine: either reason will do
    "pdf-operator-flood.pdf": r"took longer than 5 s to parse \(possibly a decompression bomb|pypdf's safety limits",
    "docx-entity-bomb.docx": "declares a document type or entities",
    "docx-zip-bomb.docx": "possible zip bomb",
    "docx-zip-bomb-lying.docx": "misstates the size",
    "garbage.pdf": "not a valid PDF",
    "empty.txt": "is empty",
    "header-only.csv": "has a header but no rows",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    return make_all(tmp_path_factory.mktemp("hostile"))


@pytest.mark.slow  # builds the bombs
def test_the_fixture_script_makes_every_file_small_on_disk(hostile):
    assert set(hostile) == set(EXPECTED)
    assert max(p.stat().st_size for p in hostile.values()) < 3 * 2**20


@pytest.mark.slow  # a parser process per file; the operator flood runs into the 5 s limit
@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_hostile_file_is_refused_with_a_clear_reason_within_seconds(hostile, name):
    with ParseWorker(WorkerLimits(seconds=5)) as worker:
        start = time.perf_counter()
        with pytest.raises(InputError) as err:
            worker.parse(hostile[name])
        elapsed = time.perf_counter() - start
    print(f"{name}: refused in {elapsed:.2f} s: {err.value}")
    assert str(err.value).startswith(f"{name}: ") and re.search(EXPECTED[name], str(err.value))
    assert elapsed < 30


@pytest.mark.slow  # waits out the operator flood's 5 s limit
def test_a_batch_of_hostile_files_skips_each_with_its_reason_and_ingests_the_good_file(
        hostile, fake_embedder, store, monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_PARSE_TIMEOUT_S", "5")
    folder = tmp_path / "batch"
    folder.mkdir()
    for name, path in hostile.items():
        os.link(path, folder / name)
    (folder / "good.md").write_text("# Ports\nThe API listens on port 7443.\n")
    start = time.perf_counter()
    report = ingest([folder], "hostile-batch", fake_embedder, store)
    assert time.perf_counter() - start < 60
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert {name: bool(re.search(EXPECTED[name], reasons.get(name, ""))) for name in EXPECTED} == \
        dict.fromkeys(EXPECTED, True)
    assert report.documents == 1 and [c["meta"]["source"] for c in store.chunks("hostile-batch")] == ["good.md"]


@pytest.mark.slow  # parses every sample document in the parser process
def test_the_parser_process_never_imports_torch_and_stays_far_below_its_memory_limit(monkeypatch):
    monkeypatch.setenv("LAB_PASSWORD", "secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    with ParseWorker(WorkerLimits()) as worker:
        for path in sorted(SAMPLE_DOCS.iterdir()):
            if path.suffix in SUPPORTED:
                worker.parse(path)
        status = worker.status()
    assert status.heavy_modules == [] and status.address_limit_mb == 1536 and worker.restarts == 0
    assert "PYTHONPATH" in status.environment and not {"LAB_PASSWORD", "OPENAI_API_KEY"} & set(status.environment)
    if status.peak_address_space_mb is not None:  # Linux
        assert status.peak_address_space_mb < 1536 / 2, status


@pytest.mark.slow  # writes and parses a 400,000-row file until the limit stops it
def test_the_memory_limit_turns_a_memory_hungry_file_into_a_reason(tmp_path):
    big = tmp_path / "big.csv"
    big.write_text("code,message,severity\n" + "".join(f"E{i},message number {i},{i % 7}\n" for i in range(400_000)))
    (tmp_path / "ok.md").write_text("Fine.")
    with ParseWorker(WorkerLimits(seconds=120, memory_mb=200)) as worker:
        with pytest.raises(InputError, match="big.csv: needed more than 200 MB of memory to parse"):
            worker.parse(big)
        assert worker.parse(tmp_path / "ok.md").text == "Fine." and worker.restarts == 1


@pytest.mark.slow  # waits out a limit, then restarts the parser process
def test_the_time_limit_stops_a_slow_parse_and_the_next_file_still_parses(hostile, tmp_path):
    (tmp_path / "ok.md").write_text("Fine.")
    with ParseWorker(WorkerLimits(seconds=1)) as worker:
        start = time.perf_counter()
        with pytest.raises(InputError, match="took longer than 1 s to parse"):
            worker.parse(hostile["pdf-operator-flood.pdf"])
        assert time.perf_counter() - start < 30
        assert worker.parse(tmp_path / "ok.md").text == "Fine." and worker.restarts == 1


@pytest.mark.slow  # kills the parser process mid-parse, then restarts it
def test_a_parser_process_that_dies_is_reported_for_that_file_and_replaced(hostile, tmp_path):
    (tmp_path / "ok.md").write_text("Fine.")
    with ParseWorker(WorkerLimits(seconds=60)) as worker:
        pid = worker.status().pid
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
        with pytest.raises(InputError, match=r"parser process died while reading it \(signal SIGKILL\)"):
            worker.parse(hostile["pdf-operator-flood.pdf"])
        assert worker.parse(tmp_path / "ok.md").text == "Fine." and worker.status().pid != pid


def test_limits_come_from_the_environment_and_are_validated(monkeypatch):
    monkeypatch.setenv("LAB_PARSE_TIMEOUT_S", "7.5")
    monkeypatch.setenv("LAB_PARSE_MEMORY_MB", "2048")
    assert WorkerLimits.from_env() == WorkerLimits(7.5, 2048)
    monkeypatch.setenv("LAB_PARSE_MEMORY_MB", "lots")
    with pytest.raises(InputError, match="LAB_PARSE_MEMORY_MB"):
        WorkerLimits.from_env()
    with pytest.raises(InputError, match="WorkerLimits.seconds"):
        WorkerLimits(seconds=0)
