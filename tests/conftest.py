"""Test setup: an isolated data directory per session, a shared converted-model cache, fakes for plumbing."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lab.config import SERVED_SCRIPT as SERVED  # noqa: F401 - what `make run` serves: app.py behind the gate (lab/gate.py)

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The GGUF -> safetensors conversion takes ~30 s: keep its result across test sessions.
os.environ.setdefault("LAB_MODELS_DIR", str(REPO / ".cache" / "models"))

# --- test tiers (markers in pytest.ini) ------------------------------------------------------------------------
# A test that uses one of these fixtures, directly or through another fixture, gets the tier's marker here, so a
# new test cannot land in the unit tier by forgetting a decorator. Tests that load a model, start a server or
# drive a browser without such a fixture carry the marker by hand.
MODEL_FIXTURES = {"real_embedder", "real_generator", "sample_collection"}
SERVER_FIXTURES = {"chroma_server", "chat_server"}
UNIT_TIER = "not model and not server and not browser and not slow"  # `make test-unit` sets LAB_UNIT_TIER=1
HEAVY_MODULES = ("torch", "transformers", "sentence_transformers", "peft")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(item.fixturenames)
        if used & MODEL_FIXTURES:
            item.add_marker(pytest.mark.model)
        callspec = getattr(item, "callspec", None)
        # any_store's "server" parameter asks for chroma_server at run time (getfixturevalue), not by name
        if used & SERVER_FIXTURES or (callspec is not None and callspec.params.get("any_store") == "server"):
            item.add_marker(pytest.mark.server)


def _heavy_loaded() -> list[str]:
    return [name for name in HEAVY_MODULES if name in sys.modules]


def _unit_tier(config) -> bool:
    return os.environ.get("LAB_UNIT_TIER") == "1" or config.getoption("markexpr", "") == UNIT_TIER


_HEAVY_IMPORTERS: list[str] = []  # in the unit tier: where torch & co. were first seen (a test id or phase)


def pytest_collection_finish(session):
    if _unit_tier(session.config) and _heavy_loaded():
        _HEAVY_IMPORTERS.append(f"collection ({', '.join(_heavy_loaded())})")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    before = _heavy_loaded()
    yield
    if _unit_tier(item.config) and _heavy_loaded() != before:
        _HEAVY_IMPORTERS.append(f"{item.nodeid} ({', '.join(sorted(set(_heavy_loaded()) - set(before)))})")


def pytest_sessionfinish(session, exitstatus):
    """The unit tier promises not to import torch (or transformers, sentence-transformers, peft): fail if it did."""
    if _unit_tier(session.config) and (_HEAVY_IMPORTERS or _heavy_loaded()) and exitstatus in (0, 5):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _unit_tier(config) and (_HEAVY_IMPORTERS or _heavy_loaded()):
        terminalreporter.write_sep("=", "unit tier imported a heavy library", red=True)
        terminalreporter.write_line(f"loaded at the end: {_heavy_loaded()}; first seen after: "
                                    f"{_HEAVY_IMPORTERS or ['(unknown)']}")
        terminalreporter.write_line("Mark such a test `model` (pytest.ini) or move the heavy import into the code "
                                    "that needs it.")


@pytest.fixture(scope="session", autouse=True)
def lab_data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("labdata")
    os.environ["LAB_DATA_DIR"] = str(path)
    os.environ.pop("LAB_CHROMA_HOST", None)
    # tests train and load adapters in their own tmp folders: allow those (lab.model_paths confines the rest)
    os.environ["LAB_ALLOWED_MODEL_DIRS"] = str(tmp_path_factory.getbasetemp())
    return path


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder: similar word sets give similar vectors."""

    name = "fake-embedder"
    dim = 64

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out

    def count_tokens(self, text: str) -> int:
        return len(text.split())


class FakeGenerator:
    """Echoes how many passages it saw: enough to test the paths' plumbing."""

    name = "fake-generator"

    def __init__(self):
        self.calls: list[list[dict]] = []
        self.batches: list[tuple[int, str | None]] = []  # (batch size, adapter)

    def generate(self, conversations, decoding, adapter=None, continuous=True, each=None):
        from lab.generation.models import Generation

        self.batches.append((len(conversations), adapter))
        results = []
        for i, messages in enumerate(conversations):
            if each and results:
                each(i - 1)
            self.calls.append(messages)
            user = messages[-1]["content"]
            who = f"{adapter} " if adapter else ""
            seen = len(re.findall(r"^\[\d+\] ", user, re.M))
            results.append(Generation(f"{who}saw {seen} passages", len(user.split()), 3, 0.004))
        if each and results:
            each(len(results) - 1)
        return results


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_generator() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture(scope="session")
def real_embedder():
    from lab.index.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def real_generator():
    from lab.generation.models import LocalGenerator

    return LocalGenerator()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on 127.0.0.1 for the session; yields its host:port."""
    import sys

    port = _free_port()
    exe = Path(sys.executable).parent / "chroma"
    log = tmp_path_factory.mktemp("chroma-server") / "server.log"
    proc = start_server([str(exe), "run", "--path", str(log.parent / "db"), "--host", "127.0.0.1", "--port",
                         str(port)], f"http://127.0.0.1:{port}/api/v2/heartbeat", log, 60)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def start_server(argv: list[str], ready_url: str, log: Path, timeout: float, env: dict | None = None):
    """A server process (its output in `log`), returned once `ready_url` answers; RuntimeError with the log's
    tail when it exits or does not answer in `timeout` seconds."""
    import time
    import urllib.request

    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(ready_url, timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"{Path(argv[0]).name} did not start: {log.read_text()[-3000:]}")
            time.sleep(0.3)


@pytest.fixture(scope="session")
def store():
    """The embedded store (what the app uses by default)."""
    from lab.index.store import Store

    return Store()


@pytest.fixture(params=["embedded", "server"])
def any_store(request, store):
    """Index tests run against the embedded client and against a real Chroma server."""
    if request.param == "embedded":
        return store
    from lab.index.store import Store

    return Store(request.getfixturevalue("chroma_server"))


@pytest.fixture(scope="session")
def sample_collection(real_embedder, store) -> str:
    """The sample corpus ingested once per session with the real embedder."""
    from lab.config import SAMPLE_DOCS
    from lab.index.ingest import ingest

    ingest([SAMPLE_DOCS], "sample", real_embedder, store)
    return "sample"


@pytest.fixture
def show_error_details():
    """The app hides tracebacks from viewers (.streamlit/config.toml); AppTests need to read them."""
    from streamlit import config

    before = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "full")
    yield
    config.set_option("client.showErrorDetails", before)


@pytest.fixture
def fake_app(monkeypatch, fake_embedder, store, tmp_path) -> str:
    """Pages backed by fakes: `pages.ui.resources`' generator and embedder become FakeGenerator (which can "load"
    an adapter) and FakeEmbedder, over a small collection built with the fake embedder; returns its name."""
    from lab.index.ingest import ingest
    from pages.ui import resources

    class AdapterFakeGenerator(FakeGenerator):
        def load_adapter(self, folder):
            return Path(folder).name

    generator = AdapterFakeGenerator()
    monkeypatch.setattr(resources, "generator", lambda name=None, backend="transformers": generator)
    monkeypatch.setattr(resources, "embedder", lambda spec=None: fake_embedder)
    docs = tmp_path / "fake-app-docs"
    docs.mkdir()
    (docs / "pricing.md").write_text("# Pricing\n\nThe Team plan costs $14 per user per month.\n")
    (docs / "retention.md").write_text("# Retention\n\nThe default snapshot retention is 45 days.\n")
    name = "fake-app"
    if store.exists(name):
        store.delete(name)
    ingest([docs], name, fake_embedder, store)
    return name


class ChatHandler:
    """An OpenAI-compatible chat-completions server at the protocol level: 'Port 7443 [1].' when the prompt
    carries a passage mentioning it, else "I don't know."; usage 12 in / 4 out, none for the model
    `no-usage`. The model `judge` grades (CORRECT when the candidate holds the reference and no "not"),
    `judge-unsure` answers without a verdict. Offered tools, it calls the first with the query "api port" when
    the question mentions a port, and answers without a call otherwise. Every request's (headers, body) is
    appended to `bodies`."""

    @staticmethod
    def make(bodies: list):
        import json
        from http.server import BaseHTTPRequestHandler

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                bodies.append((dict(self.headers), body))
                prompt = body["messages"][-1]["content"]
                text = "Port 7443 [1]." if "7443" in prompt else "I don't know."
                if body["model"] == "judge":  # grades like a careful reader: the gold stated, not negated
                    gold = prompt.split("Reference answer: ")[1].split("\n")[0].lower()
                    candidate = prompt.split("Candidate answer: ")[1].split("\nVerdict:")[0].lower()
                    text = "CORRECT" if gold in candidate and " not " not in f" {candidate} " else "INCORRECT."
                elif body["model"] == "judge-unsure":
                    text = "It is hard to say."
                message = {"role": "assistant", "content": text}
                if body.get("tools") and body["messages"][-1]["role"] == "user":  # offered a tool: a port question
                    asked = prompt.lower()                                       # searches, any other answers
                    message = {"role": "assistant", "content": None, "tool_calls": [{
                        "id": "call-1", "type": "function", "function": {
                            "name": body["tools"][0]["function"]["name"],
                            "arguments": json.dumps({"query": "api port"})}}]} if "port" in asked else \
                        {"role": "assistant", "content": "No search needed."}
                document = {"object": "chat.completion", "model": body["model"],
                            "choices": [{"index": 0, "message": message}]}
                if body["model"] != "no-usage":
                    document["usage"] = {"prompt_tokens": 12, "completion_tokens": 4}
                raw = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler


@pytest.fixture(scope="session")
def chat_server():
    """(base url ending in /v1, the list of requests it received) of a running `ChatHandler` server."""
    import threading
    from http.server import ThreadingHTTPServer

    bodies: list = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler.make(bodies))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", bodies
    httpd.shutdown()
    httpd.server_close()


@contextlib.contextmanager
def streamlit_app(script: Path, env: dict, log_path: Path):
    """A real `streamlit run SCRIPT` (SERVED: what `make run` serves) on a free local port, yielding its URL once it answers its health check."""
    from lab.bench.app import free_port, wait_for_health
    from lab.errors import LabError

    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                                cwd=Path(__file__).resolve().parent.parent, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, proc, timeout=90)
    except LabError:
        proc.kill()
        raise RuntimeError(log_path.read_text()[-3000:]) from None
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- a real browser -----------------------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


# A page is idle once Streamlit marks its root with a finished script state (browser tests wait for it after a
# click or a typed value instead of a fixed pause).
IDLE = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    return app !== null && !["initial", "running", "rerunRequested"].includes(app.getAttribute("data-test-script-state"));
}"""


@contextlib.contextmanager
def chromium():
    """Debian's Chromium, headless, driven by Playwright (browser downloads are impossible offline)."""
    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs Debian's chromium package"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


# --- small HTTP servers the endpoint tests stand up ---------------------------------------------------------------
def send_json(handler, code: int, document, headers: dict | None = None) -> None:
    """Answer `handler`'s request with `document` as JSON (bytes are sent as they are); a client that has gone
    (a timeout test) is not an error of the server's."""
    import json

    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    handler.send_response(code)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    try:
        handler.wfile.write(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass


@contextlib.contextmanager
def local_http(handler_class, suffix: str = ""):
    """A ThreadingHTTPServer of `handler_class` on a free 127.0.0.1 port: yields its base URL (+ `suffix`)."""
    import threading
    from http.server import ThreadingHTTPServer

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{suffix}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def need_system_files(required: dict[str, Path]) -> None:
    """Skip when a system package the test reads is missing (`make test-system` installs them), but fail under
    `make test`, which sets LAB_REQUIRE_SYSTEM_PACKAGES: a real-corpus test must never pass by not running."""
    missing = [package for package, path in required.items() if not Path(path).exists()]
    if missing:
        message = f"{', '.join(missing)} missing: run `make test-system` (or `make test`)"
        if os.environ.get("LAB_REQUIRE_SYSTEM_PACKAGES"):
            pytest.fail(message)
        pytest.skip(message)
