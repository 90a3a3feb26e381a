"""`python -m lab <command>`: the headless twin of the pages. Every command accepts --json."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from lab.config import DEFAULT_COLLECTION, ChunkConfig, DecodingConfig
from lab.errors import LabError


def _print(args, document: dict, text: str) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False) if args.json else text)


def _store(args):
    from lab.store import Store

    return Store(args.chroma_host)


def cmd_ingest(args) -> int:
    from lab.embeddings import SentenceTransformerEmbedder
    from lab.ingest import ingest

    config = ChunkConfig(size=args.chunk_size, overlap=args.overlap)
    progress = None if args.json else (lambda done, total, name: print(f"[{done}/{total}] {name}", file=sys.stderr))
    report = ingest(args.paths, args.collection, SentenceTransformerEmbedder(), _store(args), config, progress)
    lines = [f"{report.collection}: {report.documents} documents ingested, {len(report.unchanged)} unchanged, "
             f"{report.chunks_added} chunks written, {report.chunks_total} in the collection "
             f"({report.seconds['total']:.1f} s)"]
    lines += [f"skipped {s.path}: {s.reason}" for s in report.skipped]
    _print(args, asdict(report), "\n".join(lines))
    return 0


def cmd_ask(args) -> int:
    from lab.embeddings import SentenceTransformerEmbedder
    from lab.models import LocalGenerator
    from lab.paths import PathContext, parse_paths, run_path
    from lab.retrieval import retrievers_for

    names = parse_paths(args.paths)
    store = _store(args)
    modes = {}
    if any(n != "prompt" for n in names):
        store.info(args.collection)  # fail early, with what to do, if the collection is missing
        modes = retrievers_for(store, args.collection, SentenceTransformerEmbedder())
    ctx = PathContext(LocalGenerator(args.model), modes.get("dense"), modes.get("hybrid"), args.k,
                      DecodingConfig(args.max_new_tokens))
    answers = [run_path(name, args.question, ctx) for name in names]
    document = {"question": args.question, "collection": args.collection, "answers": [asdict(a) for a in answers]}
    text = []
    for a in answers:
        text.append(f"== {a.path} ({a.latency_ms.get('total', 0):.0f} ms)")
        text.append(f"error: {a.error}" if a.error else a.text)
        text += [f"  [{i}] {h.source} score={h.score:.3f}" for i, h in enumerate(a.hits, 1)]
    _print(args, document, "\n".join(text))
    return 0


def cmd_collections(args) -> int:
    infos = _store(args).collections()
    document = {"collections": [{"name": c.name, "chunks": c.chunks, "embedder": c.embedder,
                                 "chunk_config": asdict(c.chunk_config) if c.chunk_config else None} for c in infos]}
    _print(args, document, "\n".join(f"{c.name}\t{c.chunks} chunks\t{c.embedder}" for c in infos) or "(none)")
    return 0


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--chroma-host", default=None, help="host:port of a Chroma server (default: embedded)")
    top = argparse.ArgumentParser(prog="python -m lab", description="RAG vs Fine-Tuning Lab")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="ingest files or folders into a collection")
    p.add_argument("paths", nargs="+")
    p.add_argument("--collection", default=DEFAULT_COLLECTION)
    p.add_argument("--chunk-size", type=int, default=ChunkConfig.size)
    p.add_argument("--overlap", type=int, default=ChunkConfig.overlap)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", parents=[common], help="answer one question through several paths")
    p.add_argument("question")
    p.add_argument("--collection", default=DEFAULT_COLLECTION)
    p.add_argument("--paths", default="prompt,rag")
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--model", default=None, help="local model folder or Hugging Face id (default: embedded)")
    p.add_argument("--max-new-tokens", type=int, default=DecodingConfig.max_new_tokens)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("collections", parents=[common], help="list collections")
    p.set_defaults(func=cmd_collections)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except LabError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc), "kind": type(exc).__name__}))
        print(f"error: {exc}", file=sys.stderr)
        return 2
