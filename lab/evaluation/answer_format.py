"""The answer format a comparison scores against: the user's own JSON schema when the adapter was trained on one,
the sample's shape (`answer`, `sources`, `confidence`) for the sample's adapter and when no adapter is loaded.

A behaviour set built from a schema keeps it (`schema.json`), the adapter trained on that set records it in its
manifest (`answer_schema`), and a comparison with that adapter validates every path's answers against it with
jsonschema, so `prompt`, `rag` and the adapter's paths are held to the same format. The citation and abstention
scores read the schema's own fields: the answer text from the field that holds the answer, citations from the
field that lists sources.

    >>> fmt = AnswerFormat({"type": "object", "required": ["reply", "refs"], "additionalProperties": False,
    ...                     "properties": {"reply": {"type": "string"}, "refs": {"type": "array",
    ...                                    "items": {"type": "integer"}}}})
    >>> fmt.answer_field, fmt.sources_field
    ('reply', 'refs')
    >>> fmt.ok('{"reply": "Port 7443.", "refs": [1]}'), fmt.ok('{"answer": "Port 7443.", "sources": [1]}')
    (True, False)
    >>> fmt.content('{"reply": "Port 7443 [2].", "refs": [1]}'), fmt.cited('{"reply": "Port 7443 [2].", "refs": [1]}')
    ('Port 7443 [2].', [1, 2])
    >>> SAMPLE.ok('{"answer": "Paris", "sources": [], "confidence": "high"}'), SAMPLE.label
    (True, "the sample's answer shape (answer, sources, confidence)")
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from lab.evaluation import metrics

ANSWER_NAMES = ("answer", "response", "reply", "text", "result", "output", "content", "summary", "message")
SOURCE_NAMES = ("sources", "citations", "references", "refs", "passages", "evidence", "source_ids", "cites")
SCHEMA_FILE = "schema.json"  # kept in a behaviour set built from a schema


@dataclass(frozen=True)
class AnswerFormat:
    schema: dict | None = None  # None: the sample's shape

    @property
    def properties(self) -> dict:
        return dict((self.schema or {}).get("properties") or {})

    @property
    def answer_field(self) -> str:
        """The field that holds the answer text: a conventional name, else the first string field."""
        if self.schema is None:
            return "answer"
        names = list(self.properties)
        for wanted in ANSWER_NAMES:
            if wanted in names:
                return wanted
        strings = [n for n, spec in self.properties.items() if isinstance(spec, dict) and spec.get("type") == "string"]
        return (strings or names or ["answer"])[0]

    @property
    def sources_field(self) -> str | None:
        """The field that lists the passages cited, when the schema has one."""
        if self.schema is None:
            return "sources"
        for wanted in SOURCE_NAMES:
            if wanted in self.properties:
                return wanted
        return None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.schema, sort_keys=True).encode()).hexdigest()[:16] if self.schema \
            else "sample"

    @property
    def label(self) -> str:
        if self.schema is None:
            return "the sample's answer shape (answer, sources, confidence)"
        return f"your JSON schema ({', '.join(list(self.properties)[:6])}; sha {self.sha256})"

    def _value(self, text: str):
        text = text.strip()
        if text.startswith("```"):
            return None
        try:
            return json.loads(text)
        except (json.JSONDecodeError, ValueError, RecursionError):
            return None

    def ok(self, text: str) -> bool:
        """The answer is one JSON object that the schema accepts (the sample's shape: exactly its three keys)."""
        if self.schema is None:
            return metrics.json_format_ok(text)
        value = self._value(text)
        if not isinstance(value, dict):
            return False
        import jsonschema

        validator = jsonschema.validators.validator_for(self.schema, default=jsonschema.Draft202012Validator)
        return validator(self.schema).is_valid(value)

    def content(self, text: str) -> str:
        """The answer text: the answer field of a JSON answer, else the text itself (fair to plain answers)."""
        value = self._value(text)
        if isinstance(value, dict) and self.answer_field in value:
            return str(value[self.answer_field])
        return metrics.json_answer(text) if self.schema is None else text

    def cited(self, text: str) -> list[int]:
        """Passage numbers cited: the sources field's whole numbers, then any [n] in the answer text."""
        if self.schema is None:
            return metrics.cited(text)
        value = self._value(text)
        if not isinstance(value, dict):
            return metrics.citations(text)
        listed = value.get(self.sources_field) if self.sources_field else None
        seen = [s for s in listed if isinstance(s, int) and not isinstance(s, bool)] if isinstance(listed, list) \
            else []
        seen = list(dict.fromkeys(seen))
        return seen + [c for c in metrics.citations(self.content(text)) if c not in seen]

    def to_dict(self) -> dict:
        return {"label": self.label, "sha256": self.sha256, **({"schema": self.schema} if self.schema else {})}


SAMPLE = AnswerFormat()


def of_adapter(folder: str | Path | None) -> AnswerFormat:
    """The format an adapter was trained to answer in: the schema its manifest records, else the sample's shape."""
    if not folder:
        return SAMPLE
    from lab.generation.adapters import read_manifest

    try:
        schema = read_manifest(Path(folder)).get("answer_schema")
    except Exception:  # an unreadable manifest is reported where the adapter loads; scoring keeps the default
        return SAMPLE
    return AnswerFormat(schema) if isinstance(schema, dict) and schema.get("properties") else SAMPLE
