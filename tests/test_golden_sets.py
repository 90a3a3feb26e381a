"""Golden sets as stored objects: versions, import (JSONL/CSV, mapping, line-numbered errors, all or nothing),
export round trip, written questions with gold passages, drafting checks and review, coverage, retrieval by
file and by passage with a source check, and the chunk-size sweep (fakes: this is the unit tier)."""

from __future__ import annotations

import json

import pytest

from lab.errors import InputError, NotFoundError
from lab.evaluation.builder import coverage, written_question
from lab.evaluation.drafting import (Draft, DraftJob, apply_review, check_draft, dedupe, parse_answer, parse_question,
                                     sample_chunks)
from lab.evaluation.golden import GoldenQuestion, GoldPassage, parse_golden, to_jsonl
from lab.evaluation.golden_io import csv_header, guess_mapping, parse_csv, parse_file
from lab.evaluation.golden_store import SAMPLE_SET, GoldenStore, parse_spec, resolve
from lab.evaluation.retrieval import check_sources, chunk_spans, evaluate
from lab.index.retrieval import Hit


@pytest.fixture
def golden(tmp_path) -> GoldenStore:
    return GoldenStore(tmp_path / "golden")


Q = [GoldenQuestion("a", "Who wrote it?", "Ada", [], ["a.md"]), GoldenQuestion("b", "When?", "1843", [], ["b.md"])]


def test_saving_makes_versions_and_runs_can_name_one(golden):
    first = golden.save("mine", Q, "docs", "fp1", "first")
    second = golden.save("mine", Q[:1], note="cut")
    assert (first.version, second.version) == (1, 2)
    assert golden.get("mine").questions == Q[:1] and golden.get("mine", 1).questions == Q
    assert second.collection == "docs" and second.fingerprint == "fp1"  # kept from the set
    assert golden.get("mine", 1).manifest()["version"] == 1 and second.label == "mine@v2"
    assert resolve("mine@v1", golden).questions == Q and parse_spec("x@v3") == ("x", 3)
    with pytest.raises(NotFoundError, match="no version 7"):
        golden.get("mine", 7)
    with pytest.raises(InputError):
        golden.save("mine", [])


def test_the_sample_set_is_one_set_among_others(golden):
    assert SAMPLE_SET in golden.names() and golden.info(SAMPLE_SET).builtin
    sample = golden.get(SAMPLE_SET)
    assert sample.version == 1 and len(sample.questions) >= 80 and sample.collection == "sample"
    # the built-in set cannot be changed: edits make a new set, and the sample set stays as shipped
    with pytest.raises(InputError, match="built-in sample set cannot be changed: save your edits under a new name"):
        golden.save(SAMPLE_SET, sample.questions[:3], note="edited")
    assert [v.version for v in golden.info(SAMPLE_SET).versions] == [1] and golden.info(SAMPLE_SET).builtin
    mine = golden.save("sample-mine", sample.questions[:3], "sample", note="edited")
    assert mine.version == 1 and golden.get(SAMPLE_SET).questions == sample.questions


def test_importing_into_an_existing_set_appends_or_makes_a_new_version_as_asked(golden, tmp_path):
    """Hand-written questions never vanish: an import into an existing name must say whether it appends to the
    latest version or makes a new version of its own questions; every version stays readable."""
    from lab.experiments.golden_sets import import_set

    class NoStore:
        def exists(self, name):
            return False

    def jsonl(*ids):
        return "\n".join(f'{{"id": "{i}", "question": "Question {i}?", "answer": "A{i}"}}' for i in ids)

    golden.save("hand", [GoldenQuestion("h1", "Written by hand?", "yes")], "c")
    with pytest.raises(InputError, match="already exists: choose whether the import appends"):
        import_set(golden, NoStore(), "hand", "more.jsonl", jsonl("q1", "q2"))
    assert golden.info("hand").latest.version == 1
    appended = import_set(golden, NoStore(), "hand", "more.jsonl", jsonl("q1", "h1"), mode="append")
    assert [q.id for q in appended.questions] == ["h1", "q1", "h1-2"] and appended.version == 2
    replaced = import_set(golden, NoStore(), "hand", "new.jsonl", jsonl("z1"), mode="new-version")
    assert [q.id for q in replaced.questions] == ["z1"] and replaced.version == 3
    assert [q.id for q in golden.get("hand", 1).questions] == ["h1"], "every version stays readable"
    assert import_set(golden, NoStore(), "fresh", "f.jsonl", jsonl("a")).version == 1  # a new name needs no choice
    with pytest.raises(InputError, match="mode"):
        import_set(golden, NoStore(), "fresh", "f.jsonl", jsonl("a"), mode="merge")


def test_jsonl_round_trip_keeps_passages_and_provenance():
    q = GoldenQuestion("x", "Q?", "A", ["a"], ["f.md"], "numeric", [GoldPassage("f.md", "c1", 10, 90)], "drafted")
    assert parse_golden(to_jsonl([q])) == [q]


def test_the_answer_before_an_update_round_trips_and_is_left_out_where_empty():
    """A stored golden set can carry the update demo's old facts (answer_before_update): JSONL and CSV keep them,
    and questions without one export exactly as before."""
    q = GoldenQuestion("v", "Which version?", "3.0", answer_before_update="2.0", aliases_before_update=["v2"])
    assert parse_golden(to_jsonl([q])) == [q]
    assert "answer_before_update" not in to_jsonl([GoldenQuestion("x", "Q?", "A")])
    text = "question,answer,old answer,old aliases\nWhich version?,3.0,2.0,v2|two\n"
    mapping = guess_mapping(csv_header(text))
    assert mapping == {"question": "question", "answer": "answer", "answer_before_update": "old answer",
                       "aliases_before_update": "old aliases"}
    (parsed,) = parse_csv(text, mapping)
    assert parsed.answer_before_update == "2.0" and parsed.aliases_before_update == ["v2", "two"]


def test_csv_import_guesses_the_mapping_and_reports_every_bad_line():
    text = "ID,Query,Expected answer,Document,Type\nq1,Who?,Ada,a.md|b.md,fact\nq2,,x,a.md,fact\nq3,What?,y,,oops\n"
    mapping = guess_mapping(csv_header(text))
    assert mapping == {"id": "ID", "question": "Query", "answer": "Expected answer", "sources": "Document",
                       "kind": "Type"}
    with pytest.raises(InputError) as err:
        parse_csv(text, mapping, "mine.csv")
    assert "line 3: missing question" in str(err.value) and "line 4: kind 'oops'" in str(err.value)
    assert "nothing was imported" in str(err.value)
    good = parse_csv(text.replace("q2,,x", "q2,How?,x").replace("oops", "numeric"), mapping)
    assert [q.sources for q in good] == [["a.md", "b.md"], ["a.md"], []]
    with pytest.raises(InputError, match="map a column to 'answer'"):
        parse_csv("Q,Z\nx,y\n", {"question": "Q"})


def test_a_failed_import_stores_nothing(golden, store):
    from lab.experiments.golden_sets import import_set

    with pytest.raises(InputError, match="line 2"):
        import_set(golden, store, "broken", "b.jsonl", '{"question": "Q?", "answer": "A"}\nnot json\n')
    assert "broken" not in golden.names()
    gs = import_set(golden, store, "ok", "q.csv", "question,answer\nQ?,A\n")
    assert gs.label == "ok@v1" and parse_file("x.jsonl", to_jsonl(gs.questions)) == gs.questions


def _hit(i, source, text="t"):
    return Hit(i, source, text, 1.0)


class Fixed:
    def __init__(self, hits):
        self.hits = hits

    def search(self, query, k):
        return self.hits[:k]


def test_retrieval_by_file_and_by_passage_split_by_provenance():
    spans = {"c1": (0, 100), "c2": (100, 200), "c3": (0, 50)}
    q1 = GoldenQuestion("w", "Q1?", "A", [], ["a.md"], passages=[GoldPassage("a.md", "", 110, 190)])
    q2 = GoldenQuestion("d", "Q2?", "B", [], ["b.md"], passages=[GoldPassage("b.md", "c3")], provenance="drafted")
    modes = {"fixed": Fixed([_hit("c1", "a.md"), _hit("c2", "a.md"), _hit("c3", "b.md")])}
    [r] = evaluate(modes, [q1, q2], k=3, spans=spans)
    assert r.hit_at_k == 1.0 and r.mrr == pytest.approx((1 + 1 / 3) / 2)  # by file
    assert r.passage_questions == 2 and r.passage["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)  # by passage
    assert set(r.by_provenance) == {"written", "drafted"} and r.ci["mrr"].n == 2


def test_a_set_for_another_corpus_is_refused_not_scored_zero():
    check = check_sources(Q, {"other.md"})
    assert not check.ok and "made for another corpus" in check.message("docs", "mine@v1")
    assert check_sources(Q, {"a.md"}).message("docs", "x").startswith("1 of 2 questions")


def test_written_question_records_chunk_document_and_position():
    q = written_question("Who?", "Ada", [_hit("c2", "a.md")], {"c2": (100, 200)}, {"w001"})
    assert q.id == "w002" and q.provenance == "written" and q.sources == ["a.md"]
    assert q.passages == [GoldPassage("a.md", "c2", 100, 200)]
    with pytest.raises(InputError, match="gold passage"):
        written_question("Who?", "Ada", [], {}, set())


def test_sampling_covers_every_document_before_repeating_one():
    chunks = [{"id": f"{s}{i}", "text": "word " * 40, "meta": {"source": s, "start": i}} for s in "abc" for i in
              range(5)]
    chunks.append({"id": "short", "text": "too short", "meta": {"source": "d", "start": 0}})
    chunks.append({"id": "tiny", "text": "a short document of seven words", "meta": {"source": "e", "start": 0}})
    chunks.append({"id": "e-long", "text": "word " * 30, "meta": {"source": "e", "start": 9}})
    picked = sample_chunks(chunks, 5)
    assert {c["meta"]["source"] for c in picked[:4]} == {"a", "b", "c", "e"}
    assert not {"short", "tiny"} & {c["id"] for c in picked}
    assert [c["id"] for c in sample_chunks(chunks[-2:-1], 3)] == ["tiny"]  # nothing longer in that document
    assert sample_chunks(chunks, 5) == picked  # seeded


def test_draft_checks_and_parsing():
    chunk = "The licence lasts for a term of seven years from the date of signature."
    assert check_draft("How long does the licence last?", "seven years", chunk) == ""
    assert check_draft("How long does the licence last?", "ten years", chunk) == "answer not found in its passage"
    assert check_draft("Does it last seven years?", "seven years", chunk) == "the question gives the answer away"
    assert check_draft("Why?", "x", chunk).startswith("no usable")
    assert parse_question('Question: "How long is the term?" It is...') == "How long is the term?"
    assert parse_question("No question here.") == ""
    assert parse_answer('Answer: "seven years".\nmore') == "seven years"


def test_dedupe_rejects_near_duplicate_questions(fake_embedder):
    drafts = [Draft(f"d{i}", q, "x", "a.md", f"c{i}", 0, 1, "x") for i, q in
              enumerate(["How long is the term?", "How long is the term", "Who signs the contract?"])]
    dedupe(drafts, fake_embedder, existing=["Who signs the contract?"])
    assert [bool(d.reason) for d in drafts] == [False, True, True]
    assert "draft d0" in drafts[1].reason and "existing question" in drafts[2].reason


class Scripted:
    name = "scripted"

    def generate(self, conversations, decoding):
        from lab.generation.models import Generation

        out = []
        for messages in conversations:
            user = messages[-1]["content"]
            text = "What is the term of the licence?" if user.endswith("Question:") else "seven years"
            out.append(Generation(text, 10, 5, 0.01))
        return out


def test_draft_job_then_review_accepts_edits_and_rejects(fake_embedder):
    chunks = [{"id": "c1", "text": "The licence lasts for a term of seven years. " * 4,
               "meta": {"source": "a.md", "start": 0, "end": 180}},
              {"id": "c2", "text": "Nothing about durations in this passage at all, only words. " * 4,
               "meta": {"source": "b.md", "start": 0, "end": 240}}]
    job = DraftJob(chunks, Scripted(), fake_embedder).run()
    assert job.state == "done" and [d.reason for d in job.drafts][1] == "answer not found in its passage"
    assert [d.id for d in job.survivors] == ["d001"] and job.drafts[1].status == "rejected"
    drafts, questions = apply_review(job.drafts, Q, {"d001": ("How long is the licence term?", "seven years")})
    assert drafts[0].status == "accepted" and questions[-1].provenance == "edited"
    assert questions[-1].passages == [GoldPassage("a.md", "c1", 0, 180)]
    assert apply_review(job.drafts, Q, {"d001": None})[1][-1].provenance == "drafted"
    with pytest.raises(InputError, match="No draft"):
        apply_review(job.drafts, Q, {"zzz": None})


def test_coverage_lists_documents_without_questions():
    rows = coverage(Q + [GoldenQuestion("c", "X?", "y", [], ["gone.md"], "numeric", [], "drafted")], {"a.md", "c.md"})
    assert [(r.document, r.questions, r.in_collection) for r in rows] == \
        [("a.md", 1, True), ("c.md", 0, True), ("b.md", 1, False), ("gone.md", 1, False)]


def test_sweep_rebuilds_from_parsed_text_and_says_whether_sizes_separate(tmp_path, fake_embedder, store):
    from lab.config import ChunkConfig
    from lab.evaluation.golden_store import GoldenSet
    from lab.experiments.sweep import SweepJob, settings_for
    from lab.index.ingest import ingest

    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(4):
        (docs / f"doc{n}.txt").write_text("\n\n".join(f"Paragraph {p} of document {n} talks about topic{n}x{p} "
                                                       "and nothing else. " * 6 for p in range(8)))
    (docs / "NOTICE").write_text("An extension-less text file is ingested as text.\n")
    report = ingest([docs], "sweep-unit", fake_embedder, store, ChunkConfig(128, 16))
    assert report.documents == 5
    questions = [GoldenQuestion(f"q{n}", f"What does document {n} talk about?", f"topic{n}x0", [], [f"doc{n}.txt"])
                 for n in range(4)]
    job = SweepJob(store, fake_embedder, "sweep-unit", GoldenSet("unit", 1, questions),
                   [ChunkConfig(128, 16)] + settings_for([256]), k=3).run()
    assert job.state == "done", job.error
    result = job.result
    from lab.experiments.sweep import sweep_name

    copy = sweep_name("sweep-unit", ChunkConfig(256, 32), fake_embedder.name)
    assert [s.collection for s in result.settings] == ["sweep-unit", copy]
    assert copy not in store.names() and store.exists(copy)  # kept for the next sweep, out of every list
    assert result.settings[1].measured_now and result.settings[1].chunks < result.settings[0].chunks
    assert {r["mode"] for r in result.rows()} == {"dense", "bm25", "hybrid"} and "mrr_low" in result.rows()[0]
    assert len(result.verdicts) == 3 and all("has the best mrr" in v for v in result.verdicts)
    other = SweepJob(store, fake_embedder, "sweep-unit", GoldenSet("x", 1, Q), settings_for([256])).run()
    assert other.state == "failed" and "another corpus" in other.error
    assert json.dumps(result.rows())  # plain data for --json
    assert chunk_spans(store, "sweep-unit")

    class Other(type(fake_embedder)):
        name = "other-fake-embedder"

    compared = SweepJob(store, fake_embedder, "sweep-unit", GoldenSet("unit", 1, questions), [ChunkConfig(128, 16)],
                        k=3, embedders=[fake_embedder, Other()]).run()
    assert compared.state == "done", compared.error
    assert [s.embedder for s in compared.result.settings] == ["fake-embedder", "other-fake-embedder"]
    assert all("128/16 fake-embedder" in v or "128/16 other-fake-embedder" in v for v in compared.result.verdicts)
    store.delete("sweep-unit")
    assert not store.exists(copy)  # the copies go with their collection


def test_behaviour_set_splits_and_mixes_general_examples():
    from lab.finetune.behaviour import build

    questions = [GoldenQuestion(f"q{i}", f"Question {i}?", f"answer {i}", [], ["a.md"]) for i in range(40)]
    general = [GoldenQuestion(f"g{i}", f"What is {i} + 1?", str(i + 1), kind="general") for i in range(20)]
    built = build(questions, {"properties": {"answer": {}, "sources": {}}}, general=general, share=0.15)
    assert (len(built.validation), len(built.test)) == (4, 4) and built.general_in_train == 6
    assert len(built.train) == 32 + 6 and sum(r["completion"].startswith("{") for r in built.train) == 32
    assert json.loads(built.test[0]["completion"])["sources"] == ["a.md"]
    tone = build(questions, examples=["Sure! The answer is X."], share=0)
    assert tone.general_in_train == 0 and tone.test[0]["completion"].startswith("answer ")
    with pytest.raises(InputError, match="target format"):
        build(questions)
    with pytest.raises(InputError, match="general examples"):
        build(questions, examples=["x"], share=0.1)


def test_a_set_made_on_other_files_of_the_same_names_is_refused_by_content(tmp_path, store, fake_embedder):
    """Two corpora that both hold a file named LICENSE (real licence texts, different ones): a set made on the
    first names its gold document by content, so the second is refused as another corpus, not scored."""
    from pathlib import Path

    from lab.experiments.golden_sets import add_questions, evaluate_set
    from lab.index.ingest import ingest
    from lab.index.retrieval import bm25_index, retrievers_for

    licences = Path("/usr/share/common-licenses")
    for name, text in (("mit-like", "BSD"), ("copyleft", "GPL-3")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "LICENSE").write_text((licences / text).read_text())
        if store.exists(name):
            store.delete(name)
        ingest([folder], name, fake_embedder, store)
    golden = GoldenStore(tmp_path / "golden")
    question = GoldenQuestion("q1", "Which licence text is this?", "BSD", [], ["LICENSE"])
    saved = add_questions(golden, store, "bsd-set", [question], "mit-like", "written")
    assert saved.documents == {"LICENSE": store.source_hashes("mit-like")["LICENSE"]}
    own = retrievers_for(store, "mit-like", fake_embedder, bm25_index(store, "mit-like"))
    results, _ = evaluate_set(own, store, "mit-like", golden.get("bsd-set"), k=1)
    assert results and results[0].questions == 1
    other = retrievers_for(store, "copyleft", fake_embedder, bm25_index(store, "copyleft"))
    with pytest.raises(InputError, match=r"The question of bsd-set@v1 does not cite a file of collection 'copyleft' "
                                         r"\(it cites LICENSE \(other content\)\): the set was made for another"):
        evaluate_set(other, store, "copyleft", golden.get("bsd-set"), k=1)


def test_the_built_in_sample_set_names_its_documents_by_content_so_another_faq_html_is_not_its_faq_html(golden):
    """The sample's own files match; the Valgrind manual's faq.html (a real file of the same name) does not, so the
    sample set on a collection holding it is refused as made for another corpus, not scored over the questions whose
    file names happen to match."""
    import hashlib
    from pathlib import Path

    from lab.config import SAMPLE_DOCS
    from tests.conftest import need_system_files

    sample = golden.get(SAMPLE_SET)
    own = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in SAMPLE_DOCS.iterdir()}
    assert sample.documents and check_sources(sample.questions, own, sample.documents).matching == \
        sum(1 for q in sample.questions if q.sources)
    manual = Path("/usr/share/doc/valgrind/html/faq.html")
    need_system_files({"valgrind": manual})
    check = check_sources(sample.questions, {"faq.html": hashlib.sha256(manual.read_bytes()).hexdigest()},
                          sample.documents)
    assert not check.ok and check.matching == 0
    assert "faq.html (other content)" in check.missing
