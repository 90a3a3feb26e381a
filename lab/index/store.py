"""The Chroma vector store: one collection per corpus (namespace), settings saved with it.

Embedded (`chromadb.PersistentClient` under the data directory) by default; a Chroma server
when `LAB_CHROMA_HOST=host:port` is set. The lab computes embeddings itself and hands them to
Chroma, so the store never downloads an embedding model.

Ingestion is all-or-nothing per collection: new chunks go to a hidden staging collection first, and one
atomic step makes them visible (renaming the staging collection when the collection is new; otherwise
marking it committed, then copying its chunks over and dropping the replaced ones). A process killed before
that step leaves the collection exactly as it was (the next ingest reuses the staged embeddings); one killed
after it is rolled forward by whoever opens the collection next, before anything is read
(tests/test_crash_safety.py SIGKILLs ingests at chosen points to hold the module to this). Writers of a
collection are serialized across processes by its writer lock, and the commit step by its commit lock, which
every read holds shared, so a reader sees the version before a commit or after it (`lab.index.lock`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from lab.config import ChunkConfig
from lab.errors import InputError, NotFoundError, StoreError
from lab.index.chroma_client import client
from lab.index.collections import STAGING, BuildTime, CollectionInfo, Staging, check_name, staging_name
from lab.index.lock import commit_lock, writer_lock
from lab.index.sources import BATCH, SourceOps, get_all

__all__ = ["BuildTime", "CollectionInfo", "Staging", "Store", "check_name", "get_all", "staging_name"]
_HNSW = {"hnsw": {"space": "cosine"}}


class Store(SourceOps):
    """Chunks of one lab, grouped in collections."""

    def __init__(self, host: str | None = None):
        from lab.config import chroma_host

        self.client = client(host)
        self.embedded = not (host or chroma_host())  # the catalogue that can rebuild it (lab.index.catalogue)
        self._handles: dict[str, object] = {}  # name -> collection, for queries (see `_read`)
        self.writing: set[str] = set()  # collections whose writer lock this process holds (set by ingest)

    def names(self, sweeps: bool = False) -> list[str]:
        """Collection names, staging collections left out, and the rebuilt copies a chunk-size sweep keeps unless
        `sweeps` (they belong to their collection: listed with it nowhere, deleted with it)."""
        return sorted(c.name for c in self.client.list_collections() if not c.name.startswith(STAGING)
                      and (sweeps or not (c.metadata or {}).get("sweep_of")))

    def collections(self) -> list[CollectionInfo]:
        return [self.info(name) for name in self.names()]

    def exists(self, name: str) -> bool:
        return name in self.names(sweeps=True)

    def info(self, name: str) -> CollectionInfo:
        collection = self._get(name)
        with commit_lock(name, shared=True):
            return self._info(name, collection)

    @staticmethod
    def _info(name: str, collection) -> CollectionInfo:
        meta = collection.metadata or {}
        config = ChunkConfig.from_json(meta["chunk_config"]) if "chunk_config" in meta else None
        build = BuildTime(float(meta["build_seconds"]), int(meta["build_chunks"]), bool(meta["build_whole"]),
                          str(meta["build_at"])) if "build_seconds" in meta else None
        dim = meta.get("embedder_dim")
        return CollectionInfo(name, collection.count(), meta.get("embedder", "?"), config, build,
                              meta.get("embedder_spec"), int(dim) if isinstance(dim, (int, float)) else None)

    def record_build(self, name: str, seconds: float, chunks: int, whole: bool) -> None:
        """Keep an ingest's measured time with the collection (for the index-build cost of ownership); a partial
        ingest (an update, the update demo, its undo) never replaces a whole build's or a larger partial one."""
        collection = self._get(name)
        known = self._info(name, collection).build
        if not whole and known is not None and (known.whole or known.chunks >= chunks):
            return
        collection.modify(metadata={**_settings(collection.metadata), "build_seconds": float(seconds),
                                    "build_chunks": int(chunks), "build_whole": bool(whole),
                                    "build_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})

    def _recover(self, name: str) -> dict:
        """Roll a committed but unfinished ingest of `name` forward; returns the collections by name."""
        listed = {c.name: c for c in self.client.list_collections()}
        staging = listed.get(staging_name(check_name(name)))
        if staging is not None and (staging.metadata or {}).get("state") == "committed":
            if name in self.writing:
                with commit_lock(name, shared=False):
                    self._apply(name, self.client.get_collection(staging.name, embedding_function=None))
            else:
                try:
                    with writer_lock(name, "finishing an interrupted commit", wait_s=0), \
                            commit_lock(name, shared=False):
                        self._apply(name, self.client.get_collection(staging.name, embedding_function=None))
                except StoreError:
                    pass  # a writer is at work on it: that writer finishes the commit
            listed = {c.name: c for c in self.client.list_collections()}
            if name in listed:
                self._catalogue(name)
        return listed

    def _get(self, name: str):
        if name not in self._recover(name):
            raise NotFoundError(f"Collection {name!r} does not exist: ingest documents into it first "
                                "(Corpus page, or `python -m lab ingest PATH --collection NAME`).")
        return self.client.get_collection(name, embedding_function=None)

    def _check_settings(self, name: str, embedder: str, config: ChunkConfig, dim: int | None = None) -> None:
        info = self.info(name)
        if info.embedder != embedder:
            raise InputError(f"Collection {name!r} was built with embedder {info.embedder}, not {embedder}: "
                             "queries must use the ingestion embedder. Use another collection name.")
        if dim is not None and info.dim is not None and dim != info.dim:
            raise InputError(f"Collection {name!r} holds vectors of {info.dim} dimensions; the embedder now answers "
                             f"{dim}: it is not the model the collection was built with. Check the embeddings "
                             "server's model, or ingest into a new collection.")
        if info.chunk_config and info.chunk_config != config:
            raise InputError(f"Collection {name!r} was built from {info.chunk_config.text}, not {config.text}; ingest "
                             "into a new collection to try other chunk settings, or delete this one first.")

    def open(self, name: str, embedder: str, config: ChunkConfig):
        """Get or create a collection; refuse one built with another embedder or chunking."""
        check_name(name)
        if self.exists(name):
            self._check_settings(name, embedder, config)
            return self._get(name)
        return self.client.create_collection(name, embedding_function=None, configuration=_HNSW,
                                             metadata={"embedder": embedder, "chunk_config": config.to_json()})

    def begin(self, name: str, embedder: str, config: ChunkConfig, spec: str | None = None,
              dim: int | None = None, sweep_of: str | None = None) -> Staging:
        """Check the settings against the collection (if it exists) and get its staging collection: the one an
        interrupted ingest with the same settings left (its chunks can be reused), or a new, empty one."""
        listed = self._recover(name)
        if name in listed:
            self._check_settings(name, embedder, config, dim)
        meta = {"embedder": embedder, "chunk_config": config.to_json(), "target": name, "state": "writing",
                **({"embedder_spec": spec} if spec else {}), **({"embedder_dim": dim} if dim else {}),
                **({"sweep_of": sweep_of} if sweep_of else {})}
        left = listed.get(staging_name(name))
        if left is not None:
            same = ("embedder", "chunk_config", "target", "state", "embedder_spec")  # the vectors' size follows
            if {k: (left.metadata or {}).get(k) for k in same} == {k: meta.get(k) for k in same}:
                return Staging(self.client.get_collection(left.name, embedding_function=None), resumed=True)
            self._drop(left.name)
        return Staging(self.client.create_collection(staging_name(name), embedding_function=None,
                                                     configuration=_HNSW, metadata=meta), resumed=False)

    def staged(self, staging: Staging, source: str) -> dict[str, str]:
        """chunk id -> doc sha256 of what an interrupted ingest staged for `source` (empty when new)."""
        if not staging.resumed:
            return {}
        got = staging.collection.get(where={"source": source}, include=["metadatas"])
        return {i: m["doc_sha256"] for i, m in zip(got["ids"], got["metadatas"])}

    def commit(self, name: str, staging: Staging, sources: set[str]) -> None:
        """Make the staged chunks of `sources` visible in one atomic step (what else is staged is dropped)."""
        stage = staging.collection
        others = set(self.source_hashes_of(stage)) - sources if staging.resumed else set()
        if others:
            stage.delete(where={"source": {"$in": sorted(others)}})
        if not sources:
            self._drop(stage.name)
            if not self.exists(name):
                self.client.create_collection(name, embedding_function=None, configuration=_HNSW,
                                              metadata=_settings(stage.metadata))
            return
        with commit_lock(name, shared=False):
            if not self.exists(name):  # a new collection appears whole, or not at all
                stage.modify(name=name, metadata=_settings(stage.metadata))
            else:
                stage.modify(metadata={**stage.metadata, "state": "committed"})  # the commit point
                self._apply(name, stage)
        self._catalogue(name)

    def _catalogue(self, name: str, old: str | None = None, gone: bool = False) -> None:
        if self.embedded:
            from lab.index import catalogue

            catalogue.note(self, name, old, gone)

    def _apply(self, name: str, stage) -> None:
        """Roll a committed staging collection into `name`; idempotent, so a crash here is finished later."""
        if not self.exists(name):
            stage.modify(name=name, metadata=_settings(stage.metadata))
            return
        target = self.client.get_collection(name, embedding_function=None)
        staged: dict[str, set[str]] = {}
        for offset in range(0, stage.count(), BATCH):
            got = stage.get(limit=BATCH, offset=offset, include=["embeddings", "documents", "metadatas"])
            target.upsert(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                          metadatas=got["metadatas"])
            for i, meta in zip(got["ids"], got["metadatas"]):
                staged.setdefault(meta["source"], set()).add(i)
        if staged:
            old = target.get(where={"source": {"$in": sorted(staged)}}, include=["metadatas"])
            stale = [i for i, meta in zip(old["ids"], old["metadatas"]) if i not in staged[meta["source"]]]
            for start in range(0, len(stale), BATCH):
                target.delete(ids=stale[start:start + BATCH])
        self._drop(stage.name)

    def _drop(self, name: str) -> None:
        from chromadb.errors import NotFoundError as ChromaNotFound

        try:
            self.client.delete_collection(name)
        except ChromaNotFound:
            pass  # another process rolled the same staging collection forward first

    def rename(self, name: str, new_name: str) -> None:
        self._forget(name)
        with writer_lock(name, "rename"), writer_lock(check_name(new_name), "rename"), \
                commit_lock(name, shared=False):
            collection = self._get(name)
            if self.exists(new_name):
                raise InputError(f"A collection named {new_name!r} already exists: choose another name.")
            collection.modify(name=new_name)
        self._catalogue(new_name, old=name)

    def delete(self, name: str) -> None:
        self._forget(name)
        with writer_lock(check_name(name), "delete"), commit_lock(name, shared=False):
            self._get(name)
            self.client.delete_collection(name)
            if staging_name(name) in {c.name for c in self.client.list_collections()}:
                self._drop(staging_name(name))  # what an interrupted ingest staged for it
        for copy in [c.name for c in self.client.list_collections() if (c.metadata or {}).get("sweep_of") == name]:
            self._forget(copy)
            self.client.delete_collection(copy)  # a sweep's rebuilt copies go with their collection
        self._catalogue(name, gone=True)

    def _read(self, name: str, read):
        """`read(collection)` on a cached handle: a query then costs one Chroma call, not a listing of every
        collection first. A handle whose collection was deleted (and maybe rebuilt) is looked up again once."""
        from chromadb.errors import NotFoundError as ChromaNotFound

        handle = self._handles.get(name)
        if handle is not None:
            try:
                with commit_lock(name, shared=True):
                    return read(handle)
            except ChromaNotFound:
                pass
        self._handles[name] = handle = self._get(name)
        with commit_lock(name, shared=True):
            return read(handle)

    def _forget(self, name: str) -> None:
        self._handles.pop(name, None)

    def query(self, name: str, vector, k: int, texts: bool = True) -> list[dict]:
        """The `k` nearest chunks: id, distance and (when `texts`) text and metadata."""
        include = ["documents", "metadatas", "distances"] if texts else ["distances"]
        got = self._read(name, lambda c: c.query(query_embeddings=[list(map(float, vector))], n_results=k,
                                                 include=include))
        n = len(got["ids"][0])
        documents = got["documents"][0] if texts else [None] * n
        metadatas = got["metadatas"][0] if texts else [None] * n
        return [{"id": i, "text": d, "meta": m, "distance": dist}
                for i, d, m, dist in zip(got["ids"][0], documents, metadatas, got["distances"][0])]

    def get_chunks(self, name: str, ids: list[str]) -> dict[str, dict]:
        """id -> {"text", "meta"} of the chunks with these ids (those that exist)."""
        got = self._read(name, lambda c: c.get(ids=list(ids), include=["documents", "metadatas"]))
        return {i: {"text": d, "meta": m} for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}

    def chunks(self, name: str, source: str | None = None, limit: int | None = None) -> list[dict]:
        collection = self._get(name)
        with commit_lock(name, shared=True):
            got = get_all(collection, {"source": source} if source else None, ["documents", "metadatas"], limit)
        return [{"id": i, "text": d, "meta": m} for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]


def _settings(meta: dict | None) -> dict:
    """The metadata a collection keeps (a staging collection's bookkeeping keys left out)."""
    return {k: v for k, v in (meta or {}).items()
            if k in ("embedder", "chunk_config", "embedder_spec", "embedder_dim", "sweep_of") or k.startswith("build_")}
