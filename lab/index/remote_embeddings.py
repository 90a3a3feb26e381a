"""An OpenAI-compatible `/v1/embeddings` server as an `Embedder` (TEI, vLLM, Ollama, a hosted API), through the
lab's one HTTP client (`lab.http_client`: no redirects, retries with backoff, capped bodies).

Texts go in batches of `batch` with `concurrency` requests in flight; the vectors come back in input order and are
unit-normalised here (cosine search), whatever the server does. Every response is checked: one vector per text,
all of one size, finite numbers; a server that answers vectors of another size than the collection's is refused
before anything is written (`expect_dim`). Chunk sizes are estimated at 4 characters a token
(`tokens_estimated`), since the server's tokenizer is not at hand.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lab.errors import InputError, ModelError
from lab.http_client import JsonClient


class OpenAIEmbedder:
    tokens_estimated = True

    def __init__(self, base_url: str, model: str, key_env: str | None = None, batch: int = 64,
                 concurrency: int = 4, timeout: float = 120.0, sleep: Callable[[float], None] = time.sleep):
        from lab.endpoint_policy import host_of, url_host

        base_url = base_url.strip().rstrip("/")
        url_host(base_url)
        if not model.strip():
            raise InputError("Give the embeddings server's model name (--embedder-model NAME).")
        key = None
        if key_env:
            key = os.environ.get(key_env)
            if not key:
                raise InputError(f"Environment variable {key_env} is not set: export it before starting the lab.")
        self.base_url = base_url if base_url.endswith("/v1") else base_url + "/v1"
        self.model, self.batch, self.concurrency = model.strip(), max(1, batch), max(1, concurrency)
        self.client = JsonClient(self.base_url, key, timeout, sleep)
        self.name = f"{self.model} @ {host_of(base_url)}"  # never the key or credentials a URL may carry
        self.dim: int | None = None
        self.spec = None  # the EmbedderSpec that loaded it (`lab.index.embeddings.EmbedderSpec.load`)

    def _batch(self, texts: list[str]) -> np.ndarray:
        data = self.client.post("/embeddings", {"model": self.model, "input": texts})
        rows = data.get("data")
        if not isinstance(rows, list) or len(rows) != len(texts):
            raise ModelError(f"The embeddings server {self.base_url} answered {len(rows) if isinstance(rows, list) else 'no'}"
                             f" vectors for {len(texts)} texts: is it an OpenAI-compatible /v1/embeddings?")
        ordered = sorted(rows, key=lambda r: r.get("index", 0) if isinstance(r, dict) else 0)
        vectors = []
        for row in ordered:
            vector = row.get("embedding") if isinstance(row, dict) else None
            if not isinstance(vector, list) or not vector or not all(isinstance(x, (int, float)) and
                                                                    math.isfinite(x) for x in vector):
                raise ModelError(f"The embeddings server {self.base_url} answered a vector that is not a list of "
                                 "finite numbers.")
            vectors.append(vector)
        if len({len(v) for v in vectors}) != 1:
            raise ModelError(f"The embeddings server {self.base_url} answered vectors of different sizes.")
        return np.asarray(vectors, dtype=np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        parts = [texts[i:i + self.batch] for i in range(0, len(texts), self.batch)]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(parts))) as pool:
            matrix = np.vstack(list(pool.map(self._batch, parts)))
        if self.dim is not None and matrix.shape[1] != self.dim:
            raise ModelError(f"The embeddings server {self.base_url} answered vectors of {matrix.shape[1]} "
                             f"dimensions, not {self.dim}: it serves another model than the collection was built "
                             "with.")
        self.dim = matrix.shape[1]
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)

    def probe(self) -> int:
        """The size of the server's vectors (one request): a wrong URL, key or model fails here, before any work."""
        return int(self.encode(["the embedder's vector size"]).shape[1])

    def count_tokens(self, text: str) -> int:
        """An estimate: about 4 characters a token."""
        return math.ceil(len(text) / 4)
