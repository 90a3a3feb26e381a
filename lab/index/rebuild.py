"""Put a damaged embedded Chroma back: move its folder aside (kept) and rebuild every collection the catalogue
(`lab.index.catalogue`) lists from the kept parsed texts, each with its own chunking and embedder.

    result = rebuild(lambda spec, name: embedder_for(spec, name))
    print(result.summary())
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from lab.config import data_dir
from lab.errors import LabError, NotFoundError
from lab.index.catalogue import entries, folder


@dataclass
class Rebuilt:
    moved_to: str | None = None                          # where the damaged folder was put
    collections: dict[str, int] = field(default_factory=dict)   # name -> documents put back
    chunks: dict[str, int] = field(default_factory=dict)        # name -> chunks now
    missing: dict[str, list[str]] = field(default_factory=dict)  # name -> documents whose text is not kept
    failed: dict[str, str] = field(default_factory=dict)         # name -> why it could not be rebuilt
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"Rebuilt {len(self.collections)} collection(s) in {self.seconds:.0f} s"
                 + (f"; the damaged folder is kept at {self.moved_to}." if self.moved_to else ".")]
        lines += [f"  {name}: {docs} documents, {self.chunks.get(name, 0)} chunks" for name, docs in
                  self.collections.items()]
        lines += [f"  {name}: {len(docs)} document(s) not kept ({', '.join(docs[:3])}): ingest those files again"
                  for name, docs in self.missing.items() if docs]
        lines += [f"  {name}: not rebuilt: {why}" for name, why in self.failed.items()]
        return "\n".join(lines)


def rebuild(embedder_for: Callable[[str | None, str], object], progress: Callable[[str], None] | None = None
            ) -> Rebuilt:
    """Move the damaged embedded Chroma folder aside and rebuild every catalogued collection from the kept parsed
    texts. `embedder_for(spec_json, name)` gives the embedder a collection was built with."""
    from lab.config import ChunkConfig
    from lab.corpus.parsed_cache import load_parsed
    from lab.index.ingest import ingest_documents
    from lab.index.store import Store

    kept = entries()
    if not kept:
        raise NotFoundError(f"No catalogue of the collections is kept in {folder()}: move the Chroma folder aside "
                            "and ingest your documents again.")
    started, result = time.perf_counter(), Rebuilt()
    chroma = data_dir() / "chroma"
    if chroma.exists():
        target = chroma.with_name(f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        chroma.rename(target)
        result.moved_to = str(target)
    _forget_clients()
    store = Store()
    for entry in kept:
        name, meta = entry["name"], entry.get("metadata") or {}
        if progress:
            progress(f"rebuilding {name}")
        docs, missing, origins = [], [], {}
        for source, detail in sorted(entry["sources"].items()):
            doc = load_parsed(source, str(detail.get("sha256", "")))
            (docs.append(doc) if doc is not None else missing.append(source))
            origins[source] = str(detail.get("origin") or "")
        result.missing[name] = missing
        if not docs:
            result.failed[name] = "none of its documents' texts are kept: ingest its files again"
            continue
        try:
            config = ChunkConfig.from_json(meta["chunk_config"]) if "chunk_config" in meta else ChunkConfig()
            embedder = embedder_for(meta.get("embedder_spec"), str(meta.get("embedder", "")))
            report = ingest_documents(docs, name, embedder, store, config, origins=origins)
        except LabError as exc:
            result.failed[name] = str(exc)
            continue
        result.collections[name], result.chunks[name] = report.documents, report.chunks_total
    result.seconds = time.perf_counter() - started
    return result


def _forget_clients() -> None:
    """Chroma keeps one client per path in a process: the next open must see the new folder."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient
    except ImportError:  # older layout
        from chromadb.api.client import SharedSystemClient
    SharedSystemClient.clear_system_cache()
