"""Ingest reads only regular files inside the folder the user named, decodes text by its bytes, refuses binary
content on every path, and bounds each file. Real documents (Debian's license texts),
real links, fifos and sockets; the fake embedder."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from lab.config import ChunkConfig, IngestLimits
from lab.corpus.files import collect_files, decode_text, read_regular
from lab.corpus.parsing import file_kind, parse
from lab.errors import InputError
from lab.index.ingest import ingest

LICENSES = Path("/usr/share/common-licenses")
pytestmark = pytest.mark.skipif(not (LICENSES / "GPL-3").is_file(), reason="needs Debian's common-licenses")


def _store():
    from lab.index.store import Store

    return Store()


@pytest.fixture
def hostile_folder(tmp_path):
    """A folder of real documents with every kind of link and special file an attacker tries."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "apache.txt").write_bytes((LICENSES / "Apache-2.0").read_bytes())
    (docs / "bsd.md").write_bytes((LICENSES / "BSD").read_bytes())
    (docs / "alias.txt").symlink_to("apache.txt")  # a link inside the folder: read once, as apache.txt
    (docs / "notes.txt").symlink_to("/proc/self/environ")
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    (docs / "mit.txt").symlink_to(LICENSES / "GPL-2")  # a real file, but outside the folder
    (docs / "escape.txt").symlink_to("../outside.txt")
    (tmp_path / "outside.txt").write_text("outside the named folder\n")
    (docs / "dangling.txt").symlink_to(docs / "missing.txt")
    (docs / "loop.txt").symlink_to(docs / "loop.txt")
    (docs / "etc").symlink_to("/etc")  # a link to a folder outside
    (docs / "random.txt").symlink_to("/dev/urandom")
    os.mkfifo(docs / "fifo.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(docs / "socket.md"))
    yield docs
    sock.close()


REFUSED = {  # file -> words its reason must contain
    "notes.txt": "outside the folder", "passwd.txt": "outside the folder", "mit.txt": "outside the folder",
    "escape.txt": "outside the folder", "dangling.txt": "leads nowhere", "loop.txt": "leads nowhere",
    "etc": "link to a folder", "random.txt": "outside the folder", "fifo.txt": "a fifo", "socket.md": "a socket",
}


def test_links_out_of_the_folder_and_special_files_are_refused_with_reasons(hostile_folder):
    files, skipped = collect_files([hostile_folder], lambda p: file_kind(p) is not None)
    assert sorted(f.name for f in files) == ["apache.txt", "bsd.md"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    for name, words in REFUSED.items():
        assert words in reasons[name], (name, reasons.get(name))


def test_a_link_named_directly_is_held_to_its_own_folder(tmp_path):
    (tmp_path / "passwd.txt").symlink_to("/etc/passwd")
    files, skipped = collect_files([tmp_path / "passwd.txt", "/proc/self", "/dev/null"], lambda p: file_kind(p) is not None)
    assert files == []
    assert len(skipped) == 3 and "outside the folder" in skipped[0].reason


def test_ingest_never_indexes_secrets_behind_links(hostile_folder, fake_embedder, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("LAB_PASSWORD", "hunter2-test")
    store = _store()
    report = ingest([hostile_folder], "t-links", fake_embedder, store, ChunkConfig())
    assert report.documents == 2
    assert {Path(s.path).name for s in report.skipped} == set(REFUSED)
    texts = " ".join(c["text"] for c in store.chunks("t-links"))
    assert "Apache License" in texts
    for secret in ("sk-test-secret", "hunter2-test", "OPENAI_API_KEY", "root:x:0", "outside the named"):
        assert secret not in texts


def test_the_parser_never_follows_a_link_swapped_in_after_the_walk(tmp_path):
    (tmp_path / "late.txt").symlink_to("/etc/passwd")
    with pytest.raises(InputError, match="is a link"):
        parse(tmp_path / "late.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    started = time.perf_counter()
    with pytest.raises(InputError, match="not a regular file"):
        read_regular(tmp_path / "pipe.txt")  # opened without blocking on the fifo
    assert time.perf_counter() - started < 1
    with pytest.raises(InputError, match="special file system"):
        read_regular("/proc/self/environ")


# --- decoding and binary content ---------------------------------------------------------------------------

TEXT = "Résumé of the naïve café: € 5, 東京.\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252"])
def test_text_is_decoded_by_bom_or_charset(encoding):
    text = TEXT if encoding != "cp1252" else TEXT.replace(" 東京", "")
    assert decode_text(text.encode(encoding), "x.txt") == text


@pytest.mark.parametrize("data", [Path("/bin/ls").read_bytes()[:4096], b"text\x00with a NUL",
                                  bytes(range(1, 32)) * 20])
def test_binary_content_is_refused(data):
    with pytest.raises(InputError, match="binary content"):
        decode_text(data, "x.txt")


def test_binary_is_refused_on_the_ingest_golden_and_training_paths(tmp_path, fake_embedder):
    from lab.evaluation.golden import load_golden
    from lab.finetune.data import load_examples

    (tmp_path / "ls.txt").write_bytes(Path("/bin/ls").read_bytes())
    (tmp_path / "nul.md").write_bytes(b"# Title\n\nsome\x00text\n")
    (tmp_path / "good.txt").write_bytes(("caf\u00e9 " + TEXT).encode("utf-16"))
    report = ingest([tmp_path], "t-binary", fake_embedder, _store(), ChunkConfig())
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert "binary content" in reasons["ls.txt"] and "binary content" in reasons["nul.md"]
    assert report.documents == 1
    assert "café" in _store().chunks("t-binary")[0]["text"]  # UTF-16 with a BOM, not mojibake
    (tmp_path / "q.jsonl").write_bytes(Path("/bin/ls").read_bytes()[:2000])
    for load in (load_golden, load_examples):
        with pytest.raises(InputError, match="binary content"):
            load(tmp_path / "q.jsonl")
    (tmp_path / "latin.jsonl").write_bytes('{"question": "Où est le café?", "answer": "ici"}\n'.encode("latin-1"))
    assert load_golden(tmp_path / "latin.jsonl")[0].question == "Où est le café?"


# --- bounds per file ---------------------------------------------------------------------------------------


class SlowEmbedder:
    """The fake embedder, 0.2 s a call: a file of many chunks runs into the time limit."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name

    def encode(self, texts):
        time.sleep(0.2)
        return self.inner.encode(texts)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


def _licenses(folder: Path) -> None:
    folder.mkdir()
    for name in ("BSD", "CC0-1.0", "GPL-3"):
        (folder / f"{name}.txt").write_bytes((LICENSES / name).read_bytes())


def test_a_file_over_the_chunk_limit_is_refused_and_the_rest_committed(tmp_path, fake_embedder):
    _licenses(tmp_path / "docs")
    started = time.perf_counter()
    report = ingest([tmp_path / "docs"], "t-bound-chunks", fake_embedder, _store(), ChunkConfig(size=128),
                    limits=IngestLimits(max_chunks_per_file=40))
    assert [Path(s.path).name for s in report.skipped] == ["GPL-3.txt"]
    assert "over the limit of 40 per file" in report.skipped[0].reason
    assert report.documents == 2 and {c["meta"]["source"] for c in _store().chunks("t-bound-chunks")} == \
        {"BSD.txt", "CC0-1.0.txt"}
    assert time.perf_counter() - started < 30


def test_a_file_over_the_time_limit_is_refused_and_the_rest_committed(tmp_path, fake_embedder):
    _licenses(tmp_path / "docs")
    report = ingest([tmp_path / "docs"], "t-bound-time", SlowEmbedder(fake_embedder), _store(), ChunkConfig(size=128),
                    limits=IngestLimits(max_seconds_per_file=0.1))
    assert [Path(s.path).name for s in report.skipped] == ["GPL-3.txt"]
    assert "took longer than 0.1 s" in report.skipped[0].reason
    assert report.documents == 2


def test_a_huge_text_or_wide_csv_is_refused_before_chunking(tmp_path, fake_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "wide.csv").write_text(",".join(f"c{i}" for i in range(100_000)) + "\n" +
                                   ",".join(f"value {i}" for i in range(100_000)) + "\n")
    (docs / "big.txt").write_text((LICENSES / "GPL-3").read_text() * 60)  # 2 MB of real text
    (docs / "bsd.txt").write_bytes((LICENSES / "BSD").read_bytes())
    started = time.perf_counter()
    report = ingest([docs], "t-bound-size", fake_embedder, _store(), ChunkConfig(size=128),
                    limits=IngestLimits(max_chunks_per_file=200))
    seconds = time.perf_counter() - started
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"wide.csv", "big.txt"}
    assert all("characters of text would make more chunks" in r for r in reasons.values())
    assert report.documents == 1
    assert seconds < 20, seconds


def test_ingest_limits_are_validated_and_read_from_the_environment(monkeypatch):
    with pytest.raises(InputError, match="max_chunks_per_file"):
        IngestLimits(max_chunks_per_file=0)
    monkeypatch.setenv("LAB_MAX_FILE_SECONDS", "soon")
    with pytest.raises(InputError, match="LAB_MAX_FILE_SECONDS"):
        IngestLimits.from_env()
    monkeypatch.setenv("LAB_MAX_FILE_SECONDS", "30")
    assert IngestLimits.from_env().max_seconds_per_file == 30


def test_the_parse_worker_ends_soon_after_its_parent_is_killed(tmp_path):
    import signal
    import subprocess
    import sys

    # here the child idles on its stdin (it would also end at EOF); a child busy parsing is ended by the kernel
    # (PR_SET_PDEATHSIG, lab.corpus.parse_worker._exit_with_parent), which this test does not exercise
    code = ("from lab.corpus.parse_worker import ParseWorker; import time\n"
            "w = ParseWorker().__enter__(); print(w.status().pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    started = time.perf_counter()
    while time.perf_counter() - started < 5:
        try:
            if Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break  # ended; waiting for whoever adopted it to reap it
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    waited = time.perf_counter() - started
    print(f"\nparse worker ended {waited:.2f} s after its parent's SIGKILL")
    assert waited < 2, f"the parse worker (pid {child}) outlived its killed parent by {waited:.1f} s"
