"""Your own embedder: a collection built with a sentence-transformers folder or an OpenAI-compatible embeddings
server records it, and every query uses it; a mismatch (another embedder into the collection, a server that answers
vectors of another size, a server that is down) is refused with what to do, before anything is written. On real
documents (Debian's licence texts); the server is a real HTTP server computing embeddings with the real MiniLM
model (no TEI or vLLM install is possible offline)."""

from __future__ import annotations

import json
import shutil
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from lab import cli
from tests.conftest import local_http, send_json
from tests.conftest import need_system_files

pytestmark = [pytest.mark.model, pytest.mark.server, pytest.mark.slow]
LICENCES = Path("/usr/share/common-licenses")


@pytest.fixture
def embeddings_server(real_embedder):
    class Handler(BaseHTTPRequestHandler):
        requests: list = []
        size = None  # None: the model's own; a number: vectors cut to that size (another model)

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            type(self).requests.append((self.path, body["model"], len(texts)))
            vectors = real_embedder.encode(texts).tolist()
            if type(self).size:
                vectors = [v[: type(self).size] for v in vectors]
            send_json(self, 200, {"object": "list", "data": [{"index": i, "embedding": v} for i, v in
                                                          reversed(list(enumerate(vectors)))]})

    handler = type("H", (Handler,), {"requests": [], "size": None})
    with local_http(handler, "/v1") as url:
        yield url, handler


@pytest.fixture
def licences(tmp_path, monkeypatch, lab_data_dir):
    need_system_files({"base-files": LICENCES})
    folder = tmp_path / "licences"
    folder.mkdir()
    for name in ("Apache-2.0", "MPL-2.0", "BSD", "GPL-3"):
        shutil.copy(LICENCES / name, folder / name)
    return folder


def _run(argv, capsys):
    code = cli.main(argv + ["--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_a_collection_built_on_an_embeddings_server_queries_through_it(embeddings_server, licences, capsys, store):
    url, handler = embeddings_server
    name = "own-embedder-server"
    if store.exists(name):
        store.delete(name)
    code, report = _run(["ingest", str(licences), "--collection", name, "--embedder", url, "--embedder-model",
                         "minilm-served"], capsys)
    assert code == 0 and report["documents"] == 4, report
    info = store.info(name)
    assert info.embedder.startswith("minilm-served @ 127.0.0.1:") and info.dim == 384
    assert json.loads(info.embedder_spec)["location"] == url
    handler.requests.clear()
    code, found = _run(["search", "Which licence states the Larger Work?", "--collection", name, "--mode", "dense"],
                       capsys)
    assert code == 0 and found["hits"][0]["source"] == "MPL-2.0"
    assert handler.requests == [("/v1/embeddings", "minilm-served", 1)]  # the query went to the server

    # more documents without naming the embedder: the collection's own is used
    (licences / "extra.md").write_text("# Extra\n\nThe Larger Work clause is in the MPL.\n")
    handler.requests.clear()
    code, report = _run(["ingest", str(licences / "extra.md"), "--collection", name], capsys)
    assert code == 0 and report["documents"] == 1 and handler.requests

    # another embedder into it: refused; a server that now answers another size: refused, nothing written
    from lab.index.embeddings import default_embedder_folder

    chunks = store.info(name).chunks
    code, error = _run(["ingest", str(licences / "extra.md"), "--collection", name, "--embedder",
                        str(default_embedder_folder())], capsys)
    assert code == 2 and "was built with embedder minilm-served" in error["error"]
    handler.size = 128
    code, error = _run(["search", "Larger Work", "--collection", name, "--mode", "dense"], capsys)
    assert code == 2 and "128 dimensions, not 384" in error["error"] and "another model" in error["error"]
    (licences / "more.md").write_text("# More\n\nA new text.\n")
    code, error = _run(["ingest", str(licences / "more.md"), "--collection", name], capsys)
    assert code == 2 and "128 dimensions, not 384" in error["error"]
    assert store.info(name).chunks == chunks
    store.delete(name)


def test_a_folder_embedder_and_a_server_that_is_down(licences, capsys, store, tmp_path):
    from lab.index.embeddings import default_embedder_folder

    name = "own-embedder-folder"
    if store.exists(name):
        store.delete(name)
    folder = str(default_embedder_folder())
    code, report = _run(["ingest", str(licences), "--collection", name, "--embedder", folder], capsys)
    assert code == 0 and store.info(name).embedder == str(Path(folder).resolve())
    code, found = _run(["search", "Larger Work", "--collection", name], capsys)
    assert code == 0 and found["hits"]
    store.delete(name)
    code, error = _run(["ingest", str(licences), "--collection", "own-embedder-down", "--embedder",
                        "http://127.0.0.1:9/v1", "--embedder-model", "m"], capsys)
    assert code == 2 and "127.0.0.1:9" in error["error"] and not store.exists("own-embedder-down")
    code, error = _run(["ingest", str(licences), "--collection", "x-y-z", "--embedder", "http://h/v1"], capsys)
    assert code == 2 and "--embedder-model" in error["error"]
    code, error = _run(["ingest", str(licences), "--collection", "x-y-z", "--embedder", str(tmp_path / "nope")],
                       capsys)
    assert code == 2 and "neither an http(s) URL nor a folder" in error["error"]


def test_the_sweep_compares_embedders_like_chunk_sizes(licences, capsys, store, tmp_path):
    """The collection's own embedder against a folder embedder, at one chunk size, on real documents."""
    from lab.index.embeddings import default_embedder_folder

    name = "own-embedder-sweep"
    if store.exists(name):
        store.delete(name)
    assert _run(["ingest", str(licences), "--collection", name], capsys)[0] == 0
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in (
        {"question": "Which licence defines a Larger Work?", "answer": "MPL", "sources": ["MPL-2.0"]},
        {"question": "Which licence is the GNU General Public License version 3?", "answer": "GPL-3",
         "sources": ["GPL-3"]},
        {"question": "Which licence has the Apache License Version 2.0 terms?", "answer": "Apache",
         "sources": ["Apache-2.0"]})) + "\n")
    code, document = _run(["sweep", "--collection", name, "--questions", str(questions), "--sizes", "256",
                           "--embedder", str(default_embedder_folder())], capsys)
    assert code == 0, document
    assert {r["embedder"] for r in document["rows"]} == {"all-MiniLM-L6-v2",
                                                         str(Path(default_embedder_folder()).resolve())}
    assert all("256/32 " in v for v in document["verdicts"])
    assert name in store.names() and len(store.names(sweeps=True)) > len(store.names())
    store.delete(name)
