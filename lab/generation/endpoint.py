"""An OpenAI-compatible chat endpoint as a `Generator` (vLLM, TGI, Ollama, `transformers serve`, hosted APIs).
Standard library only.

    gen = EndpointGenerator("http://127.0.0.1:8000/v1", "my-model", api_key_env="OPENAI_API_KEY")
    gen.generate([prompts.chat("What is 2+2?")], DecodingConfig())[0].text

- **Keys.** The API key is read from the environment variable whose NAME the user gives (never stored or shown)
  and sent only to the URL's own host: the client follows no redirect. In the web app `policy` (the operator's
  `EndpointPolicy`) decides which variables a visitor may name and which hosts a visitor may reach.
- **Adapters.** `adapter="name"` asks for that model name instead: vLLM serves LoRA adapters as extra model names
  (`--enable-lora --lora-modules name=path`), and a merged model is served under its own name.
- **Requests in flight.** A batch keeps `concurrency` requests in flight; `each(i, generation)` is called as answer i arrives
  (in any order, with its Generation), so the caller stores and counts each answer as it completes.
- **Faults.** 429 and 5xx are retried, honouring `Retry-After` (capped), with capped exponential backoff and
  jitter; timeouts and dropped connections are retried a bounded number of times. 401, 403 and 404 (a wrong key or
  model name) stop the batch with the server's message; any other failure is that answer's `error`, never the
  batch's: every finished answer is kept.
- **Shape and size.** Every response is checked: `content` must be text (the multi-part list form is joined), usage
  counts must be whole numbers in a sane range (else estimated and flagged), the body is capped in size and the
  request in total time (a server that drips its body is cut off at the deadline).
- **Like for like.** The answer stops at its first blank line (sent as a stop sequence, then cut by the same
  `answer_text` as local answers), so local and endpoint answers end the same way. Token counts come from the
  response's `usage`; a server that reports none gets an estimate (about 4 characters a token), flagged.

The generator's `name` (recorded with every answer and run) is `model @ host:port`: never the key, never
credentials or a query string that a URL may carry.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from email.utils import parsedate_to_datetime

from lab.config import DecodingConfig
from lab.errors import InputError, ModelError
from lab.generation.endpoint_policy import EndpointPolicy, url_host
from lab.generation.models import Generation

CONCURRENCY = 8
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
FATAL_STATUS = frozenset({401, 403, 404})  # the key or the model name is wrong: no answer of the batch can succeed
MAX_ATTEMPTS = 6              # tries of one request on 429 / 5xx
MAX_NETWORK_RETRIES = 3       # more tries after a timeout or a dropped connection
BACKOFF_S, BACKOFF_CAP_S, RETRY_AFTER_CAP_S = 0.5, 30.0, 120.0
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_ANSWER_CHARS = 32_000
MAX_USAGE_TOKENS = 10_000_000


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the HTTP error it is: an Authorization header must not follow it elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class _Retry(Exception):
    """A failure worth another try after `wait` seconds (None: the backoff decides)."""

    def __init__(self, message: str, wait: float | None = None, network: bool = False):
        super().__init__(message)
        self.wait, self.network = wait, network


class _Fatal(ModelError):
    """A failure no other answer of the batch can escape (wrong key, wrong model name)."""


class EndpointGenerator:
    def __init__(self, base_url: str, model: str, api_key_env: str | None = None, timeout: float = 120.0,
                 policy: EndpointPolicy | None = None, concurrency: int = CONCURRENCY,
                 sleep: Callable[[float], None] = time.sleep):
        base_url = base_url.strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"Endpoint base URL must start with http:// or https://, got {base_url!r}.")
        url_host(base_url)
        if not model.strip():
            raise InputError("Give the endpoint's model name (as listed by GET /v1/models).")
        if not 1 <= int(concurrency) <= 256:
            raise InputError(f"Requests in flight must be 1-256, got {concurrency}.")
        api_key_env = (api_key_env or "").strip() or None
        if policy is not None:
            policy.check(base_url, api_key_env)
        self.api_key = None
        if api_key_env:
            self.api_key = os.environ.get(api_key_env)
            if not self.api_key:
                raise InputError(f"Environment variable {api_key_env} is not set: export it before starting the "
                                 "lab, or leave the key variable empty for an endpoint without authentication.")
        self.base_url = base_url if base_url.endswith("/v1") else base_url + "/v1"
        self.model, self.timeout, self.concurrency, self.sleep = model.strip(), timeout, int(concurrency), sleep
        self.name = f"{self.model} @ {host_of(base_url)}"
        self.retries = 0  # requests tried again, for the run's report

    def check(self) -> None:
        """Before any work: the server answers, the key is accepted and (where it lists its models) the model name,
        or adapter names, are among them; ModelError saying which is wrong otherwise."""
        self.served_models()

    def served_models(self, wanted: tuple[str, ...] = ()) -> list[str]:
        """The model names GET /v1/models lists ([] when the server has no such route); ModelError when the server
        cannot be reached, refuses the key, or lists models that do not include the model or `wanted`."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        request = urllib.request.Request(f"{self.base_url}/models", headers=headers)
        try:
            with _OPENER.open(request, timeout=min(self.timeout, 30)) as response:
                data = json.loads(_read_capped(response, time.monotonic() + 30, self.base_url).decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise ModelError(f"The endpoint {self.base_url} refused the API key (HTTP {exc.code}): check the key "
                                 "variable.") from exc
            return []  # no model list here (404, 405): the first answer will tell
        except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) \
                as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelError(f"Could not reach the endpoint {self.base_url}: {reason}. Is the server running and the "
                             "base URL right?") from exc
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, _Retry):
            return []
        listed = data.get("data") if isinstance(data, dict) else None
        names = [m.get("id") for m in listed if isinstance(m, dict) and isinstance(m.get("id"), str)] \
            if isinstance(listed, list) else []
        missing = [m for m in (self.model, *wanted) if names and m not in names]
        if missing:
            raise ModelError(f"The endpoint {self.base_url} does not serve {', '.join(missing)}; it serves "
                             f"{', '.join(names[:20])}. Give one of those names (an adapter is served under the name "
                             "given to vLLM's --lora-modules NAME=DIR).")
        return names

    # --- one request ---------------------------------------------------------------------------------------------
    def _post_once(self, body: dict, deadline: float) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", json.dumps(body).encode(), headers)
        left = deadline - time.monotonic()
        if left <= 0:
            raise ModelError(f"The endpoint {self.base_url} did not answer within {self.timeout:.0f} s.")
        try:
            with _OPENER.open(request, timeout=min(left, self.timeout)) as response:
                raw = _read_capped(response, deadline, self.base_url)
        except urllib.error.HTTPError as exc:
            detail = _detail(exc)
            if 300 <= exc.code < 400:
                target = exc.headers.get("Location", "another address")
                raise _Fatal(f"The endpoint {self.base_url} redirected (HTTP {exc.code}) to {target[:200]}: the lab "
                             "follows no redirect, so that a key never travels to another host. Give the final "
                             "address as the base URL.") from exc
            if exc.code in RETRY_STATUS:
                raise _Retry(f"HTTP {exc.code}: {detail}", _retry_after(exc.headers.get("Retry-After"))) from exc
            message = (f"The endpoint {self.base_url} answered HTTP {exc.code}: {detail}. Check the model name, the "
                       "API key variable and the server log.")
            raise (_Fatal if exc.code in FATAL_STATUS else ModelError)(message) from exc
        except (TimeoutError, socket.timeout) as exc:
            raise _Retry(f"no answer within {self.timeout:.0f} s", network=True) from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise _Retry(f"no answer within {self.timeout:.0f} s", network=True) from exc
            raise _Retry(f"could not reach it ({exc.reason})", network=True) from exc
        except (ConnectionError, http.client.HTTPException) as exc:
            raise _Retry(f"the connection dropped ({type(exc).__name__})", network=True) from exc
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ModelError(f"The endpoint {self.base_url} answered with a body that is not UTF-8 text.") from exc
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ModelError(f"The endpoint {self.base_url} did not return JSON: is it OpenAI-compatible?") from exc
        if not isinstance(data, dict):
            raise ModelError(f"The endpoint {self.base_url} returned a JSON {type(data).__name__}, not an object.")
        return data

    def _post(self, body: dict) -> dict:
        """One request with its retries, within `timeout` for each try."""
        attempts, network = 0, 0
        while True:
            attempts += 1
            try:
                return self._post_once(body, time.monotonic() + self.timeout)
            except _Retry as exc:
                if exc.network:
                    network += 1
                if (network > MAX_NETWORK_RETRIES) if exc.network else (attempts >= MAX_ATTEMPTS):
                    raise ModelError(f"The endpoint {self.base_url} failed {attempts} times ({exc}); the answer is "
                                     "left out and can be asked again by resuming the run.") from exc
                self.retries += 1
                backoff = min(BACKOFF_CAP_S, BACKOFF_S * 2 ** (attempts - 1)) * (0.5 + random.random() / 2)
                self.sleep(exc.wait if exc.wait is not None else backoff)

    def _one(self, messages: list[dict], decoding: DecodingConfig, adapter: str | None) -> Generation:
        from lab.generation.prompts import ANSWER_ENDS, answer_text

        start = time.perf_counter()
        body = {"model": adapter or self.model, "messages": messages, "max_tokens": decoding.max_new_tokens,
                "temperature": decoding.temperature, "stop": list(ANSWER_ENDS)}
        try:
            content, usage = parse_response(self._post(body), self.base_url)
        except _Fatal:
            raise
        except ModelError as exc:
            return Generation("", 0, 0, time.perf_counter() - start, error=str(exc))
        text = answer_text(content)
        seconds = time.perf_counter() - start
        if usage is None:
            sent = sum(len(str(m.get("content", ""))) for m in messages)
            return Generation(text, estimate_tokens(sent), estimate_tokens(len(text)), seconds, True)
        return Generation(text, usage[0], usage[1], seconds)

    # --- a batch -------------------------------------------------------------------------------------------------
    def generate(self, conversations: list[list[dict]], decoding: DecodingConfig, adapter: str | None = None,
                 continuous: bool = True, each: Callable[[int], None] | None = None) -> list[Generation]:
        """Every conversation answered, `concurrency` requests in flight; `each(i, generation)` as answer i arrives. A wrong
        key or model name raises ModelError at once (the answers that arrived before it were passed to `each`);
        an exception from `each` (a cancel) stops the batch, dropping the requests not yet sent."""
        results: list[Generation | None] = [None] * len(conversations)
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, max(1, len(conversations))),
                                  thread_name_prefix="endpoint")
        try:
            pending = {pool.submit(self._one, messages, decoding, adapter): i
                       for i, messages in enumerate(conversations)}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    i = pending.pop(future)
                    results[i] = future.result()  # a _Fatal is raised here
                    if each:
                        each(i, results[i])
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return results  # type: ignore[return-value]


def parse_response(data: dict, where: str = "the endpoint") -> tuple[str, tuple[int, int] | None]:
    """The answer text and (prompt, completion) tokens of a chat completion; ModelError for a shape that is not
    one. Usage that is missing, not whole numbers, negative or absurd is None (the caller estimates and flags).

    >>> parse_response({"choices": [{"message": {"content": "Hi"}}], "usage": {"prompt_tokens": 3,
    ...                 "completion_tokens": 1}})
    ('Hi', (3, 1))
    >>> parse_response({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"text": "b"}]}}],
    ...                 "usage": {"prompt_tokens": -5, "completion_tokens": 1}})
    ('ab', None)
    """
    choices = data.get("choices")
    message = choices[0].get("message") if isinstance(choices, list) and choices and isinstance(choices[0], dict) \
        else None
    if not isinstance(message, dict):
        raise ModelError(f"Unexpected response from {where}: no choices[0].message.")
    content = message.get("content")
    if content is None:
        content = ""
    elif isinstance(content, list):  # the multi-part form: text parts joined
        content = "".join(part.get("text", "") for part in content
                          if isinstance(part, dict) and isinstance(part.get("text", ""), str))
    elif not isinstance(content, str):
        raise ModelError(f"Unexpected response from {where}: the answer's content is a {type(content).__name__}, "
                         "not text.")
    if len(content) > MAX_ANSWER_CHARS:
        raise ModelError(f"The answer from {where} is {len(content):,} characters, over the lab's limit of "
                         f"{MAX_ANSWER_CHARS:,}: lower max tokens, or check the server.")
    usage = data.get("usage")
    counts = (usage.get("prompt_tokens"), usage.get("completion_tokens")) if isinstance(usage, dict) else (None,)
    sane = len(counts) == 2 and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_USAGE_TOKENS
                                    for n in counts)
    return content, (counts if sane else None)


def _read_capped(response, deadline: float, where: str) -> bytes:
    """The body, read in pieces: refused past MAX_BODY_BYTES or past the request's deadline (a dripping server)."""
    parts, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise _Retry("the body was still arriving at the deadline", network=True)
        piece = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
        if not piece:
            return b"".join(parts)
        size += len(piece)
        if size > MAX_BODY_BYTES:
            raise ModelError(f"The endpoint {where} sent a body over {MAX_BODY_BYTES // 2**20} MiB; refused.")
        parts.append(piece)


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read(2000).decode("utf-8", "replace")[:300]
    except (OSError, ValueError):
        return "(no body)"


def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (seconds or an HTTP date), capped; None when absent or unreadable.

    >>> _retry_after("3"), _retry_after("99999"), _retry_after("soon"), _retry_after(None)
    (3.0, 120.0, None, None)
    """
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(0.0, min(RETRY_AFTER_CAP_S, seconds)) if math.isfinite(seconds) else None


def host_of(base_url: str) -> str:
    """Host and port of a URL, no credentials, path or query: host_of("https://u:p@api.x.com/v1") -> 'api.x.com'."""
    parts = urllib.parse.urlsplit(base_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def estimate_tokens(characters: int) -> int:
    """About four characters a token (English text, BPE tokenizers): estimate_tokens(10) -> 3."""
    return math.ceil(characters / 4)
