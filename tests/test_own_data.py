"""The whole loop on corpora nobody here wrote: ingest -> draft a golden set with the embedded model -> accept ->
retrieval evaluation -> chunk-size sweep -> compare -> brief. Two real corpora that come with the machine or its
package manager: the licence texts in /usr/share/common-licenses (base-files, always there; no file extensions)
and libffi's HTML manual (/usr/share/doc/libffi8/html, from libffi-dev; installed by the Makefile's test target, as
Chromium is). Nothing here is specific to either corpus. The figures are printed (run with -s)
and written to $LAB_OWN_DATA_FIGURES when set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.conftest import need_system_files

pytestmark = [pytest.mark.slow, pytest.mark.model]

LICENCES = Path("/usr/share/common-licenses")
LIBFFI_HTML = Path("/usr/share/doc/libffi8/html")


def _libffi_html() -> Path:
    need_system_files({"libffi-dev": LIBFFI_HTML})  # the Makefile's test-system target installs it
    return LIBFFI_HTML


def _loader(real_embedder, real_generator):
    from lab.session import Loader

    res = Loader()
    # keyed as Loader.generator(None) looks it up: the default backend (a wrong key loads a second model)
    from lab.index.embeddings import EmbedderSpec

    # keyed as Loader looks them up, so no second model or embedder loads
    res._kept[("embedder", EmbedderSpec())] = real_embedder
    res._kept[("generator", None, real_generator.backend)] = real_generator
    assert res.generator(None) is real_generator and res.embedder() is real_embedder
    return res


def _loop(corpus: Path, name: str, real_embedder, real_generator, tmp_path, n_draft: int) -> dict:
    from lab.config import ChunkConfig, DecodingConfig
    from lab.decision.report import write_brief
    from lab.evaluation.golden_store import GoldenStore
    from lab.experiments import golden_sets
    from lab.experiments.sweep import SweepJob, settings_for
    from lab.index.ingest import ingest
    from lab.session import Settings, compare_job, retrievers

    res = _loader(real_embedder, real_generator)
    store, golden = res.store(), GoldenStore()
    report = ingest([corpus], name, real_embedder, store, ChunkConfig(256, 32))
    assert report.documents >= 10 and not report.skipped, report.skipped
    documents = set(store.source_hashes(name))

    job = golden_sets.draft_job(store, name, real_generator, real_embedder, n=n_draft, seed=0).run()
    assert job.state == "done", job.error
    assert len({d.source for d in job.drafts}) == min(n_draft, len(documents)), "stratified: one chunk a document"
    golden_sets.save_pending(golden, name, job.drafts)
    survivors = job.survivors
    assert survivors, [(d.question, d.answer, d.reason) for d in job.drafts]
    saved = golden_sets.review(golden, store, name, {d.id: None for d in survivors}, collection=name)
    assert saved.version == 1 and all(q.provenance == "drafted" and q.passages for q in saved.questions)
    assert saved.fingerprint == store.fingerprint(name)

    # fine-tuning data for this corpus's task: the accepted questions as JSON-format pairs, a general share mixed in
    from lab.config import SAMPLE_CORPUS
    from lab.evaluation.golden import load_golden
    from lab.finetune.behaviour import build

    schema = {"type": "object", "properties": {"answer": {}, "sources": {}}}
    behaviour = build(saved.questions, schema, general=load_golden(SAMPLE_CORPUS / "general_tasks.jsonl"))
    folder = behaviour.save(tmp_path / f"{name}-behaviour")
    pairs = behaviour.train + behaviour.validation + behaviour.test
    assert sorted(p.name for p in folder.iterdir()) == ["behaviour_set.json", "schema.json", "test.jsonl",
                                                         "train.jsonl", "validation.jsonl"]
    drafted = [p for p in pairs if p["completion"].startswith("{")]
    assert len(drafted) == len(saved.questions) and all(json.loads(p["completion"])["answer"] for p in drafted)

    modes, _ = retrievers(Settings(collection=name), res)
    results, notes = golden_sets.evaluate_set(modes, store, name, saved, k=5)
    retrieval = {r.mode: {m: [round(r.ci[m].mean, 3), round(r.ci[m].low, 3), round(r.ci[m].high, 3)]
                          for m in ("hit_at_k", "mrr", "passage_hit_at_k", "passage_mrr") if m in r.ci}
                 for r in results}
    assert all(r.questions == len(saved.questions) and r.passage_questions == r.questions for r in results)

    sweep = SweepJob(store, real_embedder, name, saved, settings_for([256, 512, 1024]), k=5).run()
    assert sweep.state == "done", sweep.error
    chunks = [s.chunks for s in sweep.result.settings]
    assert chunks[0] > chunks[1] > chunks[2], chunks
    assert sweep.result.settings[0].collection == name  # the existing 256/32 collection is reused, not rebuilt

    run = compare_job(Settings(collection=name, decoding=DecodingConfig(max_new_tokens=24)), res,
                      saved.questions[:3], saved.label, ["prompt", "rag"], extra_manifest={"golden": saved.manifest()})
    run.run()
    stored = run.runs.get(run.run_id)
    assert stored.status == "done" and stored.manifest.golden["version"] == 1
    assert stored.manifest.questions_file == saved.label
    records = run.runs.answers(run.run_id)
    accuracy = {p: sum(r.correct or 0 for r in records if r.path == p) for p in ("prompt", "rag")}
    brief = write_brief(run.run_id, tmp_path / f"{name}.html", store=store)
    assert brief.stat().st_size > 10_000

    return {"corpus": str(corpus), "documents": len(documents), "chunks_256": report.chunks_total,
            "drafted": len(job.drafts), "survived_checks": len(survivors),
            "rejected": sorted({d.reason.split(" (")[0] for d in job.drafts if d.reason}),
            "accepted": len(saved.questions), "behaviour_pairs": len(pairs),
            "behaviour_general_in_train": behaviour.general_in_train, "retrieval_k5": retrieval, "notes": notes,
            "sweep": sweep.result.rows(), "verdicts": sweep.result.verdicts,
            "compare_correct_of_3": accuracy, "run_id": run.run_id}


def _record(name: str, figures: dict) -> None:
    print(json.dumps(figures, indent=1))
    out = os.environ.get("LAB_OWN_DATA_FIGURES")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"{name}.json").write_text(json.dumps(figures, indent=1))


def test_the_loop_on_the_licence_texts(real_embedder, real_generator, tmp_path):
    _record("licences", _loop(LICENCES, "own-licences", real_embedder, real_generator, tmp_path, n_draft=24))


def test_the_loop_on_an_html_manual(real_embedder, real_generator, tmp_path):
    _record("libffi", _loop(_libffi_html(), "own-libffi", real_embedder, real_generator, tmp_path, n_draft=20))
