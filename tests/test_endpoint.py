"""The OpenAI-compatible endpoint client against a protocol-level fake server on 127.0.0.1."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab.config import DecodingConfig
from lab.generation.endpoint import EndpointGenerator
from lab.errors import InputError, ModelError
from lab.generation.prompts import chat
from tests.conftest import send_json


class Handler(BaseHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append((self.path, dict(self.headers), body))
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": {"message": "not found"}})
        if body["model"] == "missing":
            return self._send(404, {"error": {"message": "The model `missing` does not exist."}})
        if body["model"] == "slow":
            time.sleep(1.5)
        question = body["messages"][-1]["content"]
        self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": f" echo: {question} "}}],
                         "usage": {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}})

    def _send(self, code, document):
        # a client that has given up (the timeout test) is not an error: a traceback printed from this thread
        # would race the main thread's ast.parse (CPython 3.11 bug gh-106905)
        send_json(self, code, document)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.server
def test_generates_with_usage_and_sends_the_key(server, monkeypatch):
    monkeypatch.setenv("LAB_TEST_KEY", "sk-secret")
    Handler.requests.clear()
    gen = EndpointGenerator(server, "tiny", api_key_env="LAB_TEST_KEY")
    out = gen.generate([chat("What is 2+2?"), chat("And 3+3?")], DecodingConfig(max_new_tokens=20))
    assert [g.text for g in out] == ["echo: Question: What is 2+2?", "echo: Question: And 3+3?"]
    assert (out[0].tokens_in, out[0].tokens_out) == (11, 4) and out[0].seconds > 0
    path, headers, body = Handler.requests[0]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-secret"
    assert body["max_tokens"] == 20 and body["temperature"] == 0.0 and body["messages"][0]["role"] == "system"
    assert "sk-secret" not in gen.name


@pytest.mark.server
def test_an_adapter_is_requested_as_a_model_name(server):
    Handler.requests.clear()
    EndpointGenerator(server + "/v1", "base").generate([chat("q")], DecodingConfig(), adapter="behaviour")
    assert Handler.requests[0][2]["model"] == "behaviour" and "Authorization" not in Handler.requests[0][1]


@pytest.mark.server
def test_an_error_response_becomes_a_clear_model_error(server):
    with pytest.raises(ModelError, match="HTTP 404.*does not exist"):
        EndpointGenerator(server, "missing").generate([chat("q")], DecodingConfig())


@pytest.mark.server
def test_a_timeout_is_retried_then_becomes_that_answers_error(server):
    waits = []
    gen = EndpointGenerator(server, "slow", timeout=0.5, sleep=waits.append)
    out = gen.generate([chat("q")], DecodingConfig())
    assert "no answer within 0 s" in out[0].error or "no answer within 1 s" in out[0].error
    assert out[0].text == "" and gen.retries == 3 and len(waits) == 3  # bounded: three more tries, then given up


def test_an_unreachable_endpoint_and_bad_settings(monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    gen = EndpointGenerator(f"http://127.0.0.1:{port}", "m", timeout=5, sleep=lambda s: None)
    with pytest.raises(ModelError, match="Could not reach"):
        gen.check()  # before any work starts
    assert "could not reach it" in gen.generate([chat("q")], DecodingConfig())[0].error
    monkeypatch.delenv("LAB_NO_SUCH_KEY", raising=False)
    with pytest.raises(InputError, match="LAB_NO_SUCH_KEY is not set"):
        EndpointGenerator("http://127.0.0.1:1", "m", api_key_env="LAB_NO_SUCH_KEY")
    with pytest.raises(InputError, match="http://"):
        EndpointGenerator("127.0.0.1:8000", "m")
