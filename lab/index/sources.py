"""A collection's documents, one source file at a time: their content hashes and chunk counts, replacing,
removing, reading and restoring one file's chunks (the update demo's snapshot and Undo). `Store` has these
methods; reads hold the collection's commit lock shared, writes its writer lock and the commit lock."""

from __future__ import annotations

import hashlib

from lab.corpus.chunking import Chunk
from lab.index.collections import check_name
from lab.index.lock import commit_lock, writer_lock

BATCH = 1000
_PAGE = 5000  # rows per `get` when reading a whole collection


class SourceOps:
    """The per-document methods of `lab.index.store.Store` (which provides `_get` and `_catalogue`)."""

    def source_hashes(self, name: str) -> dict[str, str]:
        """source file name -> sha256 of the file its chunks came from."""
        collection = self._get(name)
        with commit_lock(name, shared=True):
            return self.source_hashes_of(collection)

    @staticmethod
    def source_hashes_of(collection) -> dict[str, str]:
        got = get_all(collection, include=["metadatas"])
        return {m["source"]: m["doc_sha256"] for m in got["metadatas"] or []}

    def source_details(self, name: str) -> dict[str, dict]:
        """source file name -> {"sha256", "origin" (the folder it came from, "upload", or "" when built before
        origins were kept), "chunks"}."""
        collection = self._get(name)
        with commit_lock(name, shared=True):
            got = get_all(collection, include=["metadatas"])
        details: dict[str, dict] = {}
        for meta in got["metadatas"] or []:
            entry = details.setdefault(meta["source"], {"sha256": meta["doc_sha256"], "origin": "", "chunks": 0})
            entry["chunks"] += 1
            entry["origin"] = entry["origin"] or meta.get("origin") or ""
        return details

    def fingerprint(self, name: str) -> str:
        """A hash of which files (by content) the collection holds: equal fingerprints, same corpus."""
        pairs = sorted(self.source_hashes(name).items())
        return hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]

    def replace_source(self, collection, source: str, chunks: list[Chunk], vectors, origin: str = "") -> None:
        """Swap one source file's chunks for new ones (upsert first, then drop the ids no longer present);
        `origin` (the folder the file came from, or "upload") is kept with each chunk."""
        old = set(collection.get(where={"source": source}, include=[])["ids"])
        for i in range(0, len(chunks), BATCH):
            part = chunks[i:i + BATCH]
            collection.upsert(
                ids=[c.id for c in part], embeddings=[list(map(float, v)) for v in vectors[i:i + BATCH]],
                documents=[c.text for c in part],
                metadatas=[{"source": c.source, "heading": c.heading, "page": c.page or 0, "start": c.start,
                            "end": c.end, "doc_sha256": c.doc_sha256, "tokens": c.tokens, "title": c.title, "origin": origin}
                           for c in part])
        stale = sorted(old - {c.id for c in chunks})
        if stale:
            collection.delete(ids=stale)

    def remove_source(self, name: str, source: str) -> int:
        """Delete one source file's chunks from a collection; returns how many were removed."""
        with writer_lock(check_name(name), "removing a source"), commit_lock(name, shared=False):
            collection = self._get(name)
            ids = collection.get(where={"source": source}, include=[])["ids"]
            if ids:
                collection.delete(ids=ids)
        self._catalogue(name)
        return len(ids)

    def source_records(self, name: str, source: str) -> dict:
        """One source file's chunks as stored (ids, texts, metadata, vectors), for `put_records` to restore."""
        got = self._get(name).get(where={"source": source}, include=["documents", "metadatas", "embeddings"])
        return {"ids": list(got["ids"]), "documents": list(got["documents"]), "metadatas": list(got["metadatas"]),
                "embeddings": [list(map(float, v)) for v in got["embeddings"]]}

    def put_records(self, name: str, records: dict) -> None:
        """Write back chunks `source_records` read (the same ids, texts, metadata and vectors)."""
        with writer_lock(check_name(name), "restoring a document"), commit_lock(name, shared=False):
            collection = self._get(name)
            for i in range(0, len(records["ids"]), BATCH):
                collection.upsert(**{key: records[key][i:i + BATCH] for key in
                                     ("ids", "documents", "metadatas", "embeddings")})
        self._catalogue(name)


def get_all(collection, where: dict | None = None, include: tuple[str, ...] | list[str] = (),
            limit: int | None = None) -> dict:
    """`collection.get` in pages of _PAGE rows: one call over more than ~32k rows fails in Chroma's SQLite
    ("too many SQL variables"), so a 50k-chunk collection could not even build its BM25 index."""
    out: dict[str, list] = {"ids": [], **{key: [] for key in include}}
    while limit is None or len(out["ids"]) < limit:
        size = _PAGE if limit is None else min(_PAGE, limit - len(out["ids"]))
        got = collection.get(where=where, limit=size, offset=len(out["ids"]), include=list(include))
        for key in out:
            out[key] += got[key] or []
        if len(got["ids"]) < size:
            break
    return out
