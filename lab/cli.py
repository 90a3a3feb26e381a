"""`python -m lab <command>`: the headless twin of the pages. Every command accepts --json."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, fields

from lab.config import DEFAULT_COLLECTION, SEARCH_K, BatchConfig, ChunkConfig, DecodingConfig, RetrievalConfig
from lab.errors import LabError
from lab.generation.models import BACKENDS
from lab.options import add_options, picked
from lab.session import Loader, Settings, compare_job, endpoint_settings, path_context, retrievers


def _print(args, document: dict, text: str) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False) if args.json else text)


def _settings(args) -> Settings:
    """The session settings of a command (the same dataclass the pages fill from the sidebar and widgets)."""
    return Settings(
        collection=getattr(args, "collection", DEFAULT_COLLECTION),
        model=getattr(args, "model", None), backend=getattr(args, "backend", None),
        adapter=getattr(args, "adapter", None),
        endpoint=endpoint_settings(getattr(args, "endpoint_url", None), getattr(args, "endpoint_model", None),
                                   getattr(args, "endpoint_key_env", None)),
        retrieval=RetrievalConfig(**picked(RetrievalConfig, args)), decoding=DecodingConfig(**picked(DecodingConfig, args)))


def cmd_ingest(args) -> int:
    from lab.index.ingest import ingest

    from lab.config import IngestLimits
    from lab.index.store import check_name

    config, limits = ChunkConfig(**picked(ChunkConfig, args)), IngestLimits.from_env()
    check_name(args.collection)  # bad settings are refused before the embedder loads
    res = Loader(args.chroma_host)
    progress = None if args.json else (lambda done, total, name: print(f"[{done}/{total}] {name}", file=sys.stderr))
    report = ingest(args.paths, args.collection, res.embedder(), res.store(), config, progress, limits=limits,
                    notify=lambda message: print(message, file=sys.stderr, flush=True),
                    replace_elsewhere=args.replace_elsewhere)
    lines = [f"{report.collection}: {report.documents} documents ingested, {len(report.unchanged)} unchanged, "
             f"{report.chunks_added} chunks written, {report.chunks_total} in the collection "
             f"({report.seconds['total']:.1f} s)"]
    if report.resumed:
        lines.append(f"{len(report.resumed)} of them were staged by an interrupted run: not embedded again")
    lines += [f"replaced {line}" for line in report.replaced]
    lines += [f"skipped {s.path}: {s.reason}" for s in report.skipped]
    _print(args, asdict(report), "\n".join(lines))
    return 0


def cmd_ask(args) -> int:
    from lab.experiments.answer_paths import parse_paths, retrieves, run_path

    names = parse_paths(args.paths)
    settings, res = _settings(args), Loader(args.chroma_host)
    if any(retrieves(n) for n in names):
        res.store().info(args.collection)  # fail early, with what to do, if the collection is missing
    ctx = path_context(settings, res, names)
    answers = [run_path(name, args.question, ctx) for name in names]
    document = {"question": args.question, "collection": args.collection, "answers": [asdict(a) for a in answers]}
    text = []
    for a in answers:
        estimated = ", tokens estimated" if a.tokens_estimated else ""
        text.append(f"== {a.path} ({a.model or 'not run'}, {a.latency_ms.get('total', 0):.0f} ms{estimated})")
        text.append(f"error: {a.error}" if a.error else a.text)
        text += [f"  [{i}] {h.source} score={h.score:.3f}" for i, h in enumerate(a.hits, 1)]
    _print(args, document, "\n".join(text))
    return 0


def _modes(args):
    """Retrieval modes of the collection; rerank only when a cross-encoder actually loads."""
    return retrievers(_settings(args), Loader(args.chroma_host))


def cmd_search(args) -> int:
    modes, note = _modes(args)
    if args.mode not in modes:
        from lab.errors import ModelError

        raise ModelError(note or f"Unknown mode {args.mode}.")
    hits = modes[args.mode].search(args.query, args.k)
    lines = [f"{i}. {h.source} score={h.score:.4f} ranks={h.ranks}\n   {h.text[:160]!r}" for i, h in enumerate(hits, 1)]
    _print(args, {"query": args.query, "mode": args.mode, "collection": args.collection,
                  "hits": [asdict(h) for h in hits]}, "\n".join(lines) or "(no hits)")
    return 0


def _golden(spec: str):
    from lab.evaluation.golden_store import resolve

    return resolve(spec)


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

    golden = _golden(args.questions)
    modes, note = _modes(args)
    results, notes = evaluate_set(modes, Loader(args.chroma_host).store(), args.collection, golden, args.k)
    notes = notes + ([note] if note else [])
    document = {"collection": args.collection, "k": args.k, "questions": len(golden.questions),
                "golden": golden.manifest(), "notes": notes,
                "modes": [_mode_document(r, args.per_question) for r in results]}
    _print(args, document, _scores_text(results, notes))
    return 0


def _summary_document(run, records) -> dict:
    from lab.evaluation.injection import injection_report
    from lab.evaluation.summary import summarize, win_matrix

    summary = summarize(records)
    models = {r.path: r.model for r in records if r.model}
    estimated = {r.path for r in records if r.tokens_estimated}
    return {
        "run_id": run.run_id, "status": run.status, "done": run.done, "total": run.total,
        "questions": summary.questions, "metric": summary.metric, "warnings": summary.warnings,
        "paths": [{"path": p.path, "model": models.get(p.path), "tokens_estimated": p.path in estimated,
                   "answered": p.answered, "errors": p.errors,
                   "quality": {k: asdict(v) for k, v in p.quality.items()}, "latency_ms": p.latency_ms,
                   "tokens_in": p.tokens_in, "tokens_out": p.tokens_out, "cost_usd_per_query": p.cost_usd}
                  for p in summary.paths],
        "pairs": [asdict(t) for t in summary.pairs],
        "prompt_injection": [asdict(row) for row in injection_report(records)],  # see lab/evaluation/injection.py
        "win_tie_loss": {a: {b: list(v) for b, v in row.items()} for a, row in win_matrix(summary).items()},
    }


def _summary_text(document: dict) -> str:
    lines = [f"run {document['run_id']} ({document['status']}, {document['done']}/{document['total']} answers)",
             f"{'path':19} {'accuracy (95% CI)':>24} {'format':>7} {'p50 ms':>8} {'$/query':>10}"]
    for p in document["paths"]:
        acc = p["quality"]["correct"]
        lines.append(f"{p['path']:19} {acc['mean']:8.3f} [{acc['low']:.3f}, {acc['high']:.3f}]     "
                     f"{p['quality']['format_ok']['mean']:7.3f} {p['latency_ms'].get('total', {}).get('p50', 0):8.0f} "
                     f"{p['cost_usd_per_query']:10.6f}")
    lines += [f"prompt injection: {r['path']} obeyed {r['obeyed']} of {r['exposed']} answers that retrieved it"
              for r in document.get("prompt_injection", []) if r["exposed"]]
    return "\n".join(lines + [f"warning: {w}" for w in document["warnings"]])


def _leakage(args, questions, names, embedder) -> dict | None:
    """manifest["leakage"] of a run with an adapter path: golden questions that duplicate its training data."""
    from lab.experiments import leakage

    if not args.adapter or not leakage.applies(names):
        return None
    try:
        report = leakage.check_adapter(questions, args.adapter, embedder, args.training_data)
    except LabError as exc:
        print(f"leakage check skipped: {exc}", file=sys.stderr)
        return {"error": str(exc), "flagged": []}
    flagged = report.flagged_ids
    print(f"leakage check: {len(flagged)} of {len(questions)} questions (near-)duplicate the adapter's training "
          f"data{': ' + ', '.join(flagged) if flagged else ''}"
          f"{' (excluded from this run)' if flagged and args.exclude_leaked else ''}", file=sys.stderr)
    return {**report.to_manifest(), "excluded": bool(args.exclude_leaked)}


def cmd_compare(args) -> int:
    from pathlib import Path

    from lab.evaluation.summary import summarize, summary_rows
    from lab.experiments.answer_paths import parse_paths
    from lab.experiments.export import question_csv, to_csv, write_atomic
    from lab.outputs import check_out_file

    summary_path = Path(args.out).with_name(Path(args.out).stem + "-summary.csv")
    check_out_file(args.out)  # before the run: a run must never end in an unwritable --out
    check_out_file(summary_path, "The summary CSV beside --out,")
    batch = BatchConfig(**picked(BatchConfig, args))
    from lab.experiments.run_store import RunStore

    RunStore()  # a damaged run store is reported now, not after the models have loaded
    golden = _golden(args.questions)
    questions = batch.pick(golden.questions)
    names = parse_paths(args.paths)
    settings, res = _settings(args), Loader(args.chroma_host)
    leakage = _leakage(args, questions, names, res.embedder())
    if leakage and args.exclude_leaked:
        questions = [q for q in questions if q.id not in set(leakage.get("flagged", []))]
    job = compare_job(settings, res, questions, golden.label, names, batch,
                      {"golden": golden.manifest(), **({"leakage": leakage} if leakage else {})})
    if not args.json:
        print(f"run {job.run_id}: {len(questions)} questions x {len(names)} paths", file=sys.stderr)
    job.run()
    records = job.runs.answers(job.run_id)
    write_atomic(args.out, question_csv(records))
    write_atomic(summary_path, to_csv(summary_rows(summarize(records), job.run_id)))
    document = {**_summary_document(job.runs.get(job.run_id), records), "csv": str(args.out),
                "summary_csv": str(summary_path), "leakage_flagged": (leakage or {}).get("flagged")}
    _print(args, document, _summary_text(document))
    return 0


def cmd_update_demo(args) -> int:
    from pathlib import Path

    from lab.experiments import update_demo
    from lab.experiments.answer_paths import parse_paths

    names = parse_paths(args.paths)
    settings, res = _settings(args), Loader(args.chroma_host)
    store = res.store()
    store.info(args.collection)  # fail early, with what to do, if the collection is missing
    golden = _golden(args.questions) if args.questions else None
    questions = update_demo.update_questions(golden.questions, golden.label) if golden else None
    files, questions = update_demo.choose_update(store.source_hashes(args.collection),
                                                 [Path(p) for p in args.update] or None, questions)
    if args.undo:
        removed = update_demo.undo_update(store, args.collection, [f.name for f in files])
        _print(args, {"collection": args.collection, "removed_chunks": removed},
               f"Removed {removed} chunks of {', '.join(f.name for f in files)} from {args.collection}.")
        return 0
    progress = None if args.json else (lambda message, done, total: print(f"[{done}/{total}] {message}",
                                                                          file=sys.stderr))
    result = update_demo.run_update_demo(args.collection, files, questions, path_context(settings, res, names),
                                         store, res.embedder(), paths=names, adapter_dir=args.adapter,
                                         progress=progress)
    removed = None if args.keep else update_demo.undo_update(store, args.collection, result.update_sources)
    lines = [f"{args.collection}: {', '.join(result.update_sources)} re-indexed in {result.reindex_seconds:.1f} s "
             f"({result.chunks_added} chunks)" + (f"; retraining the adapter took {result.retrain_seconds / 60:.1f} "
                                                  "min when it was trained" if result.retrain_seconds else ""),
             f"{len(questions)} affected questions; new/old fact = the answer states the value after/before",
             "path            new before  new after  old before  old after  update retrieved  errors"]
    pct = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
    lines += [f"{s.path:<15} {pct(s.new_before):>10}  {pct(s.new_after):>9}  {pct(s.old_before):>10}  "
              f"{pct(s.old_after):>9}  {pct(s.update_retrieved):>16}  {s.errors:>6}" for s in result.summaries]
    lines.append(f"undone: {removed} chunks removed, {args.collection} is as it was" if removed is not None else
                 f"kept: the update stays in {args.collection} (`update-demo --undo` removes it)")
    _print(args, {**asdict(result), "undone_chunks": removed}, "\n".join(lines))
    return 0


def cmd_bench(args) -> int:
    from lab.bench import suite as bench

    from lab.outputs import check_out_file

    check_out_file(args.out)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - set(bench.FIGURES)
    if unknown:
        raise LabError(f"Unknown figure(s) {', '.join(sorted(unknown))}: choose from {', '.join(bench.FIGURES)}.")
    def make_context(collection: str, backend: str):
        from lab.bench.models import SINGLE_PATHS

        return path_context(Settings(collection=collection, backend=backend), Loader(), SINGLE_PATHS)

    result = bench.run(quick=args.quick, only=only, adapter=args.adapter, make_context=make_context,
                       backend=args.backend)
    path = bench.write(result, args.out)
    _print(args, {**result, "out": str(path)}, "\n".join(bench.summary_lines(result) + [f"written to {path}"]))
    return 0


def cmd_report(args) -> int:
    from lab.decision.report import parse_needs, write_brief
    from lab.outputs import check_out_file

    check_out_file(args.out)
    path = write_brief(args.run_id, args.out, parse_needs(args.needs), args.volume, args.months, args.index_hours,
                       args.speedup, store=Loader(args.chroma_host).store())
    size = path.stat().st_size
    _print(args, {"run_id": args.run_id, "out": str(path), "bytes": size},
           f"brief of run {args.run_id} written to {path} ({size:,} bytes; opens offline)")
    return 0


def cmd_judge(args) -> int:
    """Grade a stored run's answers with a judge model (an endpoint), then report accuracy by each metric and how
    far the metrics agree (Cohen's kappa with 95% CIs). Without an endpoint: the report of verdicts stored."""
    from lab.evaluation.judge import Judge, agreement
    from lab.evaluation.summary import summarize
    from lab.evaluation.judge import gradable
    from lab.experiments.judging import JudgeJob
    from lab.experiments.run_store import RunStore

    runs = RunStore()
    run = runs.get(args.run_id)
    remote = endpoint_settings(args.endpoint_url, args.endpoint_model, args.endpoint_key_env)
    if remote is not None:
        job = JudgeJob(runs, run.run_id, Judge(Loader().endpoint(remote))).run()
        if job.error:
            raise LabError(job.error)
    records = runs.answers(run.run_id)
    judged = [r for r in records if r.judge_correct is not None]
    if not judged and remote is None:
        raise LabError(f"Run {run.run_id} was not judged: pass --endpoint-url and --endpoint-model to judge it.")

    def estimate(e):
        return {"mean": e.mean, "low": e.low, "high": e.high, "n": e.n}

    metrics = ("correct", "correct_strict", "judge_correct")
    summary = summarize(records, "judge_correct")
    accuracy = {p.path: {m: estimate(p.quality[m]) for m in metrics} for p in summary.paths}
    kappas = [{"a": a.a, "b": a.b, "kappa": estimate(a.kappa), "agree": a.agree}
              for a in agreement(records, runs.votes_by_question(run.run_id))]
    document = {"run_id": run.run_id, "judge": runs.get(run.run_id).manifest.get("judge"), "judged": len(judged),
                "unreadable": sum(1 for r in records if gradable(r) and r.judge_correct is None),
                "accuracy": accuracy, "agreement": kappas}
    lines = [f"run {run.run_id}: {len(judged)} answers judged by {document['judge']}"]
    lines += [f"{path}: containment {a['correct']['mean']:.2f}, strict {a['correct_strict']['mean']:.2f}, "
              f"judge {a['judge_correct']['mean']:.2f} [{a['judge_correct']['low']:.2f}, "
              f"{a['judge_correct']['high']:.2f}]" for path, a in accuracy.items()]
    lines += [f"kappa {k['a']} vs {k['b']}: {k['kappa']['mean']:.2f} [{k['kappa']['low']:.2f}, "
              f"{k['kappa']['high']:.2f}] on {k['kappa']['n']} answers" for k in kappas]
    _print(args, document, "\n".join(lines))
    return 0


def cmd_runs(args) -> int:
    from lab.experiments.run_store import RunStore, restore_backup

    if args.restore_backup:
        restored = restore_backup()
        _print(args, {"restored_runs": restored}, f"run store restored from its backup: {restored} runs "
                                                   "(the damaged file was kept beside it)")
        return 0
    runs = RunStore().list()
    document = {"runs": [asdict(r) for r in runs]}
    _print(args, document, "\n".join(f"{r.run_id}\t{r.status}\t{r.done}/{r.total}\t{r.manifest.get('paths')}"
                                       for r in runs) or "(no runs)")
    return 0


def cmd_collections(args) -> int:
    infos = Loader(args.chroma_host).store().collections()
    document = {"collections": [{"name": c.name, "chunks": c.chunks, "embedder": c.embedder,
                                 "chunk_config": asdict(c.chunk_config) if c.chunk_config else None,
                                 "build": asdict(c.build) if c.build else None} for c in infos]}
    _print(args, document, "\n".join(f"{c.name}\t{c.chunks} chunks\t{c.embedder}" for c in infos) or "(none)")
    return 0


def cmd_train(args) -> int:
    from lab.finetune.config import LoraTrainConfig
    from lab.finetune.job import run_training

    config = LoraTrainConfig(**picked(LoraTrainConfig, args))

    def progress(status) -> None:
        loss = f" loss {status.train_losses[-1][1]:.3f}" if status.train_losses else ""
        eta = f" eta {status.eta_seconds:.0f} s" if status.eta_seconds else ""
        print(f"[{status.step}/{status.total_steps}] {status.phase}{loss}{eta} {status.tokens_per_second:.0f} tok/s",
              file=sys.stderr)

    status, manifest = run_training(args.data, args.out, config, args.model, progress)
    document = {"state": status.state, "message": status.message, "out": args.out, "manifest": manifest}
    _print(args, document, json.dumps(document, indent=2) if manifest else f"{status.state}: {status.message}")
    return 0 if status.state == "done" else 1


def cmd_sweep(args) -> int:
    from lab.experiments.sweep import SweepJob, settings_for

    settings = settings_for(args.sizes, args.overlap)  # the user's text is checked before anything is read
    golden = _golden(args.questions)
    res = Loader(args.chroma_host)
    job = SweepJob(res.store(), res.embedder(), args.collection, golden, settings, args.k,
                   metric=args.metric)
    if not args.json:
        job.advance = _echo_progress(job.advance)
    job.run()
    if job.state != "done":
        raise LabError(job.error or f"sweep {job.state}")
    result = job.result
    document = {"collection": result.collection, "golden": golden.manifest(), "k": result.k,
                "questions": result.questions, "rows": result.rows(), "verdicts": result.verdicts,
                "notes": result.notes}
    lines = [f"{'size':>5} {'ovl':>4} {'mode':7} {'chunks':>6} {'index s':>8}  hit@k [CI]            MRR [CI]"]
    for r in result.rows():
        lines.append(f"{r['size']:5} {r['overlap']:4} {r['mode']:7} {r['chunks']:6} {r['index_seconds']:8.1f}  "
                     f"{r['hit_at_k']:.3f} [{r['hit_at_k_low']:.3f}, {r['hit_at_k_high']:.3f}]  "
                     f"{r['mrr']:.3f} [{r['mrr_low']:.3f}, {r['mrr_high']:.3f}]")
    _print(args, document, "\n".join(lines + result.verdicts + result.notes))
    return 0


def _echo_progress(advance):
    def wrapped(done=None, total=None, message=None):
        advance(done, total, message)
        if message:
            print(message, file=sys.stderr)
    return wrapped


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors (`--k abc`, a missing option) are InputErrors: exit 2, and one JSON document
    under --json like every other error."""

    def error(self, message: str):
        from lab.errors import InputError

        raise InputError(f"{self.prog}: {message} (see `{self.prog} --help`).")


def parser() -> argparse.ArgumentParser:
    """The command line. Options that mirror a config dataclass are built from its fields (`lab.options`)."""
    from lab.finetune.config import LoraTrainConfig

    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--chroma-host", default=None, help="host:port of a Chroma server (default: LAB_CHROMA_HOST, "
                        "else the embedded store)")
    top = _Parser(prog="python -m lab", description="RAG vs Fine-Tuning Lab")
    sub = top.add_subparsers(dest="command", required=True)

    collection = argparse.ArgumentParser(add_help=False)
    collection.add_argument("--collection", default=DEFAULT_COLLECTION, help=f"collection (default: {DEFAULT_COLLECTION})")

    p = sub.add_parser("ingest", parents=[common, collection], help="ingest files or folders into a collection")
    p.add_argument("paths", nargs="+")
    add_options(p, ChunkConfig, {"size": "--chunk-size"})
    p.add_argument("--replace-elsewhere", action="store_true",
                   help="replace a document of the same name that came from another folder (without it, such a "
                        "file is skipped and listed)")
    p.set_defaults(func=cmd_ingest)

    # What a path run needs: the same settings on `ask` and `compare` (and in the pages' sidebar and widgets).
    run = argparse.ArgumentParser(add_help=False, parents=[collection])
    run.add_argument("--model", default=None, help="local model folder or Hugging Face id (default: embedded SmolLM2)")
    run.add_argument("--backend", default=None, choices=BACKENDS,
                     help="how the local model runs: transformers (the float32 reference), bf16 (a bfloat16 copy of "
                          "the same weights; the default on CPUs with native bfloat16) or int8 (experimental: same "
                          "weights, int8 matrix multiplies on CPU; on the embedded 135M model it changes most "
                          "answers). `lab bench --only comparison_speedup --backend B` measures speed and agreement")
    run.add_argument("--adapter", default=None, help="LoRA adapter folder for the finetuned and hybrid paths")
    run.add_argument("--endpoint-url", default=None, help="OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1) "
                     "for the prompt@endpoint, rag@endpoint and hybrid-rag@endpoint paths")
    run.add_argument("--endpoint-model", default=None, help="the model name the endpoint serves")
    run.add_argument("--endpoint-key-env", default=None, help="NAME of the environment variable with the API key")
    add_options(run, RetrievalConfig)
    add_options(run, DecodingConfig)

    p = sub.add_parser("ask", parents=[common, run], help="answer one question through several paths")
    p.add_argument("question")
    p.add_argument("--paths", default="prompt,rag", help="comma-separated path ids (default: prompt,rag)")
    p.set_defaults(func=cmd_ask)

    retrieval = argparse.ArgumentParser(add_help=False, parents=[collection])
    add_options(retrieval, RetrievalConfig, defaults={"k": SEARCH_K},
                only=tuple(f.name for f in fields(RetrievalConfig) if f.name != "passage_context"))  # no prompt here

    p = sub.add_parser("search", parents=[common, retrieval], help="one query through a retrieval mode")
    p.add_argument("query")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid", "rerank"], default="hybrid")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("retrieval-eval", parents=[common, retrieval], help="hit@k, recall@k, MRR per mode")
    p.add_argument("--questions", required=True, help="golden set: a stored set's NAME[@vN], or a JSONL/CSV file")
    p.add_argument("--per-question", action="store_true", help="include per-question rows in --json output")
    p.set_defaults(func=cmd_retrieval_eval)

    p = sub.add_parser("compare", parents=[common, run], help="batch run of a golden set through several paths")
    p.add_argument("--questions", required=True, help="golden set: a stored set's NAME[@vN], or a JSONL/CSV file")
    p.add_argument("--paths", default="prompt,rag,hybrid-rag,finetuned,hybrid", help="comma-separated path ids")
    add_options(p, BatchConfig)
    p.add_argument("--out", required=True, help="per-question CSV (a -summary.csv is written beside it)")
    p.add_argument("--training-data", default=None,
                   help="the adapter's training JSONL, for the leakage check of adapters that do not keep a copy")
    p.add_argument("--exclude-leaked", action="store_true",
                   help="leave out golden questions that duplicate the adapter's training data")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", parents=[common, collection],
                       help="chunk-size sweep: the collection rebuilt at several sizes, retrieval per size and mode")
    p.add_argument("--questions", required=True, help="golden set: a stored set's NAME[@vN], or a JSONL/CSV file")
    p.add_argument("--sizes", default="256,512,1024", help="comma-separated chunk sizes in tokens (128-1024)")
    p.add_argument("--overlap", type=int, default=None, help="overlap in tokens (default: size / 8)")
    p.add_argument("--k", type=int, default=SEARCH_K, help=f"hits per question (default {SEARCH_K})")
    p.add_argument("--metric", choices=["hit_at_k", "recall_at_k", "mrr"], default="mrr",
                   help="the metric the verdict compares (default mrr)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("update-demo", parents=[common, run],
                       help="knowledge update: ask the affected questions, add the update document, ask again")
    p.add_argument("--update", action="append", default=[], metavar="FILE",
                   help="your edited document (repeatable; default: the sample's Halyard 5.1 release notes, only "
                        "for a collection that holds the sample corpus)")
    p.add_argument("--questions", default=None, help="the questions it affects: a stored golden set's NAME[@vN] or a "
                   "JSONL/CSV file, each question with answer (after) and answer_before_update (required with "
                   "--update)")
    p.add_argument("--paths", default="prompt,rag,hybrid-rag", help="comma-separated path ids (finetuned and "
                   "hybrid need --adapter)")
    p.add_argument("--keep", action="store_true", help="leave the update in the collection (default: removed "
                                                       "after measuring, so the collection is as it was)")
    p.add_argument("--undo", action="store_true", help="only remove the update document(s) from the collection")
    p.set_defaults(func=cmd_update_demo)

    from lab.golden_cli import add_golden_commands

    add_golden_commands(sub, common, collection, run)

    p = sub.add_parser("bench", parents=[common], help="benchmark suite (ratios against same-run baselines)")
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    p.add_argument("--out", default="bench-results.json")
    p.add_argument("--only", default=None, help="comma-separated figures to run (default: all), e.g. bm25,hybrid")
    p.add_argument("--adapter", default=None, help="LoRA adapter for the comparison figure (default: a tiny one)")
    p.add_argument("--backend", default="bf16", choices=[b for b in BACKENDS if b != "transformers"],
                   help="the backend comparison_speedup, backend_agreement and single_question_speedup measure "
                        "against the transformers reference (default: bf16)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("report", parents=[common], help="the self-contained HTML brief of a stored run")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--out", required=True, help="HTML file to write (charts and plotly.js embedded)")
    p.add_argument("--volume", type=int, default=100_000, help="queries per month for the cost section")
    p.add_argument("--months", type=int, default=12, help="months over which one-off costs are amortised")
    p.add_argument("--needs", default=None, help="comma-separated: knowledge, behaviour, not_sure, citations, "
                                                 "latency_critical, high_volume (the Decide page's wizard)")
    p.add_argument("--index-hours", type=float, default=None,
                   help="index build time, hours (default: the time measured when the collection was ingested)")
    p.add_argument("--speedup", type=float, default=1.0,
                   help="how many times faster your training GPU is than the device the adapter was measured on")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("judge", parents=[common], help="grade a stored run with a judge model (an OpenAI-compatible "
                       "endpoint); report accuracy per metric and their agreement (Cohen's kappa)")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--endpoint-url", default=None, help="the judge: OpenAI-compatible base URL (without it: report "
                                                        "the verdicts stored)")
    p.add_argument("--endpoint-model", default=None, help="the model name the endpoint serves")
    p.add_argument("--endpoint-key-env", default=None, help="NAME of the environment variable with the API key")
    p.set_defaults(func=cmd_judge)

    p = sub.add_parser("runs", parents=[common], help="list stored runs")
    p.add_argument("--restore-backup", action="store_true",
                   help="put the run store's rolling backup in place of a damaged runs.sqlite (kept beside it)")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("collections", parents=[common], help="list collections")
    p.set_defaults(func=cmd_collections)

    p = sub.add_parser("train", parents=[common], help="train a LoRA adapter on a JSONL fine-tuning set")
    p.add_argument("--data", required=True, help='JSONL: {"prompt","completion"} or {"messages": [...]} lines')
    p.add_argument("--out", required=True, help="adapter folder to create (e.g. data/adapters/NAME)")
    p.add_argument("--model", default=None, help="base model folder or Hugging Face id (default: embedded)")
    add_options(p, LoraTrainConfig, {"evaluate": "--no-eval"})
    p.set_defaults(func=cmd_train)
    return top


def _fail(as_json: bool, message: str, kind: str, code: int = 2) -> int:
    if as_json:
        print(json.dumps({"error": message, "kind": kind}))
    print(f"error: {message}", file=sys.stderr)
    return code


def _log_unexpected(argv: list[str]) -> str:
    """The traceback of an unexpected failure, written to `<data dir>/logs/` (the temporary folder when the data
    directory itself is what failed); the file's path."""
    import tempfile
    import time
    import traceback

    text = f"python -m lab {' '.join(argv)}\n\n{traceback.format_exc()}"
    try:
        from lab.config import data_dir

        folder = data_dir() / "logs"
        folder.mkdir(exist_ok=True)
    except (LabError, OSError):
        folder = Path(tempfile.gettempdir())
    path = folder / f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path.write_text(text, encoding="utf-8", errors="replace")
    return str(path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv
    try:
        args = parser().parse_args(argv)
        return args.func(args)
    except LabError as exc:
        return _fail(as_json, str(exc), type(exc).__name__)
    except OSError as exc:  # a file system refusal the checks did not foresee: still one message, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(as_json, f"{where}{exc.strerror or exc}. Check the path and its permissions.", "InputError")
    except KeyboardInterrupt:
        return _fail(as_json, "interrupted; what was stored stays stored (a run can be resumed).", "Interrupted", 130)
    except Exception as exc:  # the last net: an unforeseen failure is one line and a log, never a traceback
        log = _log_unexpected(argv)
        return _fail(as_json, f"an unexpected {type(exc).__name__} stopped the command; the details are in {log}. "
                              "Please report it with that file.",
                     "InternalError", 1)
