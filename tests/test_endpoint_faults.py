"""The endpoint client against a server that misbehaves on purpose: rate limits, overload, malformed answers,
huge or dripping bodies, bad usage. Each fault is that answer's own error (retried first where a retry can help);
every other answer of the batch is kept; requests go N at a time."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from lab.config import DecodingConfig
from lab.generation.endpoint import MAX_ANSWER_CHARS, EndpointGenerator
from lab.generation.prompts import chat
from tests.conftest import local_http, send_json

pytestmark = pytest.mark.server


class Faulty(BaseHTTPRequestHandler):
    """The question says what to do: 'ok', 'rate-limited' (429 twice, then ok), 'overloaded' (503 once), 'number'
    (content 42), 'parts' (multi-part content), 'bad-usage', 'latin1' (a body that is not UTF-8), 'huge', 'drip'
    (the body a byte at a time), 'bad-request' (400), 'slow-N' (N tenths of a second, to count requests in flight)."""

    tries: dict = {}
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        question = body["messages"][-1]["content"].split("Question: ")[-1].strip()
        cls = type(self)
        with cls.lock:
            cls.tries[question] = cls.tries.get(question, 0) + 1
            tries = cls.tries[question]
            cls.in_flight += 1
            cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
        try:
            self._answer(question, tries, body)
        finally:
            with cls.lock:
                cls.in_flight -= 1

    def _answer(self, question, tries, body):
        usage = {"prompt_tokens": 10, "completion_tokens": 2}
        content: object = f"answer to {question}\n\nscaffolding the stop sequence cuts"
        if question == "rate-limited" and tries <= 2:
            return self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        if question == "overloaded" and tries == 1:
            return self._send(503, {"error": {"message": "busy"}})
        if question == "bad-request":
            return self._send(400, {"error": {"message": "context too long"}})
        if question.startswith("slow-"):
            time.sleep(int(question.split("-")[1].split()[0]) / 10)
        if question == "number":
            content = 42
        elif question == "parts":
            content = [{"type": "text", "text": "multi"}, {"type": "text", "text": "part"}]
        elif question == "bad-usage":
            usage = {"prompt_tokens": -3, "completion_tokens": "many"}
        elif question == "huge":
            content = "x" * (MAX_ANSWER_CHARS + 1)
        raw = json.dumps({"choices": [{"message": {"content": content}}], "usage": usage}).encode()
        if question == "latin1":
            raw = '{"choices": [{"message": {"content": "café"}}]}'.encode("latin-1")
        if question == "drip":
            self.send_response(200)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            for byte in raw:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.05)
            return
        self._send(200, raw)

    def _send(self, code, document, headers=None):
        send_json(self, code, document, headers)


@pytest.fixture
def faulty():
    handler = type("Handler", (Faulty,), {"tries": {}, "in_flight": 0, "most_in_flight": 0,
                                          "lock": threading.Lock()})
    with local_http(handler) as url:
        yield url, handler


def _ask(url, questions, **options):
    waits: list[float] = []
    gen = EndpointGenerator(url, "m", sleep=waits.append, **options)
    arrived: list[int] = []
    out = gen.generate([chat(q) for q in questions], DecodingConfig(max_new_tokens=16), each=lambda i, _: arrived.append(i))
    return gen, out, waits, arrived


def test_every_fault_is_that_answers_own_and_the_rest_are_kept(faulty):
    url, handler = faulty
    questions = ["ok", "rate-limited", "overloaded", "number", "parts", "bad-usage", "latin1", "huge",
                 "bad-request", "ok again"]
    gen, out, waits, arrived = _ask(url, questions)
    by = dict(zip(questions, out))
    assert sorted(arrived) == list(range(len(questions)))  # each answer reported as it arrived
    assert by["ok"].text == "answer to ok" and by["ok"].error is None  # cut at the blank line, like local answers
    assert by["ok again"].text == "answer to ok again"
    assert by["rate-limited"].text == "answer to rate-limited" and handler.tries["rate-limited"] == 3
    assert by["overloaded"].text == "answer to overloaded" and handler.tries["overloaded"] == 2
    assert waits.count(0.0) == 2 and gen.retries == 3  # Retry-After: 0 honoured twice; 503's backoff once
    assert "content is a int" in by["number"].error and by["number"].text == ""
    assert by["parts"].text == "multipart"
    assert by["bad-usage"].tokens_estimated and by["bad-usage"].tokens_in > 0 and by["bad-usage"].error is None
    assert "not UTF-8" in by["latin1"].error
    assert "over the lab's limit" in by["huge"].error
    assert "HTTP 400" in by["bad-request"].error and handler.tries["bad-request"] == 1  # not retried


def test_a_dripping_body_is_cut_at_the_deadline(faulty):
    url, handler = faulty
    start = time.monotonic()
    gen, out, waits, _ = _ask(url, ["drip"], timeout=1.0)
    assert "still arriving at the deadline" in out[0].error
    assert time.monotonic() - start < 15  # four tries of ~1 s, not the body's ~5 s each


def test_requests_go_n_at_a_time(faulty):
    url, handler = faulty
    gen, out, _, _ = _ask(url, [f"slow-3 {i}" for i in range(16)], concurrency=8)
    assert all(g.error is None for g in out) and handler.most_in_flight == 8
    gen, out, _, _ = _ask(url, [f"slow-1 {i}" for i in range(4)], concurrency=1)
    assert handler.most_in_flight == 8  # (unchanged: one at a time never exceeds it)
