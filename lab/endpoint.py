"""An OpenAI-compatible chat endpoint as a `Generator` (vLLM, TGI, Ollama, hosted APIs). Standard library only.

    gen = EndpointGenerator("http://127.0.0.1:8000/v1", "my-model", api_key_env="OPENAI_API_KEY")
    gen.generate([prompts.chat("What is 2+2?")], DecodingConfig())[0].text

The API key is read from the environment variable whose NAME the user gives (never stored or shown).
`adapter="name"` asks for that model name instead: vLLM serves LoRA adapters as extra model names
(`--enable-lora --lora-modules name=path`). Token counts come from the response's `usage`.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request

from lab.config import DecodingConfig
from lab.errors import InputError, ModelError
from lab.models import Generation


class EndpointGenerator:
    def __init__(self, base_url: str, model: str, api_key_env: str | None = None, timeout: float = 120.0):
        base_url = base_url.strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"Endpoint base URL must start with http:// or https://, got {base_url!r}.")
        if not model.strip():
            raise InputError("Give the endpoint's model name (as listed by GET /v1/models).")
        self.api_key = None
        if api_key_env:
            self.api_key = os.environ.get(api_key_env.strip())
            if not self.api_key:
                raise InputError(f"Environment variable {api_key_env} is not set: export it before starting the "
                                 "lab, or leave the key variable empty for an endpoint without authentication.")
        self.base_url = base_url if base_url.endswith("/v1") else base_url + "/v1"
        self.model, self.timeout = model.strip(), timeout
        self.name = f"{self.model} @ {base_url}"

    def _post(self, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
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

    def generate(self, conversations: list[list[dict]], decoding: DecodingConfig,
                 adapter: str | None = None) -> list[Generation]:
        results = []
        for messages in conversations:
            body = {"model": adapter or self.model, "messages": messages, "max_tokens": decoding.max_new_tokens,
                    "temperature": decoding.temperature}
            start = time.perf_counter()
            data = self._post(body)
            seconds = time.perf_counter() - start
            try:
                text = data["choices"][0]["message"]["content"] or ""
            except (KeyError, IndexError, TypeError) as exc:
                raise ModelError(f"Unexpected response from {self.base_url}: no choices[0].message.content.") from exc
            usage = data.get("usage") or {}
            results.append(Generation(text.strip(), int(usage.get("prompt_tokens", 0)),
                                      int(usage.get("completion_tokens", 0)), seconds))
        return results
