"""Golden-set commands, `python -m lab golden ...`: list, show, import, export, add, draft, review, behaviour,
coverage. The work is in `lab.evaluation`, `lab.experiments.golden_sets` and `lab.finetune.behaviour`."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

from lab.display import count
from lab.cli.common import Parents, add_endpoint, emit, utf8_text
from lab.errors import InputError


def _stores(args):
    from lab.evaluation.golden_store import GoldenStore
    from lab.session import Loader

    res = Loader(args.chroma_host)
    return GoldenStore(), res


def cmd_list(args) -> int:
    golden, _ = _stores(args)
    infos = golden.list()
    for problem in golden.damaged().values():
        print(f"warning: {problem}", file=sys.stderr)
    document = {"golden_sets": [{"name": i.name, "collection": i.collection, "fingerprint": i.fingerprint,
                                 "builtin": i.builtin, "versions": [asdict(v) for v in i.versions]} for i in infos]}
    emit(args, document, "\n".join(f"{i.name}\tv{i.latest.version}\t{count(i.latest.questions, 'question')}\t"
                                      f"collection {i.collection}\t{i.latest.created}" for i in infos) or "(none)")
    return 0


def cmd_restore(args) -> int:
    golden, _ = _stores(args)
    info = golden.restore(args.name)
    document = {"name": info.name, "collection": info.collection, "versions": [asdict(v) for v in info.versions]}
    emit(args, document, f"{info.name}: restored {len(info.versions)} version(s) from their files "
                         f"(latest v{info.latest.version}, {count(info.latest.questions, 'question')}).")
    return 0


def cmd_show(args) -> int:
    from lab.evaluation.golden_store import resolve

    gs = resolve(args.name)
    document = {**gs.manifest(), "questions": [q.to_dict() for q in gs.questions]}
    emit(args, document, "\n".join(f"{q.id}\t{q.provenance}\t{q.kind}\t{q.question}\t-> {q.answer}\t"
                                      f"{','.join(q.sources)}" for q in gs.questions))
    return 0


def _mapping(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 for p in pairs):
        raise InputError("--map takes FIELD=COLUMN pairs separated by commas, e.g. question=Q,answer=Gold answer")
    return {k.strip(): v.strip() for k, v in pairs}


def cmd_import(args) -> int:
    from lab.evaluation.golden_io import csv_header, guess_mapping
    from lab.experiments.golden_sets import import_set

    golden, res = _stores(args)
    path = Path(args.file)
    if not path.is_file():
        raise InputError(f"{path} not found.")
    data = path.read_bytes()
    mapping = _mapping(args.map)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        text = data.decode("utf-8-sig", "replace")
        mapping = mapping or guess_mapping(csv_header(text))
        print(f"columns: {', '.join(csv_header(text))}; mapping: "
              f"{', '.join(f'{k} <- {v}' for k, v in mapping.items())}", file=sys.stderr)
    mode = "append" if args.append else "new-version" if args.new_version else None
    gs = import_set(golden, res.store(), args.name or path.stem, path.name, data, mapping, args.collection, mode)
    emit(args, {**gs.manifest(), "mapping": mapping}, f"imported {count(len(gs.questions), 'question')} as {gs.label}")
    return 0


def cmd_export(args) -> int:
    from lab.evaluation.golden import to_jsonl
    from lab.evaluation.golden_store import resolve

    gs = resolve(args.name)
    text = to_jsonl(gs.questions)
    if args.out in (None, "-"):
        sys.stdout.write(text)
        return 0
    Path(args.out).write_text(text, encoding="utf-8")
    emit(args, {**gs.manifest(), "out": args.out}, f"{gs.label}: {count(len(gs.questions), 'question')} -> {args.out}")
    return 0


def cmd_add(args) -> int:
    from lab.evaluation.builder import written_question
    from lab.evaluation.retrieval import chunk_spans
    from lab.experiments.golden_sets import add_questions
    from lab.session import Settings, retrievers

    if not 1 <= args.k <= 50:
        raise InputError(f"--k must be 1-50 hits, got {args.k}.")
    if args.pick and not all(x.strip().isdigit() for x in args.pick.split(",")):
        raise InputError(f"--pick takes hit numbers separated by commas, e.g. 1,3; got {args.pick!r}.")
    golden, res = _stores(args)
    modes, _ = retrievers(Settings(collection=args.collection), res)
    hits = modes[args.mode].search(args.search or args.question, args.k)
    if not args.pick:
        lines = [f"{i}. {h.source} [{h.id}] {h.text[:200]!r}" for i, h in enumerate(hits, 1)]
        emit(args, {"hits": [asdict(h) for h in hits]},
               "\n".join(lines + ["pick the gold passage(s) with --pick N[,N]"]))
        return 0
    numbers = [int(x) for x in args.pick.split(",")]
    if any(not 1 <= n <= len(hits) for n in numbers):
        raise InputError(f"--pick numbers must be 1-{len(hits)} (the hits listed without --pick).")
    taken = {q.id for q in golden.get(args.name).questions} if golden.exists(args.name) else set()
    q = written_question(args.question, args.answer, [hits[n - 1] for n in numbers],
                         chunk_spans(res.store(), args.collection), taken, args.kind)
    gs = add_questions(golden, res.store(), args.name, [q], args.collection, f"wrote {q.id}")
    emit(args, {**gs.manifest(), "added": q.to_dict()}, f"added {q.id} to {gs.label}")
    return 0


def cmd_draft(args) -> int:
    from lab.experiments.golden_sets import draft_job, save_pending
    from lab.session import Settings, endpoint_settings, generators

    golden, res = _stores(args)
    store = res.store()
    store.info(args.collection)
    remote_settings = endpoint_settings(args.endpoint_url, args.endpoint_model, args.endpoint_key_env)
    local, remote = generators(Settings(collection=args.collection, model=args.model, endpoint=remote_settings), res,
                               ["prompt@endpoint"] if remote_settings else ["prompt"])
    existing = golden.get(args.name).questions if golden.exists(args.name) else []
    job = draft_job(store, args.collection, remote or local, res.embedder(), args.n, args.seed, existing)
    job.run()
    if job.state != "done":
        raise InputError(job.error or f"drafting {job.state}")
    save_pending(golden, args.name, job.drafts)
    survivors = job.survivors
    reasons: dict[str, int] = {}
    for d in job.drafts:
        if d.reason:
            key = d.reason.split(" (")[0]
            reasons[key] = reasons.get(key, 0) + 1
    document = {"name": args.name, "collection": args.collection, "drafted": len(job.drafts),
                "survived": len(survivors), "rejected": reasons,
                "documents": len({d.source for d in job.drafts}), "drafts": [asdict(d) for d in job.drafts]}
    lines = [f"{len(survivors)} of {len(job.drafts)} drafts passed the checks (from "
             f"{len({d.source for d in job.drafts})} documents); rejected: {reasons}"]
    lines += [f"{d.id}\t{d.source}\t{d.question}\t-> {d.answer}" for d in survivors]
    lines.append(f"review them: python -m lab golden review {args.name} --accept all (or ids) [--reject ids]")
    emit(args, document, "\n".join(lines))
    return 0


def cmd_review(args) -> int:
    from lab.experiments.golden_sets import pending, review

    golden, res = _stores(args)
    waiting = pending(golden, args.name)
    if not (args.accept or args.reject or args.edit):
        emit(args, {"pending": [asdict(d) for d in waiting]},
               "\n".join(f"{d.id}\t{d.source}\t{d.question}\t-> {d.answer}" for d in waiting) or "(no drafts pending)")
        return 0
    ids = [d.id for d in waiting]
    accept: dict = {i: None for i in (ids if args.accept == "all" else (args.accept or "").split(",")) if i}
    for edit in args.edit or []:
        accept[edit[0]] = (edit[1], edit[2])
    reject = [i for i in (args.reject or "").split(",") if i]
    gs = review(golden, res.store(), args.name, accept, reject, args.collection)
    label = gs.label if gs else args.name
    emit(args, {"accepted": sorted(accept), "rejected": reject, "golden": gs.manifest() if gs else None},
           f"{len(accept)} accepted, {len(reject)} rejected; {label}")
    return 0


def cmd_coverage(args) -> int:
    from lab.evaluation.builder import coverage
    from lab.evaluation.golden_store import resolve

    golden, res = _stores(args)
    gs = resolve(args.name)
    collection = args.collection or gs.collection
    rows = coverage(gs.questions, set(res.store().source_hashes(collection)))
    document = {"golden": gs.manifest(), "collection": collection, "documents": [asdict(r) for r in rows]}
    covered = sum(1 for r in rows if r.questions and r.in_collection)
    lines = [f"{covered} of {sum(r.in_collection for r in rows)} documents of {collection} have questions"]
    lines += [f"{r.document}\t{r.questions}\t{r.kinds}\t{r.provenance}{'' if r.in_collection else ' (not in collection)'}"
              for r in rows]
    emit(args, document, "\n".join(lines))
    return 0


def cmd_behaviour(args) -> int:
    from lab.evaluation.golden import load_golden
    from lab.evaluation.golden_store import resolve
    from lab.finetune.behaviour import make_set, read_user_file
    from lab.session import Loader, endpoint_settings

    questions = resolve(args.name).questions
    schema = read_user_file(args.schema, "--schema") if args.schema else None
    examples = read_user_file(args.examples, "--examples") if args.examples else None
    general = load_golden(args.general) if args.general else None
    remote = endpoint_settings(args.endpoint_url, args.endpoint_model, args.endpoint_key_env)
    teacher = Loader().endpoint(remote) if remote else None
    built, out = make_set(questions, schema, examples, args.share, teacher, general, out=args.out)
    document = {"out": str(out), "train": len(built.train), "validation": len(built.validation),
                "test": len(built.test), "general_in_train": built.general_in_train, "teacher": built.teacher,
                "preview": built.train[:3]}
    lines = [f"train {len(built.train)} (of which {built.general_in_train} general), validation "
             f"{len(built.validation)}, test {len(built.test)}; teacher: {built.teacher or 'none (golden answers)'}"]
    lines += [f"  {r['prompt']!r} -> {r['completion']!r}" for r in built.train[:3]]
    lines.append(f"train with: python -m lab train --data {out / 'train.jsonl'} --out data/adapters/NAME")
    emit(args, document, "\n".join(lines))
    return 0


def register(sub, parents: Parents) -> None:
    common, collection = parents.common, parents.collection
    top = sub.add_parser("golden", help="golden sets: list, show, import, export, add, draft, review, coverage")
    g = top.add_subparsers(dest="golden_command", required=True)
    p = g.add_parser("list", parents=[common], help="stored golden sets with their versions")
    p.set_defaults(func=cmd_list)
    p = g.add_parser("restore", parents=[common], help="rebuild a damaged set's meta.json from its version files")
    p.add_argument("name")
    p.set_defaults(func=cmd_restore)
    p = g.add_parser("show", parents=[common], help="the questions of NAME[@vN]")
    p.add_argument("name")
    p.set_defaults(func=cmd_show)
    p = g.add_parser("import", parents=[common, collection], help="import JSONL or CSV as a new version")
    p.add_argument("file")
    p.add_argument("--name", default=None, help="golden set name (default: the file name without extension)")
    p.add_argument("--map", default=None, help="CSV column mapping FIELD=COLUMN,... (default: guessed from the "
                                               "header; fields: id, question, answer, aliases, sources, kind)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--append", action="store_true", help="into an existing set: add the questions to its latest "
                                                           "version")
    how.add_argument("--new-version", action="store_true", help="into an existing set: a new version holding only "
                                                                "the imported questions")
    p.set_defaults(func=cmd_import)
    p = g.add_parser("export", parents=[common], help="write NAME[@vN] as JSONL")
    p.add_argument("name")
    p.add_argument("--out", default=None, help="file (default: stdout)")
    p.set_defaults(func=cmd_export)
    p = g.add_parser("add", parents=[common, collection], help="write a question and pick its gold passage(s) "
                                                               "from a search")
    p.add_argument("name")
    p.add_argument("--question", required=True, type=utf8_text)
    p.add_argument("--answer", required=True, type=utf8_text)
    p.add_argument("--search", default=None, help="query for the gold passages (default: the question)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default="hybrid")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--pick", default=None, help="hit numbers that hold the answer, e.g. 1,3 (omit to list hits)")
    p.add_argument("--kind", default="fact")
    p.set_defaults(func=cmd_add)
    p = g.add_parser("draft", parents=[common, collection], help="draft questions from sampled chunks with a model")
    p.add_argument("name")
    p.add_argument("--n", type=int, default=20, help="chunks to draft from (spread across documents)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=None, help="local model folder (default: the embedded SmolLM2)")
    add_endpoint(p, "the drafting model")
    p.set_defaults(func=cmd_draft)
    p = g.add_parser("review", parents=[common, collection], help="accept, edit or reject pending drafts")
    p.add_argument("name")
    p.add_argument("--accept", default=None, help="'all' or comma-separated draft ids")
    p.add_argument("--reject", default=None, help="comma-separated draft ids")
    p.add_argument("--edit", nargs=3, action="append", metavar=("ID", "QUESTION", "ANSWER"),
                   help="accept a draft with a new question and answer")
    p.set_defaults(func=cmd_review)
    p = g.add_parser("behaviour", parents=[common], help="a fine-tuning behaviour set from a golden set's questions")
    p.add_argument("name", help="golden set NAME[@vN] or file")
    p.add_argument("--schema", default=None, help="JSON schema file of the target answer format")
    p.add_argument("--examples", default=None, help="text file of example answers (one a line) for tone")
    p.add_argument("--general", default=None, help="general questions JSONL mixed in against forgetting")
    p.add_argument("--share", type=float, default=0.15, help="share of general examples in training (default 0.15)")
    p.add_argument("--out", required=True, help="folder for train/validation/test.jsonl")
    add_endpoint(p, "the teacher")
    p.set_defaults(func=cmd_behaviour)
    p = g.add_parser("coverage", parents=[common], help="which documents have questions, of which kind")
    p.add_argument("name")
    p.add_argument("--collection", default=None, help="default: the set's collection")
    p.set_defaults(func=cmd_coverage)
