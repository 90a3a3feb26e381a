"""Where the lab keeps its data and the settings that shape a collection.

The data directory is `LAB_DATA_DIR` (default `./data`); everything the lab writes lives under it:

    data/chroma/            embedded Chroma database
    data/models/<name>/     safetensors copies of embedded models (converted once; LAB_MODELS_DIR)
    data/uploads/           uploaded files, stored by content hash
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.errors import InputError

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = REPO_ROOT / "sample_corpus"
SAMPLE_DOCS = SAMPLE_CORPUS / "docs"
SAMPLE_GOLDEN = SAMPLE_CORPUS / "golden.jsonl"
DEFAULT_COLLECTION = "sample"


def data_dir() -> Path:
    """The lab's data directory, created on first use."""
    path = Path(os.environ.get("LAB_DATA_DIR", "data")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Converted model copies: `LAB_MODELS_DIR`, default `<data dir>/models` (tests share one across runs)."""
    path = Path(os.environ.get("LAB_MODELS_DIR") or data_dir() / "models").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def chroma_host() -> str | None:
    """`host:port` of a Chroma server when `LAB_CHROMA_HOST` is set; None means embedded."""
    return os.environ.get("LAB_CHROMA_HOST") or None


@dataclass(frozen=True)
class ChunkConfig:
    """How documents are cut into chunks; saved with the collection it produced.

    The default size fits the default embedder: all-MiniLM-L6-v2 reads at most 256 word pieces,
    so a longer chunk would be embedded by its first half only.
    """

    size: int = field(default=256, metadata={"help": "Chunk length in embedder tokens (128-1024)."})
    overlap: int = field(default=32, metadata={"help": "Tokens shared by consecutive chunks."})

    def __post_init__(self) -> None:
        if not 128 <= self.size <= 1024:
            raise InputError(f"ChunkConfig.size must be between 128 and 1024 tokens, got {self.size}.")
        if not 0 <= self.overlap < self.size // 2:
            raise InputError(
                f"ChunkConfig.overlap must be at least 0 and less than half of size ({self.size // 2}), "
                f"got {self.overlap}."
            )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ChunkConfig":
        return cls(**json.loads(text))


@dataclass(frozen=True)
class DecodingConfig:
    """Decoding settings shared by every path in a comparison (greedy by default: reproducible)."""

    max_new_tokens: int = field(default=64, metadata={"help": "Upper bound on generated tokens."})
    temperature: float = field(default=0.0, metadata={"help": "0 means greedy decoding."})

    def __post_init__(self) -> None:
        if not 1 <= self.max_new_tokens <= 2048:
            raise InputError(f"DecodingConfig.max_new_tokens must be 1-2048, got {self.max_new_tokens}.")
        if not 0.0 <= self.temperature <= 2.0:
            raise InputError(f"DecodingConfig.temperature must be 0-2, got {self.temperature}.")
