"""A byte-flipped Chroma database made the embedded Chroma abort the whole process (a Rust panic, exit 134) on the
first open: every command, and the web server on one page load. The file is now checked before Chroma opens it,
so it is the one damaged-store message with what to do (run in a child process: a regression would abort it)."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_a_byte_flipped_chroma_database_is_one_message_not_an_abort(tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "from lab.index.store import Store; c = Store().client.create_collection("
                    "'intact'); c.add(ids=['a'], embeddings=[[0.1, 0.2]], documents=['x'])"],
                   check=True, env=env, cwd=REPO)
    path = tmp_path / "chroma" / "chroma.sqlite3"
    data = bytearray(path.read_bytes())
    rng = random.Random(1)
    for i in rng.sample(range(4096, len(data)), 200):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-m", "lab", "collections", "--json"], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["kind"] == "DamagedStore" and "Move the folder aside" in document["error"]
    assert "panicked" not in done.stderr and path.read_bytes() == before  # nothing written to the damaged file


def _lab(env, *argv, check_code=0):
    done = subprocess.run([sys.executable, "-m", "lab", *argv, "--json"], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600)
    assert done.returncode == check_code, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "panicked" not in done.stderr
    return json.loads(done.stdout)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(7)
    for i in rng.sample(range(4096, len(data)), 400):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.slow  # ingests and rebuilds real licence texts in several processes (about a minute)
def test_a_damaged_store_is_rebuilt_from_the_catalogue_as_it_was(tmp_path):
    """Real licence texts in two collections (one renamed, one document removed by an update's Undo path), the
    database byte-flipped: the message offers the rebuild, and `collections --rebuild` puts back every collection
    with the same documents, chunks, origins and search results, keeping the damaged folder aside."""
    from conftest import need_system_files

    licences = Path("/usr/share/common-licenses")
    need_system_files({"base-files": licences / "GPL-3"})
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path / "data")}
    _lab(env, "ingest", str(licences / "Artistic"), str(licences / "Apache-2.0"), str(licences / "BSD"),
         "--collection", "licences-draft")
    _lab(env, "collections")
    subprocess.run([sys.executable, "-c", "from lab.index.store import Store; s = Store(); "
                    "s.rename('licences-draft', 'licences'); s.remove_source('licences', 'BSD')"],
                   check=True, env=env, cwd=REPO)
    _lab(env, "ingest", str(licences / "GPL-3"), "--collection", "gpl", "--chunk-size", "256")
    before = {c["name"]: c for c in _lab(env, "collections")["collections"]}
    query = ["search", "the copyright holder may not be used to endorse", "--collection", "licences", "--k", "3"]
    hits = [(h["source"], h["id"]) for h in _lab(env, *query)["hits"]]
    assert set(before) == {"licences", "gpl"} and hits

    _flip(tmp_path / "data" / "chroma" / "chroma.sqlite3")
    refused = _lab(env, "collections", check_code=2)
    assert refused["kind"] == "DamagedStore" and "collections --rebuild" in refused["error"]

    rebuilt = _lab(env, "collections", "--rebuild")
    assert rebuilt["collections"] == {"licences": 2, "gpl": 1} and not rebuilt["failed"], rebuilt
    assert Path(rebuilt["moved_to"]).is_dir()  # the damaged folder is kept
    after = {c["name"]: c for c in _lab(env, "collections")["collections"]}
    for name in before:
        assert {k: after[name][k] for k in ("chunks", "embedder", "chunk_config")} == \
               {k: before[name][k] for k in ("chunks", "embedder", "chunk_config")}
    assert [(h["source"], h["id"]) for h in _lab(env, *query)["hits"]] == hits
    origins = subprocess.run([sys.executable, "-c", "from lab.index.store import Store; import json; "
                              "print(json.dumps(Store().source_details('licences')))"], capture_output=True,
                             text=True, check=True, env=env, cwd=REPO).stdout
    assert {d["origin"] for d in json.loads(origins).values()} == {str(licences)}


@pytest.mark.slow  # an ingest, then the Corpus page twice through AppTest
@pytest.mark.usefixtures("show_error_details")
def test_the_corpus_page_offers_the_rebuild_and_it_works(tmp_path, monkeypatch):
    from conftest import need_system_files
    from streamlit.testing.v1 import AppTest

    licences = Path("/usr/share/common-licenses")
    need_system_files({"base-files": licences / "BSD"})
    env = {**os.environ, "LAB_DATA_DIR": str(tmp_path / "data")}
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "data"))
    _lab(env, "ingest", str(licences / "BSD"), str(licences / "Artistic"), "--collection", "mine")
    _flip(tmp_path / "data" / "chroma" / "chroma.sqlite3")
    at = AppTest.from_file(str(REPO / "pages" / "corpus.py"), default_timeout=300)
    at.run()
    assert not at.exception and any("collections --rebuild" in e.value.replace("\\", "") for e in at.error)
    at.button(key="lab_rebuild_chroma").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "damaged" in e.value], [e.value for e in at.error]
    assert any("Rebuilt 1 collection" in s.value for s in at.success), [s.value for s in at.success]
    assert _lab(env, "collections")["collections"][0]["name"] == "mine"


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_database_a_killed_writer_left_mid_transaction_is_sound_not_damaged(tmp_path, journal):
    """A writer killed inside a transaction leaves a hot journal (or WAL): reading the file then needs a rollback,
    which a read-only connection cannot do ("attempt to write a readonly database"). That is a sound database, not
    a damaged one: the check rolls it back as Chroma's own open would, and keeps the committed rows."""
    import sqlite3

    from lab.index.chroma_client import probe

    path = tmp_path / "chroma.sqlite3"
    writer = (f"import os, sqlite3\n"
              f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
              f"db.execute('pragma journal_mode={journal}'); db.execute('pragma cache_size=1')\n"
              "db.execute('create table t (x text)'); db.execute(\"insert into t values ('kept')\")\n"
              "db.execute('begin'); db.executemany('insert into t values (?)', [('x' * 500,)] * 2000)\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", writer], check=True)
    assert any(p.name.endswith(("-journal", "-wal")) for p in tmp_path.iterdir()), "the writer left its journal"
    probe(path)
    with sqlite3.connect(path) as db:
        assert db.execute("select count(*) from t").fetchone()[0] == 1
