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
# What `make run` serves: app.py as an ASGI app behind the gate (lab/gate.py); `streamlit run` this file.
SERVED_SCRIPT = REPO_ROOT / "pages" / "ui" / "server.py"
SAMPLE_DOCS = SAMPLE_CORPUS / "docs"
SAMPLE_GOLDEN = SAMPLE_CORPUS / "golden.jsonl"
# The sample's behaviour adapter, built by the lab's own `train` from finetune_behaviour.jsonl (`make sample-adapter`)
SAMPLE_ADAPTER = SAMPLE_CORPUS / "adapters" / "behaviour"
DEFAULT_COLLECTION = "sample"


def _folder(path: Path, variable: str) -> Path:
    """`path`, created if missing; InputError naming `variable` when it is a file or cannot be created."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        what = "is a file, not a folder" if path.is_file() else f"cannot be created ({exc.strerror})"
        raise InputError(f"{variable} {path} {what}: point {variable} at a folder the lab may write to.") from exc
    if not path.is_dir():
        raise InputError(f"{variable} {path} is not a folder: point {variable} at a folder the lab may write to.")
    return path


def read_json(path: Path, advice: str) -> dict:
    """A JSON object kept in a file the lab wrote (a manifest, a status); a damaged one raises InputError naming
    the file and `advice` (what to do), never a raw decoding error."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is damaged: not valid JSON ({exc}). {advice}") from exc
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror}). {advice}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path} is damaged: it holds a JSON {type(data).__name__}, not an object. {advice}")
    return data


def data_dir() -> Path:
    """The lab's data directory, created on first use; an empty LAB_DATA_DIR is refused (it would mean the
    current folder, and the lab would write among the user's files)."""
    given = os.environ.get("LAB_DATA_DIR", "data")
    if not given.strip():
        raise InputError("LAB_DATA_DIR is set but empty: unset it (the lab then uses ./data) or give a folder.")
    return _folder(Path(given).expanduser().resolve(), "LAB_DATA_DIR")


def models_dir() -> Path:
    """Converted model copies: `LAB_MODELS_DIR`, default `<data dir>/models` (tests share one across runs)."""
    return _folder(Path(os.environ.get("LAB_MODELS_DIR") or data_dir() / "models").expanduser().resolve(),
                   "LAB_MODELS_DIR")


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

    @property
    def text(self) -> str:
        """The chunking in words, for people (the repr is for code).

        >>> ChunkConfig(256, 32).text
        'chunks of 256 tokens, 32 overlap'
        """
        return f"chunks of {self.size} tokens, {self.overlap} overlap"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ChunkConfig":
        return cls(**json.loads(text))


@dataclass(frozen=True)
class IngestLimits:
    """Bounds on one file of an ingest, so one huge file cannot hold a batch for hours (the rest is committed).

    At the defaults a refused file costs seconds, and an accepted one at most 2,000 chunks (about a minute of
    embedding on a laptop CPU with the default embedder).
    """

    max_chunks_per_file: int = field(default=2000, metadata={
        "help": "Most chunks one file may make; a file with more is refused (LAB_MAX_CHUNKS_PER_FILE)."})
    max_seconds_per_file: float = field(default=120.0, metadata={
        "help": "Most seconds to chunk and embed one file; a slower one is refused (LAB_MAX_FILE_SECONDS)."})

    def __post_init__(self) -> None:
        if not 1 <= self.max_chunks_per_file <= 10_000_000:
            raise InputError(f"IngestLimits.max_chunks_per_file must be at least 1 (LAB_MAX_CHUNKS_PER_FILE), "
                             f"got {self.max_chunks_per_file}.")
        if not 0.1 <= self.max_seconds_per_file <= 86_400:
            raise InputError(f"IngestLimits.max_seconds_per_file must be 0.1-86400 (LAB_MAX_FILE_SECONDS), "
                             f"got {self.max_seconds_per_file}.")

    def max_chars(self, config: "ChunkConfig") -> int:
        """Characters of text beyond which a file surely makes too many chunks (a token is rarely over 8
        characters), refused before chunking starts."""
        return self.max_chunks_per_file * config.size * 8

    @classmethod
    def from_env(cls) -> "IngestLimits":
        try:
            return cls(int(os.environ.get("LAB_MAX_CHUNKS_PER_FILE", cls.max_chunks_per_file)),
                       float(os.environ.get("LAB_MAX_FILE_SECONDS", cls.max_seconds_per_file)))
        except ValueError as exc:
            raise InputError(f"LAB_MAX_CHUNKS_PER_FILE / LAB_MAX_FILE_SECONDS must be numbers: {exc}.") from exc


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


@dataclass(frozen=True)
class RetrievalConfig:
    """How the retrieval paths retrieve: chunks per question, fusion constant, optional cross-encoder."""

    k: int = field(default=3, metadata={"help": "Chunks retrieved per question and put in the prompt (1-20)."})
    rrf_k: int = field(default=60, metadata={"help": "Reciprocal rank fusion constant of hybrid retrieval (1-1000)."})
    fusion: str = field(default="leaders", metadata={
        "help": "How hybrid retrieval fuses dense and BM25: leaders (z-scores added, and each retriever's first hit "
                "kept in the top two), convex (min-max normalised scores added) or rrf (reciprocal rank fusion with "
                "--rrf-k)."})
    reranker: str | None = field(default=None, metadata={
        "help": "CrossEncoder folder (or hub id) that reranks the hybrid candidates; none: no rerank stage."})
    passage_context: bool = field(default=False, metadata={
        "help": "Show each passage to the model after a line naming its document title and nearest heading, as the "
                "index reads it (off by default: it did not help the embedded model; "
                "docs/results.md#passage-context-in-the-prompt-2026-12-02)."})

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 20:
            raise InputError(f"RetrievalConfig.k must be 1-20 chunks, got {self.k}.")
        if not 1 <= self.rrf_k <= 1000:
            raise InputError(f"RetrievalConfig.rrf_k must be 1-1000, got {self.rrf_k}.")
        if self.fusion not in ("leaders", "convex", "rrf"):
            raise InputError(f"RetrievalConfig.fusion must be leaders, convex or rrf, got {self.fusion!r}.")
        object.__setattr__(self, "reranker", (self.reranker or "").strip() or None)


SEARCH_K = 5  # hits per mode in the search playground and the retrieval evaluation (hit@5, recall@5)


@dataclass(frozen=True)
class BatchConfig:
    """How a batch run goes through a golden set."""

    batch_size: int = field(default=32, metadata={
        "help": "Questions per batch: each batch's answers are generated together and stored when it is done "
                "(1-64; larger batches keep continuous batching's rows full: "
                "docs/results.md#generation-levers-2026-12-01)."})
    limit: int = field(default=0, metadata={"help": "Only the first N questions (0: all)."})
    continuous: bool = field(default=True, metadata={
        "help": "Decode greedy answers by continuous batching: an answer that is done leaves the batch and the "
                "next takes its place (otherwise fixed batches that wait for their longest answer)."})

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 64:
            raise InputError(f"BatchConfig.batch_size must be 1-64, got {self.batch_size}.")
        if self.limit < 0:
            raise InputError(f"BatchConfig.limit must be 0 (all) or more, got {self.limit}.")

    def pick(self, questions: list) -> list:
        """The questions this batch takes: pick([1, 2, 3]) with limit 2 -> [1, 2]."""
        return list(questions)[: self.limit or None]
