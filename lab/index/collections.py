"""What the store keeps about a collection (its settings, its measured build time) and the rule for its name."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from lab.config import ChunkConfig
from lab.errors import InputError

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]$")
STAGING = "lab-staging-"  # prefix of hidden staging collections (refused as a user's collection name)


@dataclass
class Staging:
    """Where an ingest writes new chunks before they become visible; `resumed` if an interrupted one left it."""

    collection: object
    resumed: bool


def staging_name(name: str) -> str:
    return STAGING + hashlib.sha256(name.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class BuildTime:
    """The measured wall time of the last ingest that embedded chunks into a collection."""

    seconds: float
    chunks: int  # chunks that ingest embedded
    whole: bool  # it built every chunk the collection then had (else it was an update)
    at: str

    def estimate(self, total_chunks: int) -> float:
        """Seconds to build `total_chunks` from scratch: measured if `whole`, else scaled per chunk."""
        return self.seconds if self.whole and self.chunks == total_chunks else \
            self.seconds / max(self.chunks, 1) * total_chunks


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    chunks: int
    embedder: str
    chunk_config: ChunkConfig | None
    build: BuildTime | None = None
    embedder_spec: str | None = None  # JSON of `lab.index.embeddings.EmbedderSpec` (None: built before specs)
    dim: int | None = None            # the vectors' size (None: built before it was kept)

    @property
    def chunking(self) -> str:
        """How the collection was chunked, in words ('chunks of 256 tokens, 32 overlap')."""
        return self.chunk_config.text if self.chunk_config else "chunking not recorded"


def check_name(name: str) -> str:
    if not _NAME.match(name or "") or ".." in name or name.startswith(STAGING):
        raise InputError(f"Collection name {name!r} is invalid: use 3-63 letters, digits, '.', '_' or '-', "
                         f"starting and ending with a letter or digit (and not starting with {STAGING}).")
    return name
