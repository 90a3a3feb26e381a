"""A small JSON-over-HTTP client for OpenAI-compatible servers (chat completions, embeddings): standard library
only, and every fault handled one way for every caller.

- Keys go only to the configured host: no redirect is followed (a redirect is an error saying so).
- 429 and 5xx are retried, honouring `Retry-After` (capped), with capped exponential backoff and jitter;
  timeouts and dropped connections are retried a bounded number of times; 401, 403 and 404 raise `Fatal` (the
  key or the model name is wrong: no other request can succeed); any other failure is a ModelError.
- Bodies are capped in size and each try in total time (a server that drips its body is cut off).
"""

from __future__ import annotations

import http.client
import json
import math
import random
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from lab.errors import ModelError

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
FATAL_STATUS = frozenset({401, 403, 404})
MAX_ATTEMPTS = 6              # tries of one request on 429 / 5xx
MAX_NETWORK_RETRIES = 3       # more tries after a timeout or a dropped connection
BACKOFF_S, BACKOFF_CAP_S, RETRY_AFTER_CAP_S = 0.5, 30.0, 120.0
MAX_BODY_BYTES = 4 * 1024 * 1024


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


class Fatal(ModelError):
    """A failure no other answer of the batch can escape (wrong key, wrong model name)."""



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


class JsonClient:
    """POST and GET JSON at `base_url` (ending in /v1), with the key as a bearer token."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url, self.api_key, self.timeout, self.sleep = base_url, api_key, timeout, sleep
        self.retries = 0  # requests tried again, for the run's report

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def model_names(self) -> list[str]:
        """The model names GET /models lists ([] when the server has no such route, or a broken one); ModelError
        when the server cannot be reached or refuses the key."""
        request = urllib.request.Request(f"{self.base_url}/models", headers=self._headers())
        try:
            with _OPENER.open(request, timeout=min(self.timeout, 30)) as response:
                data = json.loads(_read_capped(response, time.monotonic() + 30, self.base_url).decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise ModelError(f"The endpoint {self.base_url} refused the API key (HTTP {exc.code}): check the key "
                                 "variable.") from exc
            return []  # no model list here (404, 405, a server error): the first answer will tell
        except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) \
                as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelError(f"Could not reach the endpoint {self.base_url}: {reason}. Is the server running and the "
                             "base URL right?") from exc
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, _Retry):
            return []
        listed = data.get("data") if isinstance(data, dict) else None
        return [m.get("id") for m in listed if isinstance(m, dict) and isinstance(m.get("id"), str)] \
            if isinstance(listed, list) else []

    def _post_once(self, path: str, body: dict, deadline: float) -> dict:
        request = urllib.request.Request(f"{self.base_url}{path}", json.dumps(body).encode(), self._headers())
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
                raise Fatal(f"The endpoint {self.base_url} redirected (HTTP {exc.code}) to {target[:200]}: the lab "
                             "follows no redirect, so that a key never travels to another host. Give the final "
                             "address as the base URL.") from exc
            if exc.code in RETRY_STATUS:
                raise _Retry(f"HTTP {exc.code}: {detail}", _retry_after(exc.headers.get("Retry-After"))) from exc
            message = (f"The endpoint {self.base_url} answered HTTP {exc.code}: {detail}. Check the model name, the "
                       "API key variable and the server log.")
            raise (Fatal if exc.code in FATAL_STATUS else ModelError)(message) from exc
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

    def post(self, path: str, body: dict) -> dict:
        """One request with its retries, within `timeout` for each try: the JSON object answered."""
        attempts, network = 0, 0
        while True:
            attempts += 1
            try:
                return self._post_once(path, body, time.monotonic() + self.timeout)
            except _Retry as exc:
                if exc.network:
                    network += 1
                if (network > MAX_NETWORK_RETRIES) if exc.network else (attempts >= MAX_ATTEMPTS):
                    raise ModelError(f"The endpoint {self.base_url} failed {attempts} times ({exc}); the answer is "
                                     "left out (a batch run can be resumed to ask it again).") from exc
                self.retries += 1
                backoff = min(BACKOFF_CAP_S, BACKOFF_S * 2 ** (attempts - 1)) * (0.5 + random.random() / 2)
                self.sleep(exc.wait if exc.wait is not None else backoff)
