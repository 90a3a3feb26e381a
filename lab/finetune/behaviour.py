"""A behaviour set for your own task: golden questions (or any prompts) -> prompt/completion pairs in a target
output format, split 80/10/10, with a share of general examples mixed into training against forgetting (the
guide's mistake #5).

The format is a JSON schema (its `properties` name the fields of the wanted JSON answer) or example answers
(for tone). With a teacher (an OpenAI-compatible endpoint) the completion is the teacher's answer in that
format; without one it is built from the golden answer: the schema's fields filled from what the question
knows (answer, sources, confidence "high"), or the golden answer as is for tone examples.

>>> q = GoldenQuestion("q1", "Which port?", "7443", [], ["ports.md"])
>>> completion_from_gold(q, {"properties": {"answer": {}, "sources": {}, "confidence": {}}})
'{"answer": "7443", "sources": ["ports.md"], "confidence": "high"}'
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.atomic import replace_folder, stage_folder
from lab.config import DecodingConfig
from lab.errors import InputError
from lab.evaluation.answer_format import SCHEMA_FILE
from lab.evaluation.golden import GoldenQuestion
from lab.finetune.data import split_examples
from lab.outputs import check_out_folder

MARK = "behaviour_set.json"  # written into every behaviour set: what it holds, and that the lab wrote the folder
GENERAL_SHARE = 0.15  # default share of general examples in training (the guide: 10-20%)


def completion_from_gold(q: GoldenQuestion, schema: dict | None) -> str:
    """The golden answer in the target format: the schema's answer field holds the answer, its sources field the
    gold documents, an enum its first confident value, other fields an empty value of their type; the result must
    pass the schema (else a teacher is needed, and the message says so)."""
    if not schema:
        return q.answer
    from lab.evaluation.answer_format import AnswerFormat

    fmt = AnswerFormat(schema)
    properties = fmt.properties
    if not properties:
        raise InputError("The JSON schema has no 'properties': name the fields of the answer.")
    known = {"answer": q.answer, "sources": list(q.sources), "confidence": "high", "question": q.question}
    value = {name: _field_value(name, spec if isinstance(spec, dict) else {}, q, fmt, known)
             for name, spec in properties.items()}
    text = json.dumps(value, ensure_ascii=False)
    if not fmt.ok(text):
        raise InputError(f"The golden answers cannot fill this schema by themselves (e.g. {text[:160]}): build the "
                         "set with a teacher endpoint, or give a schema whose fields are the answer, its sources "
                         "and simple values.")
    return text


_CONFIDENT = ("high", "sure", "certain", "yes", "confident", "true")


def _field_value(name: str, spec: dict, q: GoldenQuestion, fmt, known: dict):
    kind = spec.get("type")
    if name == fmt.answer_field:
        return q.answer
    if name == fmt.sources_field:
        items = (spec.get("items") or {}).get("type") if isinstance(spec.get("items"), dict) else None
        return [] if items in ("integer", "number") else list(q.sources)
    if isinstance(spec.get("enum"), list) and spec["enum"]:
        return next((v for v in spec["enum"] if str(v).lower() in _CONFIDENT), spec["enum"][0])
    if name in known and kind in (None, "string" if isinstance(known[name], str) else "array"):
        return known[name]
    return {"string": "", "integer": 0, "number": 0, "boolean": True, "array": [], "object": {}}.get(kind, "")


def teacher_messages(q: GoldenQuestion, schema: dict | None, examples: Sequence[str]) -> list[dict]:
    how = (f"Reply with JSON only, matching this schema: {json.dumps(schema)}" if schema else
           "Reply in the style of these example answers:\n" + "\n".join(f"- {e}" for e in examples[:5]))
    return [{"role": "system", "content": how},
            {"role": "user", "content": f"Question: {q.question}\nThe correct answer is: {q.answer}\n"
                                        "Write the reply the assistant should give."}]


@dataclass
class BehaviourSet:
    train: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    test: list[dict] = field(default_factory=list)
    general_in_train: int = 0
    teacher: str | None = None
    schema: dict | None = None  # the answer format the set teaches, kept as schema.json beside the splits

    def files(self) -> dict[str, str]:
        return {part: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                for part, rows in (("train", self.train), ("validation", self.validation), ("test", self.test))}

    def save(self, folder: str | Path) -> Path:
        """Write train/validation/test.jsonl (and the set's mark, MARK) into `folder`, all or nothing: the files
        are written into a hidden sibling folder that then replaces `folder` (a set built earlier under that name
        stays until then). A folder that holds anything but a behaviour set is refused, never replaced."""
        folder = check_out_folder(folder, "The behaviour set's folder", ours=is_behaviour_set)
        partial = stage_folder(folder)
        for part, text in self.files().items():
            (partial / f"{part}.jsonl").write_text(text, encoding="utf-8")
        if self.schema:
            (partial / SCHEMA_FILE).write_text(json.dumps(self.schema, indent=2) + "\n", encoding="utf-8")
        (partial / MARK).write_text(json.dumps({"train": len(self.train), "validation": len(self.validation),
                                                "test": len(self.test), "general_in_train": self.general_in_train,
                                                "teacher": self.teacher, "schema": bool(self.schema)}) + "\n",
                                    encoding="utf-8")
        return replace_folder(partial, folder)


def schema_of_set(data: str | Path) -> dict | None:
    """The schema of the behaviour set a training file belongs to (`schema.json` beside it), if any."""
    path = Path(data).parent / SCHEMA_FILE
    if not path.is_file() or not (Path(data).parent / MARK).is_file():
        return None
    return parse_schema(path.read_text(encoding="utf-8"), str(path))


def is_behaviour_set(folder: Path) -> bool:
    """The lab wrote `folder`: it holds the mark, or (sets saved before the mark) exactly the three split files."""
    names = {entry.name for entry in folder.iterdir()}
    return MARK in names or names == {"train.jsonl", "validation.jsonl", "test.jsonl"}


def built_sets(root: str | Path) -> list[Path]:
    """Behaviour sets saved under `root` (folders holding a train.jsonl), newest first."""
    found = [p.parent for p in Path(root).glob("*/train.jsonl") if not p.parent.name.startswith(".")
             and not p.parent.name.endswith((".partial", ".old"))]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def build(questions: Sequence[GoldenQuestion], schema: dict | None = None, examples: Sequence[str] = (),
          general: Sequence[GoldenQuestion] = (), share: float = GENERAL_SHARE, teacher=None,
          seed: int = 0) -> BehaviourSet:
    """Pairs from `questions` (teacher's answers when a teacher is given), split 80/10/10; general examples make
    `share` of the training split (they keep their plain answers: the behaviour must not spill onto them)."""
    if not questions:
        raise InputError("No questions to build a behaviour set from.")
    if not schema and not examples:
        raise InputError("Give the target format: a JSON schema, or example answers for tone.")
    if not 0 <= share < 0.5:
        raise InputError(f"The general share must be 0-0.5, got {share}.")
    if share and not general:
        raise InputError("A general share needs general examples (e.g. sample_corpus/general_tasks.jsonl).")
    from lab.generation.prompts import user_message

    if teacher is not None:
        replies = teacher.generate([teacher_messages(q, schema, examples) for q in questions],
                                   DecodingConfig(max_new_tokens=256))
        failed = [r.error for r in replies if r.error]
        if failed:
            from lab.errors import ModelError

            raise ModelError(f"The teacher could not answer {len(failed)} of {len(replies)} questions ({failed[0]}); "
                             "nothing was saved. Try again, or build the set without a teacher.")
        completions = [r.text.strip() for r in replies]
    else:
        completions = [completion_from_gold(q, schema) for q in questions]
    pairs = [{"prompt": user_message(q.question), "completion": c} for q, c in zip(questions, completions)]
    train, val, test = split_examples(pairs, seed)
    n_general = round(share * len(train) / (1 - share)) if share else 0
    pool = list(general)
    random.Random(seed).shuffle(pool)
    mixed = [{"prompt": user_message(g.question), "completion": g.answer} for g in pool[:n_general]]
    train = train + mixed
    random.Random(seed + 1).shuffle(train)
    return BehaviourSet(train, val, test, len(mixed), getattr(teacher, "name", None), schema)


MAX_SCHEMA_BYTES = 64 * 1024


def parse_schema(text: str, where: str = "The JSON schema") -> dict:
    """The user's target format as a JSON schema: valid JSON, an object, a valid JSON Schema (jsonschema's
    check), with `properties` naming the answer's fields; InputError saying what to fix otherwise.

    >>> parse_schema('{"type": "object", "properties": {"answer": {}}}')["properties"]
    {'answer': {}}
    """
    import jsonschema

    if len(text.encode("utf-8", "replace")) > MAX_SCHEMA_BYTES:
        raise InputError(f"{where} is over {MAX_SCHEMA_BYTES // 1024} KiB: a schema of an answer is far smaller.")
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}.") from exc
    except RecursionError as exc:
        raise InputError(f"{where} is nested too deeply to be a schema of an answer.") from exc
    if not isinstance(schema, dict):
        raise InputError(f'{where} must be an object, e.g. {{"properties": {{"answer": {{}}}}}}, not a JSON '
                         f"{type(schema).__name__}.")
    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InputError(f"{where} is not a valid JSON Schema: {exc.message}.") from exc
    except RecursionError as exc:
        raise InputError(f"{where} is nested too deeply to be a schema of an answer.") from exc
    if not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        raise InputError(f"{where} has no 'properties': name the fields of the answer, e.g. "
                         '{"properties": {"answer": {}, "sources": {}}}.')
    return schema


def read_user_file(path: str | Path, what: str) -> str:
    """A small text file the user names (a schema, example answers): InputError for a missing, special, binary
    or oversized one."""
    from lab.corpus.files import decode_text, read_regular

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} is not a file: give the path of a text file.")
    return decode_text(read_regular(path, MAX_SCHEMA_BYTES * 16), path.name)


def make_set(questions: Sequence[GoldenQuestion], schema_text: str | None = None, examples_text: str | None = None,
             share: float = GENERAL_SHARE, teacher=None, general: Sequence[GoldenQuestion] | None = None,
             out: str | Path | None = None) -> tuple[BehaviourSet, Path | None]:
    """The behaviour-set workflow the Models page and `golden behaviour` share: the user's texts checked (the
    schema, the example answers, the output folder) before a teacher is asked anything, general examples from the
    sample's general tasks when none are given, the set built and, with `out`, saved."""
    from lab.finetune.evaluation import GENERAL_TASKS
    from lab.evaluation.golden import load_golden

    if bool(schema_text and schema_text.strip()) == bool(examples_text and examples_text.strip()):
        raise InputError("Give the target format: a JSON schema, or example answers for tone (one of the two).")
    schema = parse_schema(schema_text) if schema_text and schema_text.strip() else None
    examples = [line.strip() for line in (examples_text or "").splitlines() if line.strip()]
    if out is not None:
        check_out_folder(out, "The behaviour set's folder", ours=is_behaviour_set)
    if general is None:
        general = load_golden(GENERAL_TASKS) if share else []
    built = build(questions, schema, examples, general, share, teacher)
    return built, (built.save(out) if out is not None else None)
