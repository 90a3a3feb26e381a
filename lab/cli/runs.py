"""Run commands: ask, compare, update-demo, runs, report, judge."""

from __future__ import annotations

import sys
from dataclasses import asdict

from lab.display import count
from lab.cli.common import Parents, add_endpoint, emit, golden_set, settings_of, utf8_text
from lab.config import BatchConfig
from lab.errors import InputError, LabError
from lab.options import add_options, picked
from lab.session import Loader, collection_embedder, compare_job, endpoint_settings, path_context


def cmd_ask(args) -> int:
    from lab.experiments.answer_paths import parse_paths, retrieves, run_path

    names = parse_paths(args.paths)
    settings, res = settings_of(args), Loader(args.chroma_host)
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
    emit(args, document, "\n".join(text))
    return 0


def _summary_document(run, records) -> dict:
    from lab.evaluation.attribution import attribute_records
    from lab.evaluation.injection import injection_report
    from lab.evaluation.summary import summarize, win_matrix
    from lab.experiments import agentic

    summary = summarize(records)
    attribution = attribute_records(records)
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
        "attribution": attribution.to_dict() if attribution else None,
        "agentic": agentic.by_path(records),  # how each agentic path decided (lab/experiments/agentic.py)
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
    from lab.experiments.agentic import describe

    lines += [describe(path, rates) for path, rates in (document.get("agentic") or {}).items()]
    if document.get("attribution"):
        lines += [f"2x2 ({count(document['attribution']['n'], 'question')}): {v}"
                  for v in document["attribution"]["verdicts"].values()]
    return "\n".join(lines + [f"warning: {w}" for w in document["warnings"]])


def _leakage(args, questions, names, res):
    """The run's leakage check (`lab.experiments.leakage.for_run`, as on the Compare page), told on stderr."""
    from lab.experiments import leakage

    if not args.adapter or not leakage.applies(names):
        return leakage.RunLeakage(list(questions))
    outcome = leakage.for_run(questions, names, args.adapter, res.embedder(), args.exclude_leaked, args.training_data)
    if outcome.error:
        print(f"leakage check skipped: {outcome.error}", file=sys.stderr)
        return outcome
    flagged = outcome.report.flagged_ids
    print(f"leakage check: {len(flagged)} of {len(questions)} questions (near-)duplicate the adapter's training "
          f"data{': ' + ', '.join(flagged) if flagged else ''}"
          f"{' (excluded from this run)' if flagged and args.exclude_leaked else ''}", file=sys.stderr)
    return outcome


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
    res = Loader(args.chroma_host)
    leakage = None
    if args.resume:
        from lab.session import resume_job

        job = resume_job(args.resume, res)
        if not args.json:
            print(f"run {job.run_id}: resuming, {job.remaining} of {job.progress.total} answers to go",
                  file=sys.stderr)
    else:
        if not args.questions:
            raise LabError("Give --questions (a stored golden set's NAME[@vN], or a JSONL/CSV file), or --resume "
                           "RUN_ID to finish a stopped run.")
        golden = golden_set(args.questions)
        questions = batch.pick(golden.questions)
        names = parse_paths(args.paths)
        settings = settings_of(args)
        if settings.endpoint is not None:
            res.endpoint(settings.endpoint).served_models((settings.endpoint.adapter,) if settings.endpoint.adapter
                                                          else ())  # a wrong URL, key or name: before any work
        if args.dry_run:
            from lab.experiments.estimate import dry_run, dry_run_text, planning_sd
            from lab.experiments.run_store import RunStore

            if args.difference is not None and not 0 < args.difference < 1:
                raise InputError(f"--difference must be above 0 and below 1, not {args.difference}.")
            estimate = dry_run(path_context(settings, res, names), questions, names,
                               concurrency=settings.endpoint.concurrency if settings.endpoint else 1,
                               planning=planning_sd(RunStore(), settings.collection, names),
                               difference=args.difference)
            emit(args, estimate.to_dict(), dry_run_text(estimate))
            return 0
        stop = _stop_rule(args, names)
        leakage = _leakage(args, questions, names, res)
        questions = leakage.questions
        job = compare_job(settings, res, questions, golden.label, names, batch,
                          {"golden": golden.manifest(), **({"leakage": leakage.manifest} if leakage.manifest else {})},
                          stop=stop)
        if not args.json:
            print(f"run {job.run_id}: {count(len(questions), 'question')} x {count(len(names), 'path')}",
                  file=sys.stderr)
    if not args.json:
        job.advance = _echo_answers(job.advance, job.progress)
    job.run()
    records = job.runs.answers(job.run_id)
    write_atomic(args.out, question_csv(records))
    write_atomic(summary_path, to_csv(summary_rows(summarize(records), job.run_id)))
    document = {**_summary_document(job.runs.get(job.run_id), records), "csv": str(args.out),
                "summary_csv": str(summary_path),
                "leakage_flagged": ((leakage.manifest if leakage else None) or {}).get("flagged")}
    if job.decision is not None:
        document["stopped_early"] = {**asdict(job.decision), "text": job.decision.text()}
    if job.state != "done":
        left = job.progress.total - len(records)
        document["error"] = (f"the run {job.state}: {job.error or 'stopped'}; {len(records)} answers are stored, "
                             f"{left} remain: `python -m lab compare --resume {job.run_id} --out {args.out}` "
                             "asks only those")
    emit(args, document, _summary_text(document) + (f"\nerror: {document['error']}" if "error" in document else ""))
    return 0 if job.state == "done" else 1


def _stop_rule(args, names):
    """The --stop-when rule, checked before anything loads."""
    if not args.stop_when:
        return None
    from lab.evaluation.sequential import StopRule, parse_pairs

    if not 0 <= args.margin < 1:
        raise InputError(f"--margin must be 0 (only a winner decides) up to below 1, not {args.margin}.")
    return StopRule(parse_pairs(args.stop_when, names), args.stop_metric, args.margin)


def _echo_answers(advance, progress):
    """Progress on stderr: answers done of all, and the time left at the pace so far."""
    last = [0.0]

    def wrapped(done=None, total=None, message=None):
        import time

        advance(done, total, message)
        if time.monotonic() - last[0] >= 2 or progress.done == progress.total:
            last[0] = time.monotonic()
            eta = progress.eta_seconds
            print(f"[{progress.done}/{progress.total}] {progress.message}"
                  + (f", about {eta:.0f} s left" if eta else ""), file=sys.stderr)
    return wrapped


def cmd_update_demo(args) -> int:
    from pathlib import Path

    from lab.experiments import update_demo
    from lab.experiments.answer_paths import parse_paths

    names = parse_paths(args.paths)
    settings, res = settings_of(args), Loader(args.chroma_host)
    store = res.store()
    store.info(args.collection)  # fail early, with what to do, if the collection is missing
    golden = golden_set(args.questions) if args.questions else None
    questions = update_demo.update_questions(golden.questions, golden.label) if golden else None
    files, questions = update_demo.choose_update(store.source_hashes(args.collection),
                                                 [Path(p) for p in args.update] or None, questions)
    if args.undo:
        removed = update_demo.undo_update(store, args.collection, [f.name for f in files])
        emit(args, {"collection": args.collection, "removed_chunks": removed},
               f"Removed {count(removed, 'chunk')} of {', '.join(f.name for f in files)} from {args.collection}.")
        return 0
    progress = None if args.json else (lambda message, done, total: print(f"[{done}/{total}] {message}",
                                                                          file=sys.stderr))
    result = update_demo.run_update_demo(args.collection, files, questions, path_context(settings, res, names),
                                         store, collection_embedder(store, args.collection, res), paths=names,
                                         adapter_dir=args.adapter,
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
    lines.append(f"undone: {count(removed, 'chunk')} removed, {args.collection} is as it was"
                 if removed is not None else
                 f"kept: the update stays in {args.collection} (`update-demo --undo` removes it)")
    emit(args, {**asdict(result), "undone_chunks": removed}, "\n".join(lines))
    return 0


def cmd_runs(args) -> int:
    from lab.experiments.run_store import RunStore, restore_backup

    if args.restore_backup:
        restored = restore_backup()
        emit(args, {"restored_runs": restored}, f"run store restored from its backup: {restored} runs "
                                                   "(the damaged file was kept beside it)")
        return 0
    runs = RunStore().list()
    document = {"runs": [{**asdict(r), "manifest": r.manifest.to_dict()} for r in runs]}
    emit(args, document, "\n".join(f"{r.run_id}\t{r.status}\t{r.done}/{r.total}\t{list(r.manifest.paths)}"
                                       for r in runs) or "(no runs)")
    return 0


def cmd_report(args) -> int:
    from lab.decision.report import parse_needs, write_brief
    from lab.outputs import check_out_file

    if not 1 <= args.volume <= 10**12:
        raise InputError(f"--volume must be 1 to 1,000,000,000,000 queries a month, got {args.volume}.")
    if not 1 <= args.months <= 600:
        raise InputError(f"--months must be 1-600, got {args.months}.")
    check_out_file(args.out)
    path = write_brief(args.run_id, args.out, parse_needs(args.needs), args.volume, args.months, args.index_hours,
                       args.speedup, store=Loader(args.chroma_host).store())
    size = path.stat().st_size
    emit(args, {"run_id": args.run_id, "out": str(path), "bytes": size},
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
    document = {"run_id": run.run_id, "judge": runs.get(run.run_id).manifest.judge, "judged": len(judged),
                "unreadable": sum(1 for r in records if gradable(r) and r.judge_correct is None),
                "accuracy": accuracy, "agreement": kappas}
    lines = [f"run {run.run_id}: {count(len(judged), 'answer')} judged by {document['judge']}"]
    lines += [f"{path}: containment {a['correct']['mean']:.2f}, strict {a['correct_strict']['mean']:.2f}, "
              f"judge {a['judge_correct']['mean']:.2f} [{a['judge_correct']['low']:.2f}, "
              f"{a['judge_correct']['high']:.2f}]" for path, a in accuracy.items()]
    lines += [f"kappa {k['a']} vs {k['b']}: {k['kappa']['mean']:.2f} [{k['kappa']['low']:.2f}, "
              f"{k['kappa']['high']:.2f}] on {k['kappa']['n']} answers" for k in kappas]
    emit(args, document, "\n".join(lines))
    return 0


def register(sub, p: Parents) -> None:
    cmd = sub.add_parser("ask", parents=[p.common, p.run], help="answer one question through several paths")
    cmd.add_argument("question", type=utf8_text)
    cmd.add_argument("--paths", default="prompt,rag", help="comma-separated path ids (default: prompt,rag)")
    cmd.set_defaults(func=cmd_ask)

    cmd = sub.add_parser("compare", parents=[p.common, p.run], help="batch run of a golden set through several paths")
    cmd.add_argument("--questions", default=None, help="golden set: a stored set's NAME[@vN], or a JSONL/CSV file")
    cmd.add_argument("--paths", default="prompt,rag,hybrid-rag,finetuned,hybrid", help="comma-separated path ids")
    cmd.add_argument("--resume", default=None, metavar="RUN_ID",
                     help="finish a stopped run (interrupted, failed or cancelled) with its own settings and "
                          "questions, asking only what was not answered")
    cmd.add_argument("--difference", type=float, default=None,
                     help="with --dry-run: the difference in accuracy that matters to you; says how many questions "
                          "it needs")
    cmd.add_argument("--stop-when", default=None, metavar="A:B[,C:D]",
                     help="stop as soon as every named pair is decided by an anytime-valid 95%% confidence sequence "
                          "(one path better, or equivalent within --margin); the rest is not asked")
    cmd.add_argument("--margin", type=float, default=0.1,
                     help="with --stop-when: a difference smaller than this does not matter (0: only a winner "
                          "decides; default 0.1)")
    cmd.add_argument("--stop-metric", default="correct", choices=["correct", "correct_strict", "f1",
                                                                  "citation_valid", "format_ok", "grounded"],
                     help="with --stop-when: the per-answer score the pairs are decided on (default correct)")
    cmd.add_argument("--dry-run", action="store_true",
                     help="estimate tokens, cost and time per path (timed on a few answers) and the smallest "
                          "difference the questions can detect; nothing is stored")
    add_options(cmd, BatchConfig)
    cmd.add_argument("--out", required=True, help="per-question CSV (a -summary.csv is written beside it)")
    cmd.add_argument("--training-data", default=None,
                     help="the adapter's training JSONL, for the leakage check of adapters that do not keep a copy")
    cmd.add_argument("--exclude-leaked", action="store_true",
                     help="leave out golden questions that duplicate the adapter's training data")
    cmd.set_defaults(func=cmd_compare)

    cmd = sub.add_parser("update-demo", parents=[p.common, p.run],
                         help="knowledge update: ask the affected questions, add the update document, ask again")
    cmd.add_argument("--update", action="append", default=[], metavar="FILE",
                     help="your edited document (repeatable; default: the sample's Halyard 5.1 release notes, only "
                          "for a collection that holds the sample corpus)")
    cmd.add_argument("--questions", default=None, help="the questions it affects: a stored golden set's NAME[@vN] "
                     "or a JSONL/CSV file, each question with answer (after) and answer_before_update (required with "
                     "--update)")
    cmd.add_argument("--paths", default="prompt,rag,hybrid-rag", help="comma-separated path ids (finetuned and "
                     "hybrid need --adapter)")
    cmd.add_argument("--keep", action="store_true", help="leave the update in the collection (default: removed "
                                                         "after measuring, so the collection is as it was)")
    cmd.add_argument("--undo", action="store_true", help="only remove the update document(s) from the collection")
    cmd.set_defaults(func=cmd_update_demo)

    cmd = sub.add_parser("runs", parents=[p.common], help="list stored runs")
    cmd.add_argument("--restore-backup", action="store_true",
                     help="put the run store's rolling backup in place of a damaged runs.sqlite (kept beside it)")
    cmd.set_defaults(func=cmd_runs)

    cmd = sub.add_parser("report", parents=[p.common], help="the self-contained HTML brief of a stored run")
    cmd.add_argument("run_id", metavar="RUN_ID")
    cmd.add_argument("--out", required=True, help="HTML file to write (charts and plotly.js embedded)")
    cmd.add_argument("--volume", type=int, default=100_000, help="queries per month for the cost section")
    cmd.add_argument("--months", type=int, default=12, help="months over which one-off costs are amortised")
    cmd.add_argument("--needs", default=None, help="comma-separated: knowledge, behaviour, not_sure, citations, "
                                                   "latency_critical, high_volume (the Decide page's wizard; a need "
                                                   "not listed is a No; `none`: no need; left out: not stated)")
    cmd.add_argument("--index-hours", type=float, default=None,
                     help="index build time, hours (default: the time measured when the collection was ingested)")
    cmd.add_argument("--speedup", type=float, default=1.0,
                     help="how many times faster your training GPU is than the device the adapter was measured on")
    cmd.set_defaults(func=cmd_report)

    cmd = sub.add_parser("judge", parents=[p.common], help="grade a stored run with a judge model (an OpenAI-"
                         "compatible endpoint); report accuracy per metric and their agreement (Cohen's kappa)")
    cmd.add_argument("run_id", metavar="RUN_ID")
    add_endpoint(cmd, "the judge (without it: report the verdicts stored)")
    cmd.set_defaults(func=cmd_judge)
