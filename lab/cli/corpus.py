"""Corpus and index commands: ingest, search, retrieval-eval, collections, sweep."""

from __future__ import annotations

import sys
from dataclasses import asdict

from lab.cli.common import Parents, echo_progress, emit, golden_set, settings_of, utf8_text
from lab.config import SEARCH_K, ChunkConfig, chroma_host
from lab.display import count
from lab.errors import InputError, LabError
from lab.options import add_options, picked
from lab.session import Loader, retrievers


def cmd_ingest(args) -> int:
    from lab.index.ingest import ingest

    from lab.config import IngestLimits
    from lab.index.store import check_name

    config, limits = ChunkConfig(**picked(ChunkConfig, args)), IngestLimits.from_env()
    check_name(args.collection)  # bad settings are refused before the embedder loads
    res = Loader(args.chroma_host)
    progress = None if args.json else (lambda done, total, name: print(f"[{done}/{total}] {name}", file=sys.stderr))
    from lab.index.embeddings import EmbedderSpec
    from lab.session import ingest_embedder

    spec = EmbedderSpec.parse(args.embedder, args.embedder_model, args.embedder_key_env) if args.embedder else None
    embedder = ingest_embedder(res.store(), args.collection, res, spec)
    report = ingest(args.paths, args.collection, embedder, res.store(), config, progress, limits=limits,
                    notify=lambda message: print(message, file=sys.stderr, flush=True),
                    replace_elsewhere=args.replace_elsewhere)
    lines = [f"{report.collection}: {count(report.documents, 'document')} ingested, {len(report.unchanged)} "
             f"unchanged, {count(report.chunks_added, 'chunk')} written, {report.chunks_total:,} in the collection "
             f"({report.seconds['total']:.1f} s)"]
    if report.resumed:
        lines.append(f"{len(report.resumed)} of them were staged by an interrupted run: not embedded again")
    lines += [f"replaced {line}" for line in report.replaced]
    if report.tokens_estimated:
        lines.append("chunk sizes are estimates (4 characters a token): the embeddings server's tokenizer is not at "
                     "hand")
    lines += [f"skipped {s.path}: {s.reason}" for s in report.skipped]
    emit(args, asdict(report), "\n".join(lines))
    return 0


def _modes(args):
    """Retrieval modes of the collection; rerank only when a cross-encoder actually loads."""
    return retrievers(settings_of(args), Loader(args.chroma_host))


def cmd_search(args) -> int:
    modes, note = _modes(args)
    if args.mode not in modes:
        from lab.errors import ModelError

        raise ModelError(note or f"Unknown mode {args.mode}.")
    hits = modes[args.mode].search(args.query, args.k)
    lines = [f"{i}. {h.source} score={h.score:.4f} ranks={h.ranks}\n   {h.text[:160]!r}" for i, h in enumerate(hits, 1)]
    emit(args, {"query": args.query, "mode": args.mode, "collection": args.collection,
                  "hits": [asdict(h) for h in hits]}, "\n".join(lines) or "(no hits)")
    return 0


def _scores_text(results, notes) -> str:
    from lab.evaluation.retrieval import scores_table

    rows = scores_table(results)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["  ".join(keys)] + ["  ".join(str(r.get(k, "")) for k in keys) for r in rows]
    return "\n".join(lines + notes)


def _mode_document(r, per_question: bool) -> dict:
    document = {k: v for k, v in asdict(r).items() if k != "per_question" or per_question}
    return document


def cmd_retrieval_eval(args) -> int:
    from lab.experiments.golden_sets import evaluate_set

    golden = golden_set(args.questions)
    modes, note = _modes(args)
    results, notes = evaluate_set(modes, Loader(args.chroma_host).store(), args.collection, golden, args.k)
    notes = notes + ([note] if note else [])
    document = {"collection": args.collection, "k": args.k, "questions": len(golden.questions),
                "golden": golden.manifest(), "notes": notes,
                "modes": [_mode_document(r, args.per_question) for r in results]}
    emit(args, document, _scores_text(results, notes))
    return 0


def cmd_collections(args) -> int:
    if args.rebuild:
        from lab.session import rebuild_collections

        if args.chroma_host or chroma_host():
            raise InputError("--rebuild puts back the embedded store under the data directory; a Chroma server "
                             "keeps its own data (restore it from that server's backups).")
        result = rebuild_collections(Loader(), lambda message: print(message, file=sys.stderr, flush=True))
        emit(args, asdict(result), result.summary())
        return 0 if not result.failed else 1
    infos = Loader(args.chroma_host).store().collections()
    document = {"collections": [{"name": c.name, "chunks": c.chunks, "embedder": c.embedder,
                                 "chunk_config": asdict(c.chunk_config) if c.chunk_config else None,
                                 "build": asdict(c.build) if c.build else None} for c in infos]}
    emit(args, document, "\n".join(f"{c.name}\t{c.chunks} chunks\t{c.embedder}" for c in infos) or "(none)")
    return 0


def cmd_sweep(args) -> int:
    from lab.experiments.sweep import SweepJob, settings_for

    settings = settings_for(args.sizes, args.overlap)  # the user's text is checked before anything is read
    golden = golden_set(args.questions)
    res = Loader(args.chroma_host)
    from lab.index.embeddings import EmbedderSpec
    from lab.session import collection_embedder

    own = collection_embedder(res.store(), args.collection, res)
    others = []
    for text in args.embedder or []:
        where, _, model = text.partition("#")
        spec = EmbedderSpec.parse("" if where == "default" else where, model or None, args.embedder_key_env)
        if spec.name != own.name:
            others.append(res.embedder(spec))
    job = SweepJob(res.store(), own, args.collection, golden, settings, args.k, embedders=[own, *others],
                   metric=args.metric)
    if not args.json:
        job.advance = echo_progress(job.advance)
    job.run()
    if job.state != "done":
        raise LabError(job.error or f"sweep {job.state}")
    result = job.result
    document = {"collection": result.collection, "golden": golden.manifest(), "k": result.k,
                "questions": result.questions, "rows": result.rows(), "verdicts": result.verdicts,
                "notes": result.notes}
    lines = [f"{'size':>5} {'ovl':>4} {'mode':7} {'chunks':>6} {'index s':>8}  hit@k [CI]            MRR [CI]"
             + ("            embedder" if len(job.embedders) > 1 else "")]
    for r in result.rows():
        lines.append(f"{r['size']:5} {r['overlap']:4} {r['mode']:7} {r['chunks']:6} {r['index_seconds']:8.1f}  "
                     f"{r['hit_at_k']:.3f} [{r['hit_at_k_low']:.3f}, {r['hit_at_k_high']:.3f}]  "
                     f"{r['mrr']:.3f} [{r['mrr_low']:.3f}, {r['mrr_high']:.3f}]"
                     + (f"  {r['embedder']}" if len(job.embedders) > 1 else ""))
    emit(args, document, "\n".join(lines + result.verdicts + result.notes))
    return 0


def register(sub, p: Parents) -> None:
    cmd = sub.add_parser("ingest", parents=[p.common, p.collection], help="ingest files or folders into a collection")
    cmd.add_argument("paths", nargs="+")
    add_options(cmd, ChunkConfig, {"size": "--chunk-size"})
    cmd.add_argument("--embedder", default=None, metavar="DIR|URL",
                     help="for a new collection: a sentence-transformers folder, or the base URL of an "
                          "OpenAI-compatible /v1/embeddings server (default: the embedded all-MiniLM-L6-v2; an "
                          "existing collection keeps its own)")
    cmd.add_argument("--embedder-model", default=None, help="the model name the embeddings server serves")
    cmd.add_argument("--embedder-key-env", default=None, help="NAME of the variable holding the server's key")
    cmd.add_argument("--replace-elsewhere", action="store_true",
                     help="replace a document of the same name that came from another folder (without it, such a "
                          "file is skipped and listed)")
    cmd.set_defaults(func=cmd_ingest)

    cmd = sub.add_parser("search", parents=[p.common, p.retrieval], help="one query through a retrieval mode")
    cmd.add_argument("query", type=utf8_text)
    cmd.add_argument("--mode", choices=["dense", "bm25", "hybrid", "rerank"], default="hybrid")
    cmd.set_defaults(func=cmd_search)

    cmd = sub.add_parser("retrieval-eval", parents=[p.common, p.retrieval], help="hit@k, recall@k, MRR per mode")
    cmd.add_argument("--questions", required=True, help="golden set: a stored set's NAME[@vN], or a JSONL/CSV file")
    cmd.add_argument("--per-question", action="store_true", help="include per-question rows in --json output")
    cmd.set_defaults(func=cmd_retrieval_eval)

    cmd = sub.add_parser("collections", parents=[p.common], help="list collections")
    cmd.add_argument("--rebuild", action="store_true",
                     help="a damaged embedded store: move it aside and rebuild every collection from the catalogue")
    cmd.set_defaults(func=cmd_collections)

    cmd = sub.add_parser("sweep", parents=[p.common, p.collection],
                         help="chunk-size sweep: the collection rebuilt at several sizes, retrieval per size and mode")
    cmd.add_argument("--questions", required=True, help="golden set: a stored set's NAME[@vN], or a JSONL/CSV file")
    cmd.add_argument("--sizes", default="256,512,1024", help="comma-separated chunk sizes in tokens (128-1024)")
    cmd.add_argument("--overlap", type=int, default=None, help="overlap in tokens (default: size / 8)")
    cmd.add_argument("--k", type=int, default=SEARCH_K, help=f"hits per question (default {SEARCH_K})")
    cmd.add_argument("--metric", choices=["hit_at_k", "recall_at_k", "mrr"], default="mrr",
                     help="the metric the verdict compares (default mrr)")
    cmd.add_argument("--embedder", action="append", default=None, metavar="default|DIR|URL#MODEL",
                     help="also compare this embedder with the collection's own (repeatable): the embedded default, "
                          "a sentence-transformers folder, or an embeddings server's URL#model name")
    cmd.add_argument("--embedder-key-env", default=None, help="NAME of the variable holding the servers' key")
    cmd.set_defaults(func=cmd_sweep)
