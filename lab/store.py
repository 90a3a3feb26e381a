"""The Chroma vector store: one collection per corpus (namespace), settings saved with it.

Embedded (`chromadb.PersistentClient` under the data directory) by default; a Chroma server
when `LAB_CHROMA_HOST=host:port` is set. The lab computes embeddings itself and hands them to
Chroma, so the store never downloads an embedding model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.chunking import Chunk
from lab.config import ChunkConfig, chroma_host, data_dir
from lab.errors import InputError, NotFoundError, StoreError

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]$")
_BATCH = 1000


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    chunks: int
    embedder: str
    chunk_config: ChunkConfig | None


def check_name(name: str) -> str:
    if not _NAME.match(name or "") or ".." in name:
        raise InputError(f"Collection name {name!r} is invalid: use 3-63 letters, digits, '.', '_' or '-', "
                         "starting and ending with a letter or digit.")
    return name


def client(host: str | None = None):
    """A Chroma client: HTTP when `host` (or LAB_CHROMA_HOST) is set, embedded otherwise."""
    import chromadb

    host = host or chroma_host()
    settings = chromadb.Settings(anonymized_telemetry=False)
    try:
        if host:
            hostname, _, port = host.rpartition(":")
            return chromadb.HttpClient(host=hostname or host, port=int(port or 8000), settings=settings)
        return chromadb.PersistentClient(path=str(data_dir() / "chroma"), settings=settings)
    except (ValueError, ConnectionError) as exc:
        raise StoreError(f"Could not reach Chroma at {host or 'the data directory'}: {exc}. "
                         "Check LAB_CHROMA_HOST, or unset it to use the embedded store.") from exc


class Store:
    """Chunks of one lab, grouped in collections."""

    def __init__(self, host: str | None = None):
        self.client = client(host)

    def collections(self) -> list[CollectionInfo]:
        return [self.info(c.name) for c in self.client.list_collections()]

    def exists(self, name: str) -> bool:
        return name in {c.name for c in self.client.list_collections()}

    def info(self, name: str) -> CollectionInfo:
        collection = self._get(name)
        meta = collection.metadata or {}
        config = ChunkConfig.from_json(meta["chunk_config"]) if "chunk_config" in meta else None
        return CollectionInfo(name, collection.count(), meta.get("embedder", "?"), config)

    def _get(self, name: str):
        if not self.exists(check_name(name)):
            raise NotFoundError(f"Collection {name!r} does not exist: ingest documents into it first "
                                "(Corpus page, or `python -m lab ingest PATH --collection NAME`).")
        return self.client.get_collection(name, embedding_function=None)

    def open(self, name: str, embedder: str, config: ChunkConfig):
        """Get or create a collection; refuse one built with another embedder or chunking."""
        check_name(name)
        if self.exists(name):
            info = self.info(name)
            if info.embedder != embedder:
                raise InputError(f"Collection {name!r} was built with embedder {info.embedder}, not {embedder}: "
                                 "queries must use the ingestion embedder. Use another collection name.")
            if info.chunk_config and info.chunk_config != config:
                raise InputError(f"Collection {name!r} was chunked with {info.chunk_config}; ingest into a new "
                                 "collection to try other chunk settings, or delete this one first.")
            return self._get(name)
        return self.client.create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedder": embedder, "chunk_config": config.to_json()})

    def rename(self, name: str, new_name: str) -> None:
        collection = self._get(name)
        if self.exists(check_name(new_name)):
            raise InputError(f"A collection named {new_name!r} already exists: choose another name.")
        collection.modify(name=new_name)

    def delete(self, name: str) -> None:
        self._get(name)
        self.client.delete_collection(name)

    def source_hashes(self, name: str) -> dict[str, str]:
        """source file name -> sha256 of the file its chunks came from."""
        got = self._get(name).get(include=["metadatas"])
        return {m["source"]: m["doc_sha256"] for m in got["metadatas"] or []}

    def fingerprint(self, name: str) -> str:
        """A hash of which files (by content) the collection holds: equal fingerprints, same corpus."""
        import hashlib

        pairs = sorted(self.source_hashes(name).items())
        return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]

    def replace_source(self, collection, source: str, chunks: list[Chunk], vectors) -> None:
        """Swap one source file's chunks for new ones (upsert first, then drop the ids no longer present)."""
        old = set(collection.get(where={"source": source}, include=[])["ids"])
        for i in range(0, len(chunks), _BATCH):
            part = chunks[i:i + _BATCH]
            collection.upsert(
                ids=[c.id for c in part], embeddings=[list(map(float, v)) for v in vectors[i:i + _BATCH]],
                documents=[c.text for c in part],
                metadatas=[{"source": c.source, "heading": c.heading, "page": c.page or 0, "start": c.start,
                            "end": c.end, "doc_sha256": c.doc_sha256, "tokens": c.tokens} for c in part])
        stale = sorted(old - {c.id for c in chunks})
        if stale:
            collection.delete(ids=stale)

    def query(self, name: str, vector, k: int) -> list[dict]:
        collection = self._get(name)
        got = collection.query(query_embeddings=[list(map(float, vector))], n_results=k,
                               include=["documents", "metadatas", "distances"])
        return [{"id": i, "text": d, "meta": m, "distance": dist}
                for i, d, m, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0],
                                         got["distances"][0])]

    def chunks(self, name: str, source: str | None = None, limit: int | None = None) -> list[dict]:
        got = self._get(name).get(where={"source": source} if source else None, limit=limit,
                                  include=["documents", "metadatas"])
        return [{"id": i, "text": d, "meta": m} for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]
