"""Base vs adapter on the held-out test split, and the forgetting check on general tasks.

For each of the two models (the base with the adapter disabled, and the adapter):
- `test_loss`: completion-token loss on the test split;
- `exact_match` and `token_f1` of the greedy answer against the reference completion;
- `json_format`: share of answers in the set's answer format (`lab.evaluation.answer_format`: the user's JSON
  schema when the set was built from one, else the sample's shape) - only when the reference completions are in it;
- `general_accuracy`: normalised alias match (`lab.evaluation.metrics.is_correct`) on sample_corpus/general_tasks.jsonl,
  asked with the comparison paths' prompt: a drop after fine-tuning shows forgetting.
"""

from __future__ import annotations

import time

from lab.config import SAMPLE_CORPUS, DecodingConfig
from lab.evaluation.answer_format import SAMPLE, AnswerFormat
from lab.evaluation.metrics import is_correct, normalize, token_f1

GENERAL_TASKS = SAMPLE_CORPUS / "general_tasks.jsonl"
ADAPTER = "default"  # peft's name for the adapter being trained


def _batched(generator, conversations: list, decoding: DecodingConfig, adapter, check_cancel, answered=None,
             size: int = 8):
    texts = []
    for start in range(0, len(conversations), size):
        check_cancel()
        texts += [g.text for g in generator.generate(conversations[start:start + size], decoding, adapter=adapter)]
        if answered:
            answered(len(conversations[start:start + size]))
    return texts


def score_answers(answers: list[str], references: list[str], json_data: bool, fmt: AnswerFormat = SAMPLE) -> dict:
    """Exact match, token F1 and (for JSON-format data) format compliance of answers vs references: compliance
    over the examples whose reference is in the format (a general example mixed in keeps its plain answer).

    >>> score_answers(['{"answer": "x", "sources": [1], "confidence": "high"}', "y", "plain"],
    ...               ['{"answer": "x", "sources": [1], "confidence": "high"}', "z", "plain"], True)
    {'exact_match': 0.6667, 'token_f1': 0.6667, 'json_format': 1.0}
    """
    n = max(len(answers), 1)
    formatted = [a for a, r in zip(answers, references) if fmt.ok(r)] if json_data else []
    scores = {"exact_match": sum(normalize(a) == normalize(r) for a, r in zip(answers, references)) / n,
              "token_f1": sum(token_f1(a, r) for a, r in zip(answers, references)) / n,
              "json_format": sum(fmt.ok(a) for a in formatted) / len(formatted) if formatted else None}
    return {k: (round(v, 4) if v is not None else None) for k, v in scores.items()}


def evaluate_adapter(model, tokenizer, base_name: str, test: list, cfg, check_cancel=lambda: None,
                     general_path=GENERAL_TASKS, progress=None, fmt: AnswerFormat = SAMPLE) -> dict:
    """Metrics for base and adapter on `test` (lab.finetune.data.Example list) and on the general tasks;
    `progress(done, total)` after every batch of answers (both models' answers count)."""
    from lab.evaluation.golden import load_golden
    from lab.finetune.loop import encode_all, mean_loss
    from lab.generation import prompts
    from lab.generation.models import LocalGenerator

    start = time.perf_counter()
    generator = LocalGenerator.wrap(model, tokenizer, base_name, {ADAPTER: "(trained in this job)"})
    device = generator.device
    rows, _ = encode_all(test, tokenizer, max(cfg.max_length, 4096))
    references = [e.completion for e in test]
    json_data = sum(fmt.ok(r) for r in references) * 2 > len(references)  # mostly in the format
    longest = max(len(tokenizer(r, add_special_tokens=False)["input_ids"]) for r in references)
    decoding = DecodingConfig(max_new_tokens=min(256, longest + 16))
    general = load_golden(general_path) if general_path else []
    if cfg.general_limit:
        general = general[:cfg.general_limit]
    result = {"test_examples": len(test), "general_questions": len(general), "format": "json" if json_data else "text"}
    done, total = [0], 2 * (len(test) + len(general))

    def answered(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], total)
    for label, adapter in (("base", None), ("adapter", ADAPTER)):
        check_cancel()
        if adapter is None:
            with model.disable_adapter():
                loss = mean_loss(model, rows, tokenizer.pad_token_id, device)
        else:
            loss = mean_loss(model, rows, tokenizer.pad_token_id, device)
        answers = _batched(generator, [e.messages for e in test], decoding, adapter, check_cancel, answered)
        scores = {"test_loss": loss, **score_answers(answers, references, json_data, fmt)}
        if general:
            said = _batched(generator, [prompts.chat(q.question) for q in general], DecodingConfig(48), adapter,
                            check_cancel, answered)
            scores["general_accuracy"] = round(sum(is_correct(a, q.answer, q.aliases)
                                                   for a, q in zip(said, general)) / len(general), 4)
        scores["samples"] = answers[:3]
        result[label] = scores
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result
