"""Every bad input the attack run found gives one clear error: exit 2, `{"error", "kind"}` under
--json, a message that says what to do, never a traceback. Table-driven: each row is a command line and the
setup that makes it bad; none of them loads a model (they fail before that, which is the point).

Also: --out is checked before a run starts, damaged stores get one message, the run store keeps a backup that
can be restored, CSV cells that a spreadsheet would run are quoted, a failed write leaves no temporary file."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from lab import cli

LS = Path("/bin/ls").read_bytes()[:3000]


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A fresh data directory with one healthy run store; files for the table in tmp_path/in."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("LAB_DATA_DIR", str(folder))
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "binary.jsonl").write_bytes(LS)
    (inputs / "nul.jsonl").write_bytes(b'{"question": "q?", "answer": "a"}\n\x00\x00\x00\n')
    (inputs / "bad-bom.jsonl").write_bytes(b"\xff\xfe" + b"\x00\xd8" * 5)  # UTF-16 mark, a lone surrogate
    (inputs / "ok.jsonl").write_text('{"question": "q?", "answer": "a"}\n')
    (inputs / "a-folder").mkdir()
    os.mkfifo(inputs / "fifo.jsonl")
    return folder


def _damage_runs(kind: str):
    def setup(data: Path) -> None:
        from lab.experiments.run_store import RunStore

        path = data / "runs.sqlite"
        if kind == "folder":
            path.mkdir()
            return
        RunStore(path).create({"paths": ["rag"]}, 1)
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "garbage":
            path.write_bytes(os.urandom(40_000))
        elif kind == "truncated":
            with sqlite3.connect(path) as db:
                db.execute("pragma wal_checkpoint(truncate)")
                db.executemany("insert into votes values ('r', 'q', 'p', 'v', 'c')", [()] * 2000)
            os.truncate(path, 6000)
    return setup


def _damage_chroma(kind: str):
    def setup(data: Path) -> None:
        import subprocess
        import sys

        # in another process: Chroma keeps one client per path in a process, which would hide the damage
        subprocess.run([sys.executable, "-c", "from lab.index.store import Store; "
                        "Store().client.create_collection('intact')"], check=True, env={**os.environ},
                       cwd=Path(__file__).resolve().parent.parent)
        path = data / "chroma" / "chroma.sqlite3"
        if kind == "folder":
            path.unlink()
            path.mkdir()
        elif kind == "garbage":
            path.write_bytes(os.urandom(50_000))
        else:
            os.truncate(path, 20_000)
    return setup


def _data_dir_is_a_file(data: Path) -> None:
    (data / "file").write_text("x")
    os.environ["LAB_DATA_DIR"] = str(data / "file")


IN = "{in}"
CASES = [  # (id, argv, setup, kind, words the message must contain)
    ("search-k-0", ["search", "q", "--k", "0"], None, "InputError", "RetrievalConfig.k must be 1-20"),
    ("search-k-negative", ["search", "q", "--k", "-1"], None, "InputError", "RetrievalConfig.k must be 1-20"),
    ("search-k-too-big", ["search", "q", "--k", "21"], None, "InputError", "RetrievalConfig.k must be 1-20"),
    ("search-k-not-a-number", ["search", "q", "--k", "abc"], None, "InputError", "invalid int value"),
    ("search-rrf-k-negative", ["search", "q", "--rrf-k", "-60"], None, "InputError", "rrf_k must be 1-1000"),
    ("search-mode-unknown", ["search", "q", "--mode", "magic"], None, "InputError", "invalid choice"),
    ("search-bad-collection", ["search", "q", "--collection", "../x"], None, "InputError", "is invalid"),
    ("retrieval-eval-k-0", ["retrieval-eval", "--questions", f"{IN}/ok.jsonl", "--k", "0"], None, "InputError",
     "RetrievalConfig.k"),
    ("ask-max-new-tokens-0", ["ask", "q", "--max-new-tokens", "0"], None, "InputError", "max_new_tokens"),
    ("ask-temperature-nan", ["ask", "q", "--temperature", "nan"], None, "InputError", "temperature"),
    ("ask-temperature-negative", ["ask", "q", "--temperature", "-1"], None, "InputError", "temperature"),
    ("ask-endpoint-half", ["ask", "q", "--endpoint-url", "http://127.0.0.1:9/v1"], None, "InputError",
     "both the endpoint URL"),
    ("compare-limit-negative", ["compare", "--questions", f"{IN}/ok.jsonl", "--out", f"{IN}/r.csv", "--limit", "-1"],
     None, "InputError", "BatchConfig.limit"),
    ("compare-batch-size-0", ["compare", "--questions", f"{IN}/ok.jsonl", "--out", f"{IN}/r.csv", "--batch-size",
                              "0"], None, "InputError", "BatchConfig.batch_size"),
    ("compare-unknown-path", ["compare", "--questions", f"{IN}/ok.jsonl", "--out", f"{IN}/r.csv", "--paths", "x"],
     None, "InputError", "Unknown path"),
    ("compare-out-folder", ["compare", "--questions", f"{IN}/ok.jsonl", "--out", f"{IN}/a-folder"], None,
     "InputError", "is a folder"),
    ("compare-out-proc", ["compare", "--questions", f"{IN}/ok.jsonl", "--out", "/proc/x"], None, "InputError",
     "special file system"),
    ("compare-out-under-a-file", ["compare", "--questions", f"{IN}/ok.jsonl", "--out", f"{IN}/ok.jsonl/r.csv"],
     None, "InputError", "is a file, not a folder"),
    ("compare-out-dev-null", ["compare", "--questions", f"{IN}/ok.jsonl", "--out", "/dev/null"], None, "InputError",
     "special file system"),
    ("compare-questions-binary", ["compare", "--questions", f"{IN}/binary.jsonl", "--out", f"{IN}/r.csv"], None,
     "InputError", "binary content"),
    ("compare-runs-damaged", ["compare", "--questions", f"{IN}/ok.jsonl", "--out", f"{IN}/r.csv"],
     _damage_runs("garbage"), "DamagedStore", "runs.sqlite is damaged"),
    ("golden-binary", ["retrieval-eval", "--questions", f"{IN}/binary.jsonl"], None, "InputError", "binary content"),
    ("golden-nul", ["retrieval-eval", "--questions", f"{IN}/nul.jsonl"], None, "InputError", "binary content"),
    ("golden-bad-bom", ["retrieval-eval", "--questions", f"{IN}/bad-bom.jsonl"], None, "InputError",
     "byte-order mark"),
    ("golden-proc", ["retrieval-eval", "--questions", "/proc/self/environ"], None, "InputError", "special file"),
    ("golden-fifo", ["retrieval-eval", "--questions", f"{IN}/fifo.jsonl"], None, "InputError", "a fifo"),
    ("golden-folder", ["retrieval-eval", "--questions", f"{IN}/a-folder"], None, "InputError", "a folder"),
    ("train-out-a-file", ["train", "--data", f"{IN}/ok.jsonl", "--out", "/etc/hostname"], None, "InputError",
     "is a file, not a folder"),
    ("train-out-proc", ["train", "--data", f"{IN}/ok.jsonl", "--out", "/proc/x"], None, "InputError",
     "special file system"),
    ("train-data-binary", ["train", "--data", f"{IN}/binary.jsonl", "--out", f"{IN}/adapter"], None, "InputError",
     "binary content"),
    ("train-data-bad-bom", ["train", "--data", f"{IN}/bad-bom.jsonl", "--out", f"{IN}/adapter"], None,
     "InputError", "byte-order mark"),
    ("train-rank-0", ["train", "--data", f"{IN}/ok.jsonl", "--out", f"{IN}/adapter", "--rank", "0"], None,
     "InputError", "LoraTrainConfig.rank"),
    ("train-lr-huge", ["train", "--data", f"{IN}/ok.jsonl", "--out", f"{IN}/adapter", "--lr", "5"], None,
     "InputError", "LoraTrainConfig.lr"),
    ("report-out-proc", ["report", "r1", "--out", "/proc/x"], None, "InputError", "special file system"),
    ("report-out-folder", ["report", "r1", "--out", f"{IN}/a-folder"], None, "InputError", "is a folder"),
    ("bench-out-folder", ["bench", "--out", f"{IN}/a-folder"], None, "InputError", "is a folder"),
    ("ingest-chunk-size-0", ["ingest", f"{IN}/ok.jsonl", "--chunk-size", "0"], None, "InputError",
     "ChunkConfig.size"),
    ("ingest-overlap-negative", ["ingest", f"{IN}/ok.jsonl", "--overlap", "-1"], None, "InputError",
     "ChunkConfig.overlap"),
    ("ingest-bad-collection", ["ingest", f"{IN}/ok.jsonl", "--collection", "a/b"], None, "InputError", "is invalid"),
    ("unknown-command", ["frobnicate"], None, "InputError", "invalid choice"),
    ("missing-option", ["compare", "--questions", f"{IN}/ok.jsonl"], None, "InputError", "--out"),
    ("data-dir-is-a-file", ["runs"], _data_dir_is_a_file, "InputError", "LAB_DATA_DIR"),
    ("runs-sqlite-folder", ["runs"], _damage_runs("folder"), "DamagedStore", "is a folder"),
    ("runs-sqlite-empty", ["runs"], _damage_runs("empty"), "DamagedStore", "0 bytes"),
    ("runs-sqlite-garbage", ["runs"], _damage_runs("garbage"), "DamagedStore", "is damaged"),
    ("runs-sqlite-truncated", ["runs"], _damage_runs("truncated"), "DamagedStore", "is damaged"),
    ("runs-restore-without-backup", ["runs", "--restore-backup"], None, "NotFoundError", "No usable backup"),
    ("chroma-garbage", ["collections"], _damage_chroma("garbage"), "DamagedStore", "Move the folder aside"),
    ("chroma-truncated", ["collections"], _damage_chroma("truncated"), "DamagedStore", "Move the folder aside"),
    ("chroma-folder", ["collections"], _damage_chroma("folder"), "DamagedStore", "Move the folder aside"),
]


@pytest.mark.parametrize("argv,setup,kind,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_bad_input_is_one_clear_error(argv, setup, kind, words, data, capsys, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(data))  # restored after the test (a setup may point it elsewhere)
    if setup:
        setup(data)
    if kind == "NotFoundError":  # no backup: the store was never opened
        assert not (data / "runs.sqlite.backup").exists()
    argv = [a.replace(IN, str(data.parent / "in")) for a in argv]
    code = cli.main(argv + ["--json"])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    document = json.loads(out.strip().splitlines()[-1])
    assert set(document) == {"error", "kind"} and document["kind"] == kind, document
    assert words in document["error"], document["error"]
    assert "Traceback" not in err and err.startswith("error: ")


def test_the_table_covers_every_reported_case(capsys):
    assert len(CASES) >= 45


def test_out_is_checked_before_the_run(tmp_path, data):
    """compare with an unwritable --out stops before any model loads or any run is stored."""
    from lab.experiments.run_store import RunStore

    code = cli.main(["compare", "--questions", str(tmp_path / "in" / "ok.jsonl"), "--out", "/proc/x.csv", "--json"])
    assert code == 2 and RunStore().list() == []


def test_the_run_store_keeps_a_backup_that_restores_a_damaged_file(data, capsys):
    from lab.experiments.run_store import RunStore, backup_path

    store = RunStore()
    run_id = store.create({"paths": ["rag"]}, 1)
    store.finish(run_id, "done")  # a finished run refreshes the backup (SQLite's online backup API)
    path = data / "runs.sqlite"
    assert backup_path(path).exists()
    path.write_bytes(os.urandom(30_000))
    assert cli.main(["runs", "--json"]) == 2
    message = json.loads(capsys.readouterr().out)["error"]
    assert "Restore the last backup (runs.sqlite.backup, 1 run," in message and "--restore-backup" in message
    assert cli.main(["runs", "--restore-backup", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"restored_runs": 1}
    assert [r.run_id for r in RunStore().list()] == [run_id]
    assert any(p.name.startswith("runs.sqlite.damaged-") for p in data.iterdir())


def test_a_damaged_store_found_after_opening_is_still_one_message(data):
    from lab.errors import DamagedStore
    from lab.experiments.run_store import RunStore

    store = RunStore()
    (data / "runs.sqlite").write_bytes(os.urandom(30_000))
    for wal in data.glob("runs.sqlite-*"):
        wal.unlink()
    with pytest.raises(DamagedStore, match="runs.sqlite is damaged"):
        store.check()
    with pytest.raises(DamagedStore, match="runs.sqlite is damaged"):
        store.list()


def test_a_damaged_adapter_manifest_is_one_message_and_other_adapters_stay_listed(tmp_path):
    from lab.errors import InputError
    from lab.generation.adapters import list_adapters, read_manifest

    for name, manifest in (("good", '{"date": "2026-01-01", "base_model": "m"}'), ("bad", "{not json")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text("{}")
        (tmp_path / name / "manifest.json").write_text(manifest)
    with pytest.raises(InputError, match="manifest.json is damaged: not valid JSON.*delete manifest.json"):
        read_manifest(tmp_path / "bad")
    listed = {a.name: a for a in list_adapters(tmp_path)}
    assert listed["good"].base_model == "m" and "is damaged" in listed["bad"].manifest["error"]


def test_ownership_inputs_refuse_non_finite_numbers():
    from lab.decision.tco import OwnershipInputs
    from lab.errors import InputError

    for field, value in (("index_hours", float("nan")), ("speedup", float("inf"))):
        with pytest.raises(InputError, match=f"OwnershipInputs.{field} must be a finite number"):
            OwnershipInputs(**{field: value})


# --- CSV cells and atomic writes (item 7) --------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", " =1+1", "  @x",
                                  "\u3000=1", "\uff1dcmd|'/c calc'!A1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)",
                                  "\ufe62x", "\ufe63x"])
def test_formula_cells_are_quoted(cell):
    from lab.experiments.export import safe_cell

    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["plain", "a=b", "1+1", "", "café"])
def test_ordinary_cells_are_kept(cell):
    from lab.experiments.export import safe_cell

    assert safe_cell(cell) == cell


def test_a_failed_atomic_write_leaves_no_temporary_file(tmp_path):
    from lab.experiments.export import write_atomic

    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "x").write_text("keeps the folder non-empty")
    with pytest.raises(OSError):
        write_atomic(tmp_path / "target", "a,b\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]


PAGES = ["app.py", "pages/corpus.py", "pages/golden.py", "pages/models.py", "pages/compare.py", "pages/results.py",
         "pages/decide.py"]
DAMAGED = [  # (id, setup, the file the message must name, the page that must say so)
    ("runs-garbage", _damage_runs("garbage"), "runs.sqlite", "pages/results.py"),
    ("runs-truncated", _damage_runs("truncated"), "runs.sqlite", "pages/results.py"),
    ("runs-empty", _damage_runs("empty"), "runs.sqlite", "pages/results.py"),
    ("runs-folder", _damage_runs("folder"), "runs.sqlite", "pages/results.py"),
    ("chroma-garbage", _damage_chroma("garbage"), "chroma", "pages/corpus.py"),
    ("chroma-truncated", _damage_chroma("truncated"), "chroma", "pages/corpus.py"),
    ("chroma-folder", _damage_chroma("folder"), "chroma", "pages/corpus.py"),
]


@pytest.mark.slow  # 7 pages x 7 damaged stores through AppTest
@pytest.mark.usefixtures("show_error_details")
@pytest.mark.parametrize("setup,named,must", [c[1:] for c in DAMAGED], ids=[c[0] for c in DAMAGED])
def test_every_page_turns_a_damaged_store_into_one_clear_message(setup, named, must, data):
    """The attack run saw Streamlit's redacted error on 11 of 28 page renders with a damaged store. Every page now
    renders: a page that needs the store says which file is damaged and what to do; the others keep working."""
    from streamlit.testing.v1 import AppTest

    setup(data)
    said = {}
    for page in PAGES:
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / page), default_timeout=120)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
        said[page] = [e.value.replace("\\", "") for e in at.error]  # as shown, without Markdown escapes
        for message in said[page]:
            if named in message:
                assert "damaged" in message or "cannot" in message, (page, message)
    assert any(named in m for m in said[must]), said
    if "runs" in named and any("Restore the last backup (" in m for m in said[must]):
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / must), default_timeout=120)
        at.run()
        at.button(key="restore_run_store").click().run()  # the button the message names puts the backup back
        assert not at.exception and not any(named in e.value.replace("\\", "") for e in at.error), at.error
