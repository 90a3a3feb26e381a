"""The leakage check: signals on hand-made sets, the adapter's training texts, with/without scores, the CLI."""

import hashlib
import json
import math

import pytest

from lab.experiments import leakage
from lab.config import SAMPLE_CORPUS, SAMPLE_GOLDEN
from lab.errors import InputError, NotFoundError
from lab.evaluation.golden import GoldenQuestion, load_golden
from lab.evaluation.record import AnswerRecord
from lab.finetune.data import EXAMPLES_FILE, TrainingText, save_training_texts, texts_from_examples

Q = [GoldenQuestion("dup", "Which port does the Halyard agent listen on by default?", "7443"),
     GoldenQuestion("fact", "Who is the Data Protection Officer of Marrowlake?", "Ines Okafor", ["Okafor"]),
     GoldenQuestion("neg", "Is SSO available on the Starter plan?", "No"),
     GoldenQuestion("clean", "What colour is the Halyard logo?", "teal")]
EXAMPLES = [TrainingText(1, "Question: Which port does the Halyard agent listen on by default?",
                         "The agent listens on port 7443."),
            TrainingText(2, "Question: Who serves as DPO for Marrowlake?", "Ines Okafor is the Data Protection "
                                                                            "Officer of Marrowlake."),
            TrainingText(3, "Question: Is SSO on Starter?", "No."),
            TrainingText(4, "Context:\n[1] source: pool.md\nThe pool is 25 metres long.\n\nQuestion: How long "
                            "is the pool?", "25 metres.")]


def test_ngrams_containment_and_jaccard_by_hand():
    assert leakage.ngrams(["a", "b", "c"], 2) == {("a", "b"), ("b", "c")}
    assert leakage.ngrams(["a", "b"], 5) == {("a", "b")}, "a short text is one gram"
    assert leakage.ngrams([], 5) == set()
    assert leakage.containment({1, 2, 3, 4}, {2, 4, 9}) == 0.5
    assert leakage.jaccard({1, 2, 3}, {2, 3, 4}) == 0.5
    assert leakage.containment(set(), {1}) == 0.0


def test_the_question_of_an_example_is_its_last_paragraph():
    assert EXAMPLES[3].question == "How long is the pool?"
    assert EXAMPLES[0].question == "Which port does the Halyard agent listen on by default?"


def test_each_signal_flags_what_it_should_and_nothing_else():
    report = leakage.check(Q, EXAMPLES, data="hand-made")
    by_id = {m.question_id: m for m in report.matches}
    assert report.flagged_ids == ["dup", "fact"]
    assert by_id["dup"].line == 1 and "ngram" in by_id["dup"].reasons and by_id["dup"].ngram > 0.5
    assert by_id["fact"].line == 2 and by_id["fact"].reasons == ["fact"] and by_id["fact"].overlap == 1.0
    assert report.examples == 4 and report.questions == 4 and report.data == "hand-made"
    document = report.to_manifest()
    assert document["flagged"] == ["dup", "fact"] and document["thresholds"]["cosine"] == leakage.COSINE_MIN
    json.dumps(document)  # it goes into the run manifest


def test_a_yes_no_answer_in_a_completion_is_not_leakage():
    assert not leakage.specific("No") and leakage.specific("7443") and leakage.specific("Tripwire")
    assert leakage.match(Q[2], EXAMPLES[2]).reasons == []


def test_the_cosine_signal_uses_the_embedder(fake_embedder):
    paraphrase = [TrainingText(9, "Question: Halyard logo colour what is?", "It changed in 2024.")]
    assert leakage.check([Q[3]], paraphrase).flagged_ids == []
    report = leakage.check([Q[3]], paraphrase, fake_embedder)
    assert report.flagged_ids == ["clean"] and report.matches[0].reasons == ["cosine"]
    assert report.matches[0].cosine >= leakage.COSINE_MIN and report.embedder == "fake-embedder"


def test_scores_with_and_without_the_flagged_questions():
    scores = [("q1", "ft", 1.0), ("q2", "ft", 1.0), ("q3", "ft", 0.0), ("q4", "ft", 0.0),
              ("q1", "rag", 1.0), ("q2", "rag", 0.0), ("q3", "rag", 1.0), ("q4", "rag", 0.0)]
    records = [AnswerRecord(question_id=q, path=p, correct=c, cost_usd=0.0) for q, p, c in scores]
    rows = {r.path: r for r in leakage.scores_with_without(records, ["q1", "q2"])}
    assert rows["ft"].all.mean == 0.5 and rows["ft"].clean.mean == 0.0 and rows["ft"].flagged.mean == 1.0
    assert rows["rag"].clean.mean == 0.5 and rows["rag"].clean.n == 2 and rows["rag"].all.n == 4
    assert rows["ft"].all.low <= rows["ft"].all.mean <= rows["ft"].all.high
    none = {r.path: r for r in leakage.scores_with_without(records, [])}
    assert none["ft"].flagged.n == 0 and math.isnan(none["ft"].flagged.mean)


def _jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_training_texts_come_from_the_adapter_folder_or_the_named_file(tmp_path):
    from lab.finetune.data import parse_examples, split_examples

    rows = [{"prompt": f"Question: fact {i}?", "completion": f"answer {i}"} for i in range(20)]
    data = tmp_path / "corpus" / "set.jsonl"
    data.parent.mkdir()
    data.write_text(_jsonl(rows))
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "manifest.json").write_text(json.dumps({"data_file": "set.jsonl", "hyperparameters": {"seed": 3},
                                                       "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest()}))
    texts, where = leakage.adapter_training_texts(adapter, search=[data.parent])
    train = split_examples(parse_examples(data.read_text()), 3)[0]
    assert [t.line for t in texts] == [e.line for e in train] and len(texts) == 16 and "seed 3" in where
    save_training_texts(adapter, train)  # what training writes from now on
    saved, where = leakage.adapter_training_texts(adapter)
    assert saved == texts and where.endswith(EXAMPLES_FILE)


def test_a_changed_or_missing_training_file_is_reported(tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    with pytest.raises(NotFoundError, match="records no training data"):
        leakage.adapter_training_texts(adapter)
    (adapter / "manifest.json").write_text(json.dumps({"data_file": "set.jsonl", "data_sha256": "0" * 64}))
    with pytest.raises(NotFoundError, match="not found"):
        leakage.adapter_training_texts(adapter, search=[tmp_path])
    (tmp_path / "set.jsonl").write_text(_jsonl([{"prompt": "p", "completion": "c"}] * 10))
    with pytest.raises(InputError, match="sha256 differs"):
        leakage.adapter_training_texts(adapter, search=[tmp_path])


def test_on_the_sample_data_the_knowledge_set_leaks_and_the_behaviour_set_does_not():
    """No embedder here (fast): the n-gram and fact signals alone. Measured counts are in the report."""
    from lab.finetune.data import load_examples

    golden = load_golden(SAMPLE_GOLDEN)
    knowledge, _ = load_examples(SAMPLE_CORPUS / "finetune_knowledge.jsonl")
    behaviour, _ = load_examples(SAMPLE_CORPUS / "finetune_behaviour.jsonl")
    assert len(leakage.check(golden, texts_from_examples(knowledge)).matches) >= 10
    assert leakage.check(golden, texts_from_examples(behaviour)).matches == []


def test_paths_that_use_the_adapter():
    assert leakage.applies(["prompt", "hybrid"]) and leakage.applies(["finetuned@endpoint"])
    assert not leakage.applies(["prompt", "rag", "hybrid-rag"])


def test_cli_compare_records_the_flagged_questions(tmp_path, monkeypatch, fake_embedder, fake_generator, capsys):
    from lab import cli
    from lab.index import embeddings
    from lab.generation import models
    from lab.experiments.run_store import RunStore

    class Generator(type(fake_generator)):
        def __init__(self, name=None, backend="transformers"):
            super().__init__()

        def load_adapter(self, folder):
            return "ft"

    monkeypatch.setattr(models, "LocalGenerator", Generator)
    monkeypatch.setattr(embeddings, "SentenceTransformerEmbedder", lambda *a, **k: fake_embedder)
    questions = tmp_path / "golden.jsonl"
    questions.write_text(_jsonl([{"id": q.id, "question": q.question, "answer": q.answer} for q in Q]))
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / EXAMPLES_FILE).write_text(_jsonl([vars(t) for t in EXAMPLES]))
    out = tmp_path / "run.csv"
    base = ["compare", "--questions", str(questions), "--collection", "no-such-collection", "--paths",
            "prompt,finetuned", "--adapter", str(adapter), "--out", str(out), "--json"]
    assert cli.main(base) == 0
    document = json.loads(capsys.readouterr().out)
    flagged = ["dup", "fact", "neg"]  # "neg" by the (fake) embedder's cosine: "Is SSO on Starter?" paraphrases it
    assert document["leakage_flagged"] == flagged
    manifest = RunStore().get(document["run_id"]).manifest
    assert manifest.leakage["flagged"] == flagged and manifest.leakage["excluded"] is False
    assert cli.main(base + ["--exclude-leaked"]) == 0
    captured = capsys.readouterr()
    assert "excluded from this run" in captured.err
    run_id = json.loads(captured.out)["run_id"]
    assert {r.question_id for r in RunStore().answers(run_id)} == {"clean"}


@pytest.mark.slow  # a background batch through the Compare page, polled, then the Results page
@pytest.mark.usefixtures("show_error_details")
def test_the_batch_tab_warns_excludes_and_the_results_page_shows_both_scores(fake_app, tmp_path):
    import time

    from streamlit.testing.v1 import AppTest

    from lab.experiments.run_store import RunStore

    golden = load_golden(SAMPLE_GOLDEN)[:6]
    copies = [TrainingText(i, f"Question: {q.question}", q.answer) for i, q in enumerate(golden[:2], 1)]
    adapter = tmp_path / "leaky"
    adapter.mkdir()
    (adapter / EXAMPLES_FILE).write_text(_jsonl([vars(t) for t in copies]))
    repo = SAMPLE_GOLDEN.parent.parent

    def compare_page():
        at = AppTest.from_file(str(repo / "pages" / "compare.py"), default_timeout=120)
        at.session_state["collection"], at.session_state["adapter_dir"] = fake_app, str(adapter)
        at.run()
        sample = next(o for o in at.selectbox(key="batch_golden").options if o.startswith("sample@"))
        at.selectbox(key="batch_golden").set_value(sample)  # other tests store golden sets of their own
        at.multiselect(key="paths").set_value(["prompt", "finetuned"])
        at.number_input(key="batch_limit").set_value(6).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    def finished(at):
        run_id = at.session_state["batch_job"]
        deadline = time.time() + 60
        while RunStore().get(run_id).status == "running" and time.time() < deadline:
            time.sleep(0.2)
        return RunStore().get(run_id)

    at = compare_page()
    flagged = [golden[0].id, golden[1].id]
    assert any("2 of 6 golden questions" in w.value and ", ".join(flagged) in w.value for w in at.warning)
    at.checkbox(key="batch_exclude_leaked").check()
    at.button(key="batch_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    run = finished(at)
    assert run.status == "done" and run.manifest.leakage["excluded"] is True
    assert run.manifest.leakage["flagged"] == flagged
    assert {r.question_id for r in RunStore().answers(run.run_id)} == {q.id for q in golden[2:]}

    at = compare_page()
    at.button(key="batch_start").click().run()
    run = finished(at)
    assert run.manifest.leakage["excluded"] is False and len(RunStore().answers(run.run_id)) == 12
    results = AppTest.from_file(str(repo / "pages" / "results.py"), default_timeout=120)
    results.run()
    assert not results.exception, [e.value for e in results.exception]
    assert "Leakage check" in [h.value for h in results.subheader]
    table = [d.value for d in results.dataframe if "path" in d.value.columns and any(
        "without flagged" in c for c in d.value.columns)][0]
    assert sorted(table["path"]) == ["finetuned", "prompt"]
    assert all("(n=4)" in v for v in table[[c for c in table.columns if "without flagged" in c][0]])
