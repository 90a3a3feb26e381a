"""Leakage check: golden questions that (near-)duplicate a LoRA adapter's training data.

A fine-tuned path scored on questions it was trained on measures memory, not skill. Before a comparison
that includes `finetuned` or `hybrid`, each golden question (with its gold answer) is compared with every
training example (prompt + completion), and flagged when one signal passes its threshold:

| signal   | what it catches                                                          | flagged when         |
|----------|--------------------------------------------------------------------------|----------------------|
| `ngram`  | near-verbatim copies: share of the question+answer's word 5-grams that   | >= NGRAM_MIN (0.5)   |
|          | occur in the example (containment)                                       |                      |
| `fact`   | the same fact taught in other words: the gold answer (or an alias) is    | overlap >= 0.6 and   |
|          | stated in the completion and the question's content words are in the     | a specific answer    |
|          | example                                                                  |                      |
| `cosine` | paraphrased questions: embedding cosine between the golden question and  | >= COSINE_MIN (0.70) |
|          | the example's question (its last paragraph); only with an embedder       |                      |

The thresholds were set on the sample data with all-MiniLM-L6-v2: paraphrases of the same question written
for `finetune_knowledge.jsonl` score 0.71-0.73 and above, while the best match of any golden question in the
unrelated `finetune_behaviour.jsonl` is 0.51. "Specific" answers are those worth matching (not yes/no, at
least three characters), so "No" in a completion does not flag a negation question.

>>> q = GoldenQuestion("q1", "Who is the Data Protection Officer of Marrowlake?", "Ines Okafor")
>>> ex = TrainingText(7, "Question: Who serves as DPO for Marrowlake?",
...                   "Ines Okafor is the Data Protection Officer of Marrowlake.")
>>> m = match(q, ex)
>>> m.reasons, round(m.overlap, 2)
(['fact'], 1.0)
>>> containment(ngrams("a b c d e f".split(), 5), ngrams("x a b c d e f".split(), 5))
1.0
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.errors import InputError, NotFoundError
from lab.evaluation.golden import GoldenQuestion
from lab.evaluation.metrics import STOPWORDS, normalize
from lab.evaluation.record import AnswerRecord
from lab.evaluation.stats import Estimate
from lab.experiments.answer_paths import uses_adapter
from lab.finetune.data import EXAMPLES_FILE, TrainingText, texts_from_examples

NGRAM = 5
NGRAM_MIN = 0.5
OVERLAP_MIN = 0.6
COSINE_MIN = 0.70
_FILLER = frozenset({"question", "answer", "context", "source"})


@dataclass
class LeakageMatch:
    question_id: str
    question: str
    line: int  # the training example's line
    example: str  # the example's question and completion, shortened
    reasons: list[str]  # ngram, fact, cosine
    ngram: float
    overlap: float
    cosine: float | None = None


@dataclass
class LeakageReport:
    data: str  # where the training texts came from
    examples: int
    questions: int
    matches: list[LeakageMatch] = field(default_factory=list)  # flagged questions, best match each
    thresholds: dict = field(default_factory=lambda: {"ngram": NGRAM_MIN, "ngram_n": NGRAM, "overlap": OVERLAP_MIN,
                                                      "cosine": COSINE_MIN})
    embedder: str | None = None

    @property
    def flagged_ids(self) -> list[str]:
        return [m.question_id for m in self.matches]

    @property
    def thresholds_text(self) -> str:
        """The thresholds in words.

        >>> LeakageReport("d.jsonl", 1, 1).thresholds_text
        'word 5-gram containment >= 0.5, the same fact (content-word overlap >= 0.6), question cosine >= 0.7'
        """
        t = self.thresholds
        return (f"word {t.get('ngram_n')}-gram containment >= {t.get('ngram')}, the same fact (content-word overlap "
                f">= {t.get('overlap')}), question cosine >= {t.get('cosine')}")

    def to_manifest(self) -> dict:
        """What a run records in `manifest["leakage"]`."""
        return {**asdict(self), "flagged": self.flagged_ids}


def words(text: str) -> list[str]:
    """Normalised words (lab.evaluation.metrics.normalize: lowercase, no articles, most punctuation gone)."""
    return normalize(text).split()


def ngrams(tokens: Sequence[str], n: int = NGRAM) -> set[tuple[str, ...]]:
    """Word n-grams; a text shorter than n is one gram of its own words."""
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def containment(part: set, whole: set) -> float:
    """Share of `part` found in `whole`: containment({1, 2}, {2, 3}) -> 0.5."""
    return len(part & whole) / len(part) if part else 0.0


def jaccard(a: set, b: set) -> float:
    """|a & b| / |a | b|: jaccard({1, 2}, {2, 3}) -> 0.333..."""
    return len(a & b) / len(a | b) if a | b else 0.0


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOPWORDS and w not in _FILLER}


def specific(answer: str) -> bool:
    """An answer worth matching in a completion: specific("7443") -> True, specific("No") -> False."""
    norm = normalize(answer)
    return len(norm) >= 3 and norm not in {"yes", "no", "true", "false", "none"}


@dataclass(frozen=True)
class _Features:
    """What the signals compare, computed once per question and once per example."""

    grams: set
    content: set
    said: str = ""  # an example's completion, normalised and padded with spaces for whole-word search
    forms: tuple = ()  # a question's specific answer forms, normalised


def _features(example: TrainingText) -> _Features:
    text = f"{example.prompt} {example.completion}"
    return _Features(ngrams(words(text)), content_words(text), said=f" {normalize(example.completion)} ")


def _asked(question: GoldenQuestion) -> _Features:
    forms = tuple(normalize(f) for f in [question.answer, *question.aliases] if specific(f))
    return _Features(ngrams(words(f"{question.question} {question.answer}")), content_words(question.question),
                     forms=forms)


def match(question: GoldenQuestion, example: TrainingText, features: _Features | None = None,
          asked: _Features | None = None) -> LeakageMatch:
    """The n-gram and fact signals for one (question, example) pair; `reasons` lists those that fire."""
    features, asked = features or _features(example), asked or _asked(question)
    gram = containment(asked.grams, features.grams)
    overlap = containment(asked.content, features.content)
    taught = any(f" {form} " in features.said for form in asked.forms)  # as lab.evaluation.metrics.is_correct
    reasons = (["ngram"] if gram >= NGRAM_MIN else []) + (["fact"] if taught and overlap >= OVERLAP_MIN else [])
    shown = f"{example.question[:100]} -> {example.completion[:100]}"
    return LeakageMatch(question.id, question.question, example.line, shown, reasons, gram, overlap)


def _rank(m: LeakageMatch) -> tuple:
    return (len(m.reasons), m.ngram + m.overlap * ("fact" in m.reasons) + (m.cosine or 0.0))


def check(questions: Sequence[GoldenQuestion], examples: Sequence[TrainingText], embedder=None,
          data: str = "") -> LeakageReport:
    """Flag each question that one training example (near-)duplicates; keeps the best match per question."""
    report = LeakageReport(data, len(examples), len(questions), embedder=getattr(embedder, "name", None))
    similarity = None
    if embedder is not None and questions and examples:
        q = embedder.encode([x.question for x in questions])
        e = embedder.encode([x.question or x.prompt for x in examples])
        similarity = q @ e.T
    features = [_features(e) for e in examples]
    for i, question in enumerate(questions):
        best = None
        asked = _asked(question)
        for j, (example, feats) in enumerate(zip(examples, features)):
            found = match(question, example, feats, asked)
            if similarity is not None:
                found.cosine = float(similarity[i, j])
                if found.cosine >= COSINE_MIN:
                    found.reasons.append("cosine")
            if found.reasons and (best is None or _rank(found) > _rank(best)):
                best = found
        if best is not None:
            report.matches.append(best)
    return report


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def adapter_training_texts(adapter_dir: str | Path, data_path: str | Path | None = None,
                           search: Sequence[Path] | None = None) -> tuple[list[TrainingText], str]:
    """The training texts of an adapter and where they came from.

    The adapter's own `training_examples.jsonl` first (adapters trained by this lab since the leakage
    check); else the data file its manifest names, found at `data_path` or by name (or content hash) in the
    sample corpus and the upload folder, checked against the manifest's sha256 and split as training did.
    """
    from lab.config import SAMPLE_CORPUS, data_dir
    from lab.finetune.data import load_examples, split_examples
    from lab.generation.adapters import read_manifest

    folder = Path(adapter_dir)
    saved = folder / EXAMPLES_FILE
    if saved.is_file():
        try:
            rows = [json.loads(line) for line in saved.read_bytes().decode("utf-8").splitlines() if line.strip()]
            return [TrainingText(**row) for row in rows], str(saved)
        except (UnicodeDecodeError, ValueError, TypeError, RecursionError) as exc:
            raise InputError(f"{saved} is damaged ({type(exc).__name__}: {str(exc)[:120]}): delete it and give the "
                             "adapter's training file (--training-data FILE) to check for leakage.") from exc
    manifest = read_manifest(folder)
    name, sha = manifest.get("data_file"), manifest.get("data_sha256")
    if not name or not sha:
        raise NotFoundError(f"Adapter {folder} records no training data (no {EXAMPLES_FILE}, no data_file in its "
                            "manifest): give the training file (--training-data FILE) to check for leakage.")
    uploads = data_dir() / "uploads" / "finetune"
    candidates = [Path(data_path)] if data_path else [d / name for d in (search or [SAMPLE_CORPUS, uploads])] + [
        uploads / f"{sha[:16]}.jsonl"]
    found = [p for p in candidates if p.is_file()]
    for path in found:
        if _sha256(path) == sha:
            examples, _ = load_examples(path)
            seed = manifest.get("hyperparameters", {}).get("seed", 0)
            return texts_from_examples(split_examples(examples, seed)[0]), f"{path} (train split, seed {seed})"
    if found:
        raise InputError(f"{', '.join(map(str, found))} is not the file adapter {folder.name} was trained on "
                         f"(sha256 differs from the manifest's {sha[:12]}...): give the exact training file.")
    raise NotFoundError(f"Training file {name} of adapter {folder.name} not found in "
                        f"{', '.join(str(c.parent) for c in candidates)}: give its path to check for leakage.")


@dataclass
class PathScores:
    path: str
    all: Estimate  # every question
    clean: Estimate  # without the flagged questions
    flagged: Estimate  # the flagged questions only


def scores_with_without(records: list[AnswerRecord], flagged_ids: Sequence[str],
                        metric: str = "correct") -> list[PathScores]:
    """Per-path means with 95% CIs over all questions, without the flagged ones, and over the flagged only."""
    from lab.evaluation.summary import summarize

    flagged = set(flagged_ids)

    def means(rows: list[AnswerRecord]) -> dict:
        return {p.path: p.quality[metric] for p in summarize(rows, metric).paths} if rows else {}

    every = means(records)
    clean = means([r for r in records if r.question_id not in flagged])
    leaked = means([r for r in records if r.question_id in flagged])
    empty = Estimate(float("nan"), float("nan"), float("nan"), 0)
    return [PathScores(path, est, clean.get(path, empty), leaked.get(path, empty)) for path, est in every.items()]


def applies(paths: Sequence[str]) -> bool:
    """Whether a run answers with adapter weights, so the check applies: applies(["rag", "hybrid"]) -> True."""
    return any(uses_adapter(p) for p in paths)


def check_adapter(questions: Sequence[GoldenQuestion], adapter_dir: str | Path, embedder=None,
                  data_path: str | Path | None = None) -> LeakageReport:
    """`check` against the training texts of an adapter folder (see `adapter_training_texts`)."""
    texts, where = adapter_training_texts(adapter_dir, data_path)
    return check(questions, texts, embedder, where)


@dataclass
class RunLeakage:
    """The leakage check of one run: the questions it keeps, the run manifest's `leakage` entry (None when the
    check does not apply), the report (None when it could not run) and why it could not."""
    questions: list[GoldenQuestion]
    manifest: dict | None = None
    report: LeakageReport | None = None
    error: str | None = None


def for_run(questions: Sequence[GoldenQuestion], paths: Sequence[str], adapter_dir: str | Path | None,
            embedder=None, exclude: bool = False, data_path: str | Path | None = None,
            report: LeakageReport | None = None) -> RunLeakage:
    """The one leakage workflow of a run with an adapter path (the Compare page and `compare` both call it): the
    check (or a `report` computed before for the same questions), the flagged questions left out when `exclude`,
    and the manifest entry that says what was checked and whether they were left out."""
    from lab.errors import LabError

    questions = list(questions)
    if not questions or not adapter_dir or not applies(paths):
        return RunLeakage(questions)
    try:
        report = report or check_adapter(questions, adapter_dir, embedder, data_path)
    except LabError as exc:
        return RunLeakage(questions, {"error": str(exc), "flagged": []}, None, str(exc))
    flagged = set(report.flagged_ids) if exclude else set()
    return RunLeakage([q for q in questions if q.id not in flagged],
                      {**report.to_manifest(), "excluded": bool(flagged)}, report)
