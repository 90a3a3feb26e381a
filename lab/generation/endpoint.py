"""An OpenAI-compatible chat endpoint as a `Generator` (vLLM, TGI, Ollama, hosted APIs). Standard library only.

    gen = EndpointGenerator("http://127.0.0.1:8000/v1", "my-model", api_key_env="OPENAI_API_KEY")
    gen.generate([prompts.chat("What is 2+2?")], DecodingConfig())[0].text

The API key is read from the environment variable whose NAME the user gives (never stored or shown), and sent
only to the URL's own host: the client follows no redirect. In the web app `policy` (the operator's
`EndpointPolicy`) decides which variables a visitor may name and which hosts a visitor may reach.
`adapter="name"` asks for that model name instead: vLLM serves LoRA adapters as extra model names
(`--enable-lora --lora-modules name=path`). Token counts come from the response's `usage`; a server that
reports none gets an estimate (about 4 characters a token) flagged `tokens_estimated`.

The generator's `name` (recorded with every answer and run) is `model @ host:port`: never the key, never
credentials or a query string that a URL may carry.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from lab.config import DecodingConfig
from lab.errors import InputError, ModelError
from lab.generation.endpoint_policy import EndpointPolicy, url_host
from lab.generation.models import Generation


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the HTTP error it is: an Authorization header must not follow it elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class EndpointGenerator:
    def __init__(self, base_url: str, model: str, api_key_env: str | None = None, timeout: float = 120.0,
                 policy: EndpointPolicy | None = None):
        base_url = base_url.strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"Endpoint base URL must start with http:// or https://, got {base_url!r}.")
        url_host(base_url)
        if not model.strip():
            raise InputError("Give the endpoint's model name (as listed by GET /v1/models).")
        api_key_env = (api_key_env or "").strip() or None
        if policy is not None:
            policy.check(base_url, api_key_env)
        self.api_key = None
        if api_key_env:
            self.api_key = os.environ.get(api_key_env.strip())
            if not self.api_key:
                raise InputError(f"Environment variable {api_key_env} is not set: export it before starting the "
                                 "lab, or leave the key variable empty for an endpoint without authentication.")
        self.base_url = base_url if base_url.endswith("/v1") else base_url + "/v1"
        self.model, self.timeout = model.strip(), timeout
        self.name = f"{self.model} @ {host_of(base_url)}"

    def _post(self, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", json.dumps(body).encode(), headers)
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                target = exc.headers.get("Location", "another address")
                raise ModelError(f"The endpoint {self.base_url} redirected (HTTP {exc.code}) to {target[:200]}: the lab "
                                 "follows no redirect, so that a key never travels to another host. Give the "
                                 "final address as the base URL.") from exc
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise ModelError(f"The endpoint {self.base_url} answered HTTP {exc.code}: {detail}. Check the model "
                             "name, the API key variable and the server log.") from exc
        except (TimeoutError, socket.timeout) as exc:
            raise ModelError(f"The endpoint {self.base_url} did not answer within {self.timeout:.0f} s: is it "
                             "overloaded? Raise the timeout or try again.") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise ModelError(f"The endpoint {self.base_url} did not answer within {self.timeout:.0f} s.") from exc
            raise ModelError(f"Could not reach the endpoint {self.base_url}: {exc.reason}. Is the server "
                             "running and the base URL right?") from exc
        except json.JSONDecodeError as exc:
            raise ModelError(f"The endpoint {self.base_url} did not return JSON: is it OpenAI-compatible?") from exc

    def generate(self, conversations: list[list[dict]], decoding: DecodingConfig, adapter: str | None = None,
                 continuous: bool = True, each: Callable[[int], None] | None = None) -> list[Generation]:
        """One request per conversation, in order (`continuous` is the server's business); every Generation
        carries its own request's wall time, and `each(i)` is called as request i is answered."""
        results = []
        for i, messages in enumerate(conversations):
            start = time.perf_counter()
            body = {"model": adapter or self.model, "messages": messages, "max_tokens": decoding.max_new_tokens,
                    "temperature": decoding.temperature}
            data = self._post(body)
            try:
                text = data["choices"][0]["message"]["content"] or ""
            except (KeyError, IndexError, TypeError) as exc:
                raise ModelError(f"Unexpected response from {self.base_url}: no choices[0].message.content.") from exc
            text = text.strip()
            usage = data.get("usage") or {}
            if "prompt_tokens" in usage and "completion_tokens" in usage:
                results.append(Generation(text, int(usage["prompt_tokens"]), int(usage["completion_tokens"]),
                                          time.perf_counter() - start))
            else:
                sent = sum(len(str(m.get("content", ""))) for m in messages)
                results.append(Generation(text, estimate_tokens(sent), estimate_tokens(len(text)),
                                          time.perf_counter() - start, True))
            if each:
                each(i)
        return results


def host_of(base_url: str) -> str:
    """Host and port of a URL, no credentials, path or query: host_of("https://u:p@api.x.com/v1") -> 'api.x.com'."""
    parts = urllib.parse.urlsplit(base_url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def estimate_tokens(characters: int) -> int:
    """About four characters a token (English text, BPE tokenizers): estimate_tokens(10) -> 3."""
    return math.ceil(characters / 4)
