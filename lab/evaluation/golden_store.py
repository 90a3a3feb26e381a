"""Stored golden sets: one per name in the data directory, tied to a collection, versioned.

    data/golden/<name>/meta.json       name, collection, fingerprint, versions [{version, created, questions, ...}]
    data/golden/<name>/v0001.jsonl     the questions of each version (never changed once written)
    data/golden/<name>/drafts.jsonl    model-drafted questions waiting for review (lab.evaluation.drafting)

Saving questions under a name makes a new version; a run records `name@version` (`GoldenSet.manifest`), so
it can say which questions it used. The sample corpus's golden set is one set among others: `sample`, tied to
the `sample` collection, read from `sample_corpus/golden.jsonl` until it is edited (version 1 is then copied
in, and the edit becomes version 2).

    store = GoldenStore()
    saved = store.save("licences", questions, collection="licences", fingerprint=fp, note="imported from q.csv")
    store.get("licences").version, store.get("licences", 1).questions
"""

from __future__ import annotations

import contextlib
import functools
import threading

import hashlib
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from lab.atomic import write_text
from lab.config import DEFAULT_COLLECTION, SAMPLE_DOCS, SAMPLE_GOLDEN, data_dir
from lab.errors import InputError, LabError, NotFoundError
from lab.evaluation.golden import GoldenQuestion, load_golden, parse_golden, to_jsonl
from lab.jobs import write_json_atomic

SAMPLE_SET = "sample"
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$")
BACKUP = "meta.backup.json"  # a copy of meta.json written at each save, read by `GoldenStore.restore`


def check_set_name(name: str) -> str:
    if not _NAME.match(name or "") or ".." in name:
        raise InputError(f"Golden set name {name!r} is invalid: use 1-63 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit.")
    return name


_HELD = threading.local()  # the sets whose writer lock this thread holds


@dataclass(frozen=True)
class GoldenVersion:
    version: int
    created: str
    questions: int
    sha256: str
    note: str = ""
    collection: str | None = None
    fingerprint: str | None = None  # of the collection when this version was saved
    documents: dict | None = None  # cited source -> sha256 of its content in that collection, when saved


@dataclass(frozen=True)
class GoldenSetInfo:
    name: str
    collection: str | None
    fingerprint: str | None
    versions: list[GoldenVersion] = field(default_factory=list)
    builtin: bool = False  # the sample's set, not yet edited (read from sample_corpus/)

    @property
    def latest(self) -> GoldenVersion:
        return self.versions[-1]


@dataclass(frozen=True)
class GoldenSet:
    """One version of a golden set, or a loose file (version None)."""

    name: str
    version: int | None
    questions: list[GoldenQuestion]
    collection: str | None = None
    fingerprint: str | None = None
    documents: dict | None = None  # the gold documents' contents when saved: source -> sha256

    @property
    def label(self) -> str:
        return f"{self.name}@v{self.version}" if self.version else self.name

    def manifest(self) -> dict:
        """What a run records about the questions it used."""
        return {"name": self.name, "version": self.version, "collection": self.collection,
                "fingerprint": self.fingerprint, "questions": len(self.questions),
                "sha256": hashlib.sha256(to_jsonl(self.questions).encode()).hexdigest()[:16]}


@functools.lru_cache(maxsize=4)
def _sample_documents(sources: tuple[str, ...]) -> dict:
    """The content hashes of the sample's gold documents (as a collection records them, `doc_sha256`): the built-in
    set was made for these files, so another corpus's faq.html is not its faq.html."""
    files = {s: SAMPLE_DOCS / s for s in sources}
    return {s: hashlib.sha256(f.read_bytes()).hexdigest() for s, f in files.items() if f.is_file()}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class GoldenStore:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else data_dir() / "golden"
        self.root.mkdir(parents=True, exist_ok=True)

    def _folder(self, name: str) -> Path:
        return self.root / check_set_name(name)

    def _meta(self, name: str) -> dict | None:
        """The set's meta.json; a damaged one is one message saying what to do (its versions stay on disk)."""
        from lab.config import read_json

        path = self._folder(name) / "meta.json"
        if not path.is_file():
            return None
        advice = (f"Restore it with `python -m lab golden restore {name}` or the Restore button on the Golden sets "
                  "page: every version is rebuilt from its vNNNN.jsonl file (the damaged file is kept beside it).")
        try:
            meta = read_json(path, advice)
        except InputError as exc:
            from lab.errors import DamagedStore

            raise DamagedStore(str(exc), path, restorable=True) from exc
        if not isinstance(meta.get("versions"), list) or not all(isinstance(v, dict) for v in meta["versions"]):
            from lab.errors import DamagedStore

            raise DamagedStore(f"{path} is damaged: it lists no versions. {advice}", path, restorable=True)
        return meta

    def restore(self, name: str) -> GoldenSetInfo:
        """Rebuild a damaged meta.json from the set's version files: each version's count and hash from its file,
        its date, note and collection from the copy kept at each save (`meta.backup.json`) where it is readable.
        The damaged file is kept as `meta.json.damaged-<time>`. Returns the restored set."""
        import json
        import time

        folder = self._folder(name)
        files = sorted(folder.glob("v[0-9][0-9][0-9][0-9].jsonl"))
        if not files:
            raise NotFoundError(f"Golden set {name!r} has no version files in {folder}: nothing to restore from.")
        try:
            kept = json.loads((folder / BACKUP).read_text(encoding="utf-8"))
            known = {int(v["version"]): v for v in kept["versions"]}
        except (OSError, ValueError, KeyError, TypeError):
            kept, known = {}, {}
        with self.writing(name):
            versions, collection, fingerprint = [], kept.get("collection"), kept.get("fingerprint")
            for path in files:
                number, text = int(path.stem[1:]), path.read_text(encoding="utf-8")
                old = known.get(number, {})
                versions.append(GoldenVersion(
                    number, str(old.get("created") or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                                .isoformat(timespec="seconds")),
                    len(parse_golden(text, path.name)), hashlib.sha256(text.encode()).hexdigest()[:16],
                    str(old.get("note") or ("restored from " + path.name)), old.get("collection", collection),
                    old.get("fingerprint", fingerprint)))
            meta = folder / "meta.json"
            if meta.exists():
                meta.rename(folder / f"meta.json.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            self._write_meta(folder, name, collection, fingerprint, versions)
        return self.info(name)

    @staticmethod
    def _write_meta(folder: Path, name: str, collection, fingerprint, versions: list[GoldenVersion]) -> None:
        """meta.json, and the copy `restore` reads when meta.json is damaged."""
        meta = {"name": name, "collection": collection, "fingerprint": fingerprint,
                "versions": [asdict(v) for v in versions]}
        write_json_atomic(folder / "meta.json", meta)
        write_json_atomic(folder / BACKUP, meta)

    def _builtin(self) -> GoldenSetInfo:
        text = SAMPLE_GOLDEN.read_text(encoding="utf-8")
        questions = parse_golden(text, SAMPLE_GOLDEN.name)
        version = GoldenVersion(1, "built in", len(questions), hashlib.sha256(text.encode()).hexdigest()[:16],
                                "the sample corpus's golden set", DEFAULT_COLLECTION, None,
                                _sample_documents(tuple(sorted({s for q in questions for s in q.sources}))))
        return GoldenSetInfo(SAMPLE_SET, DEFAULT_COLLECTION, None, [version], builtin=True)

    def names(self) -> list[str]:
        stored = {p.name for p in self.root.iterdir() if (p / "meta.json").is_file()}
        return sorted(stored | ({SAMPLE_SET} if SAMPLE_GOLDEN.is_file() else set()))

    def list(self) -> list[GoldenSetInfo]:
        """Every readable set; a damaged one hides only itself (`damaged()` says which and what to do)."""
        found = []
        for name in self.names():
            try:
                found.append(self.info(name))
            except LabError:
                continue
        return found

    def damaged(self) -> dict[str, str]:
        """name -> the message of each set that cannot be read (`restore` puts one back)."""
        problems = {}
        for name in self.names():
            try:
                self.info(name)
            except LabError as exc:
                problems[name] = str(exc)
        return problems

    def exists(self, name: str) -> bool:
        return name in self.names()

    def info(self, name: str) -> GoldenSetInfo:
        meta = self._meta(name)
        if meta is None:
            if name == SAMPLE_SET and SAMPLE_GOLDEN.is_file():
                return self._builtin()
            raise NotFoundError(f"No golden set named {name!r}: import one, build one on the Golden sets page, or "
                                "`python -m lab golden list` to see the names.")
        try:
            versions = [GoldenVersion(**v) for v in meta["versions"]]
        except TypeError as exc:
            from lab.errors import DamagedStore

            raise DamagedStore(f"{self._folder(name) / 'meta.json'} is damaged: its versions do not read ({exc}). "
                               f"Restore it with `python -m lab golden restore {name}` or the Restore button on the "
                               "Golden sets page.", self._folder(name) / "meta.json", restorable=True) from exc
        return GoldenSetInfo(str(meta.get("name") or name), meta.get("collection"), meta.get("fingerprint"), versions)

    def get(self, name: str, version: int | None = None) -> GoldenSet:
        info = self.info(name)
        version = version or info.latest.version
        if version not in {v.version for v in info.versions}:
            raise NotFoundError(f"Golden set {name!r} has no version {version}: it has "
                                f"{', '.join(str(v.version) for v in info.versions)}.")
        path = SAMPLE_GOLDEN if info.builtin else self._folder(name) / f"v{version:04d}.jsonl"
        chosen = next(v for v in info.versions if v.version == version)
        return GoldenSet(name, version, load_golden(path), chosen.collection, chosen.fingerprint, chosen.documents)

    @contextlib.contextmanager
    def writing(self, name: str):
        """Hold the set's writer lock (one writer of a set at a time, across processes): a read of the latest
        version and the save of the next one happen together, so no reported save is ever lost."""
        import fcntl

        held = _HELD.__dict__.setdefault("names", set())
        if name in held:  # this thread holds it already (a save inside an addition)
            yield
            return
        folder = self.root / ".locks"
        folder.mkdir(exist_ok=True)
        with open(folder / f"{check_set_name(name)}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            held.add(name)
            try:
                yield
            finally:
                held.discard(name)
                fcntl.flock(handle, fcntl.LOCK_UN)

    def save(self, name: str, questions: list[GoldenQuestion], collection: str | None = None,
             fingerprint: str | None = None, note: str = "", documents: dict | None = None) -> GoldenSet:
        """Store `questions` as the next version of `name` (a new set when the name is new), under the set's writer
        lock. Refuses an empty set; the file is complete before the metadata names it, so a crash leaves the
        previous version."""
        with self.writing(name):
            return self._save(name, questions, collection, fingerprint, note, documents)

    def _save(self, name: str, questions: list[GoldenQuestion], collection: str | None, fingerprint: str | None,
              note: str, documents: dict | None = None) -> GoldenSet:
        if not questions:
            raise InputError(f"Golden set {name!r}: nothing to save (no questions).")
        if name == SAMPLE_SET:
            raise InputError(f"The built-in sample set cannot be changed: save your edits under a new name (e.g. "
                             f"{SAMPLE_SET}-mine); runs and pickers keep reading the sample set as shipped.")
        ids = [q.id for q in questions]
        if len(set(ids)) != len(ids):
            raise InputError(f"Golden set {name!r}: question ids must be unique.")
        folder = self._folder(name)
        info = self.info(name) if self.exists(name) else None
        folder.mkdir(parents=True, exist_ok=True)
        versions = list(info.versions) if info else []
        collection = collection if collection is not None else (info.collection if info else None)
        fingerprint = fingerprint if fingerprint is not None else (info.fingerprint if info else None)
        number = (versions[-1].version + 1) if versions else 1
        text = to_jsonl(questions)
        path = folder / f"v{number:04d}.jsonl"
        write_text(path, text)
        versions.append(GoldenVersion(number, _now(), len(questions), hashlib.sha256(text.encode()).hexdigest()[:16],
                                      note, collection, fingerprint, documents or None))
        self._write_meta(folder, name, collection, fingerprint, versions)
        return GoldenSet(name, number, list(questions), collection, fingerprint, documents or None)

    def delete(self, name: str) -> None:
        if self._meta(name) is None:
            raise NotFoundError(f"No stored golden set named {name!r}"
                                f"{' (the built-in sample set cannot be deleted)' if name == SAMPLE_SET else ''}.")
        shutil.rmtree(self._folder(name))

    def drafts_path(self, name: str) -> Path:
        folder = self._folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / "drafts.jsonl"


def parse_spec(spec: str) -> tuple[str, int | None]:
    """"name@v3" or "name@3" -> ("name", 3); "name" -> ("name", None)."""
    name, _, version = spec.partition("@")
    if not version:
        return name, None
    digits = version.lstrip("vV")
    if not digits.isdigit():
        raise InputError(f"{spec!r}: write a golden set as NAME or NAME@vN (e.g. licences@v2).")
    return name, int(digits)


def resolve(spec: str, store: GoldenStore | None = None) -> GoldenSet:
    """A golden set from what a user typed: a JSONL or CSV file path, or a stored set's NAME[@vN]."""
    path = Path(spec)
    if os.path.lexists(path):  # a file (a folder, fifo or link is refused by read_regular with its reason)
        from lab.corpus.files import read_regular
        from lab.evaluation.golden import MAX_FILE_BYTES
        from lab.evaluation.golden_io import parse_file

        return GoldenSet(path.name, None, parse_file(path.name, read_regular(path, MAX_FILE_BYTES)))
    store = store or GoldenStore()
    name, version = parse_spec(spec)
    if not _NAME.match(name or "") or not store.exists(name):
        raise NotFoundError(f"{spec!r} is neither a file nor a stored golden set (stored: "
                            f"{', '.join(store.names()) or 'none'}).")
    return store.get(name, version)
