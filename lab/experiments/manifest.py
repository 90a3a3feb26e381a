"""The run manifest: what a run measured and with which settings, built once when the run starts and stored with
it as JSON (the keys below, as earlier versions stored them). `RunManifest.from_dict` reads any stored run:
missing keys take their defaults, keys this version does not know are kept in `extra` and written back as they
were, and a value of the wrong type is dropped rather than failing the run's page.

    >>> m = RunManifest.from_dict({"paths": ["rag"], "k": 3, "price_table": {"mode": "api"}, "future_key": 1})
    >>> m.paths, m.k, m.prices.mode, m.extra
    (('rag',), 3, 'api', {'future_key': 1})
    >>> RunManifest.from_dict(m.to_dict()) == m
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from lab.evaluation.costs import PriceTable

_DICTS = ("decoding", "packages", "chunk_config", "retrieval", "golden", "leakage", "answer_format")
_INTS = ("k", "batch_size", "questions", "seed")
_FLAGS = ("passage_context", "blind")


def _checked(name: str, value):
    """A stored value as its field's type, or the field's default when it is not one (a damaged row)."""
    if name == "price_table":
        try:
            return PriceTable.from_dict(value) if isinstance(value, dict) else None
        except Exception:  # noqa: BLE001 - a damaged table prices with the defaults, said where it is shown
            return None
    if name == "paths":
        return tuple(str(p) for p in value) if isinstance(value, (list, tuple)) else ()
    if name in _DICTS:
        return value if isinstance(value, dict) else None
    if name in _INTS:
        return value if isinstance(value, int) and not isinstance(value, bool) else (0 if name == "seed" else None)
    if name in _FLAGS:
        return bool(value)
    return value if value is None or isinstance(value, str) else str(value)


@dataclass(frozen=True)
class RunManifest:
    date: str | None = None
    collection: str | None = None
    questions_file: str | None = None            # the golden set's label (NAME@vN) or the file's name
    model: str | None = None
    model_hash: str | None = None
    backend: str | None = None                   # None on runs made before backends were a setting
    endpoint: str | None = None                  # `model @ host` of the ...@endpoint paths, never a key
    endpoint_adapter: str | None = None          # the adapter's name on the endpoint (finetuned@endpoint ...)
    adapter: str | None = None
    adapter_hash: str | None = None
    k: int | None = None
    decoding: dict | None = None
    seed: int = 0
    passage_context: bool = False                # stored only when on, as in runs made before it
    python: str | None = None
    packages: dict | None = None
    batching: str | None = None
    collection_hash: str | None = None
    embedder: str | None = None
    chunk_config: dict | None = None
    retrieval: dict | None = None                # fusion, rrf_k, candidates, reranker: read from the retriever
    paths: tuple[str, ...] = ()
    batch_size: int | None = None
    price_table: PriceTable | None = None
    questions: int | None = None
    golden: dict | None = None                   # the golden set's manifest (name, version, hash, collection)
    leakage: dict | None = None                  # the leakage check of a run with an adapter path
    blind: bool = False                          # a blind-mode question, stored as a one-question run
    judge: str | None = None                     # the judge model that graded the run, once it has
    answer_format: dict | None = None            # the user's answer schema format was scored against (absent: sample)
    extra: dict = field(default_factory=dict)    # keys of other versions, kept as they were
    # the keys of a stored run as read, so that it is written back (and hashed) as it was stored
    stored_keys: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def prices(self) -> PriceTable:
        """The run's price table (the defaults for a run that recorded none)."""
        return self.price_table or PriceTable()

    @classmethod
    def from_dict(cls, data: dict | None) -> "RunManifest":
        data = dict(data or {}) if isinstance(data, dict) else {}
        known = {f.name for f in fields(cls)} - {"extra", "stored_keys"}
        values, extra = {}, {k: v for k, v in data.items() if k not in known}
        for name in known & set(data):
            values[name] = _checked(name, data[name])
        return cls(**values, extra=extra, stored_keys=tuple(data))

    def to_dict(self) -> dict:
        """The stored form: the keys earlier versions wrote (flags only when set, the table as a dict)."""
        document = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("extra", "stored_keys"):
                continue
            if self.stored_keys is not None and f.name not in self.stored_keys:
                continue  # a run stored by another version: its keys as it wrote them (its hash unchanged)
            if f.name in ("passage_context", "blind") and not value:
                continue
            if f.name in ("backend", "endpoint_adapter", "batching", "collection_hash", "embedder", "chunk_config", "retrieval",
                          "batch_size",
                          "price_table", "questions", "golden", "leakage", "judge", "answer_format") and value is None:
                continue
            if f.name == "price_table":
                value = dataclasses.asdict(value)
            elif f.name == "paths":
                value = list(value)
            document[f.name] = value
        return {**document, **self.extra}

    def with_(self, **changes) -> "RunManifest":
        """A changed copy; the changed fields are written even where the stored run did not have them."""
        keys = None if self.stored_keys is None else tuple(dict.fromkeys((*self.stored_keys, *changes)))
        return dataclasses.replace(self, **changes, stored_keys=keys)
