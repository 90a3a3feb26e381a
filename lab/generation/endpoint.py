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

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from lab.config import DecodingConfig
from lab.endpoint_policy import EndpointPolicy, host_of, url_host
from lab.errors import InputError, ModelError
from lab.generation.models import Generation
from lab.http_client import Fatal, JsonClient

CONCURRENCY = 8
MAX_ANSWER_CHARS = 32_000
MAX_USAGE_TOKENS = 10_000_000


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
        self.model, self.timeout, self.concurrency = model.strip(), timeout, int(concurrency)
        self.client = JsonClient(self.base_url, self.api_key, timeout, sleep)
        self.name = f"{self.model} @ {host_of(base_url)}"

    def check(self) -> None:
        """Before any work: the server answers, the key is accepted and (where it lists its models) the model name,
        or adapter names, are among them; ModelError saying which is wrong otherwise."""
        self.served_models()

    def served_models(self, wanted: tuple[str, ...] = ()) -> list[str]:
        """The model names GET /v1/models lists ([] when the server has no such route); ModelError when the server
        cannot be reached, refuses the key, or lists models that do not include the model or `wanted`."""
        names = self.client.model_names()
        missing = [m for m in (self.model, *wanted) if names and m not in names]
        if missing:
            raise ModelError(f"The endpoint {self.base_url} does not serve {', '.join(missing)}; it serves "
                             f"{', '.join(names[:20])}. Give one of those names (an adapter is served under the name "
                             "given to vLLM's --lora-modules NAME=DIR).")
        return names

    @property
    def retries(self) -> int:
        return self.client.retries

    def _one(self, messages: list[dict], decoding: DecodingConfig, adapter: str | None) -> Generation:
        from lab.generation.prompts import ANSWER_ENDS, answer_text

        start = time.perf_counter()
        body = {"model": adapter or self.model, "messages": messages, "max_tokens": decoding.max_new_tokens,
                "temperature": decoding.temperature, "stop": list(ANSWER_ENDS)}
        try:
            content, usage = parse_response(self.client.post("/chat/completions", body), self.base_url)
        except Fatal:
            raise
        except ModelError as exc:
            return Generation("", 0, 0, time.perf_counter() - start, error=str(exc))
        text = answer_text(content)
        seconds = time.perf_counter() - start
        if usage is None:
            sent = sum(len(str(m.get("content", ""))) for m in messages)
            return Generation(text, estimate_tokens(sent), estimate_tokens(len(text)), seconds, True)
        return Generation(text, usage[0], usage[1], seconds)

    def tool_call(self, messages: list[dict], tools: list[dict], decoding: DecodingConfig,
                  adapter: str | None = None) -> tuple[Generation, list[dict]]:
        """One turn with `tools` offered (the OpenAI tools API, tool_choice auto): the generation (its text, tokens
        and time) and the tool calls the model made, each {"id", "name", "arguments" (a dict)}; a malformed call is
        left out, a failed request is the generation's error."""
        start = time.perf_counter()
        body = {"model": adapter or self.model, "messages": messages, "tools": tools, "tool_choice": "auto",
                "max_tokens": decoding.max_new_tokens, "temperature": decoding.temperature}
        try:
            data = self.client.post("/chat/completions", body)
            content, usage = parse_response(data, self.base_url)
        except Fatal:
            raise
        except ModelError as exc:
            return Generation("", 0, 0, time.perf_counter() - start, error=str(exc)), []
        seconds = time.perf_counter() - start
        calls = tool_calls(data)
        if usage is None:
            sent = sum(len(str(m.get("content", ""))) for m in messages)
            return Generation(content, estimate_tokens(sent), estimate_tokens(len(content) + 40 * len(calls)),
                              seconds, True), calls
        return Generation(content, usage[0], usage[1], seconds), calls

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
                    results[i] = future.result()  # a Fatal is raised here
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


def estimate_tokens(characters: int) -> int:
    """About four characters a token (English text, BPE tokenizers): estimate_tokens(10) -> 3."""
    return math.ceil(characters / 4)


def tool_calls(data: dict) -> list[dict]:
    """The well-formed tool calls of a chat completion: [{"id", "name", "arguments"}] (arguments parsed from their
    JSON string; a call whose arguments are not a JSON object is left out).

    >>> tool_calls({"choices": [{"message": {"tool_calls": [{"id": "c1", "type": "function", "function": {
    ...     "name": "search_documents", "arguments": "{\\"query\\": \\"port\\"}"}}, {"function": "bad"}]}}]})
    [{'id': 'c1', 'name': 'search_documents', 'arguments': {'query': 'port'}}]
    """
    import json

    try:
        calls = data["choices"][0]["message"].get("tool_calls") or []
    except (KeyError, IndexError, TypeError, AttributeError):
        return []
    found = []
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        arguments = function.get("arguments")
        try:
            arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
        except (ValueError, RecursionError):
            continue
        if isinstance(arguments, dict):
            found.append({"id": str(call.get("id") or f"call-{len(found)}"), "name": function["name"],
                          "arguments": arguments})
    return found
