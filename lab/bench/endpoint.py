"""The `endpoint_throughput` figure: how much of a server's capacity the lab's endpoint client uses.

A local OpenAI-compatible server answers each request after a fixed latency and serves at most `capacity`
requests at once (a semaphore, like a GPU server's batch slots), so it allows capacity / latency answers a
second. The lab's client runs a batch against it with its default requests in flight; the baseline is the same
batch one request at a time (the lab before requests went in flight). The figure is the lab's throughput as a
share of what the server allows (target >= 0.8); the one-at-a-time throughput is reported beside it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lab.bench.figure import Figure, meets


def _server(latency: float, capacity: int) -> ThreadingHTTPServer:
    slots = threading.BoundedSemaphore(capacity)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            with slots:
                time.sleep(latency)
            raw = json.dumps({"choices": [{"message": {"content": "42"}}],
                              "usage": {"prompt_tokens": 20, "completion_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def bench_endpoint_throughput(requests: int = 96, latency: float = 0.1, capacity: int = 8) -> Figure:
    from lab.config import DecodingConfig
    from lab.generation.endpoint import CONCURRENCY, EndpointGenerator
    from lab.generation.prompts import chat

    httpd = _server(latency, capacity)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    conversations = [chat(f"Question {i}?") for i in range(requests)]
    try:
        timings = {}
        for flight in (CONCURRENCY, 1):
            generator = EndpointGenerator(url, "m", concurrency=flight)
            batch = conversations if flight > 1 else conversations[: max(8, requests // 8)]
            start = time.perf_counter()
            out = generator.generate(batch, DecodingConfig(max_new_tokens=8))
            elapsed = time.perf_counter() - start
            assert all(g.error is None for g in out), [g.error for g in out if g.error][:1]
            timings[flight] = len(batch) / elapsed
    finally:
        httpd.shutdown()
        httpd.server_close()
    allowed = capacity / latency
    share = timings[CONCURRENCY] / allowed
    return Figure("endpoint_throughput", round(timings[CONCURRENCY], 2), round(allowed, 2), "answers/s",
                  round(share, 3), ">= 0.8", meets(share, ">= 0.8"),
                  {"one_at_a_time_per_s": round(timings[1], 2), "requests_in_flight": CONCURRENCY,
                   "server_latency_s": latency, "server_capacity": capacity, "requests": requests})
