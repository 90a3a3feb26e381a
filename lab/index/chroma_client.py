"""The Chroma client: HTTP when a server is configured, embedded under the data directory otherwise.

Chroma's embedded database aborts the whole process (a Rust panic, exit 134) on some damaged files, which no
`except` can catch: before the first open in a process, the SQLite file is checked with Python's own sqlite3
(read-only, `PRAGMA quick_check`), so a damaged store is one message saying what to do, in the command line and
on every page, instead of a dead process.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lab.config import chroma_host, data_dir
from lab.errors import DamagedStore, StoreError

_CHECKED: set[tuple[str, int, int]] = set()  # (path, size, mtime) of database files that passed the check


def probe(path: Path) -> None:
    """sqlite3.DatabaseError when the file at `path` is not a sound SQLite database (nothing when it is absent:
    a new store). Checked once per process for each version of the file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    key = (str(path), info.st_size, info.st_mtime_ns)
    if key in _CHECKED:
        return
    try:
        found = _quick_check(path, "ro")
    except sqlite3.OperationalError as exc:  # a hot journal left by a killed writer: reading it needs a rollback,
        if "readonly" not in str(exc):       # which only a writable connection may do (as Chroma's own open does)
            raise
        found = _quick_check(path, "rw")
    if not found or found[0] != "ok":
        raise sqlite3.DatabaseError(f"integrity check: {found[0] if found else 'no answer'}")
    _CHECKED.add(key)


def _quick_check(path: Path, mode: str):
    db = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=30)
    try:
        return db.execute("pragma quick_check(1)").fetchone()
    finally:
        db.close()


def client(host: str | None = None):
    """A Chroma client: HTTP when `host` (or LAB_CHROMA_HOST) is set, embedded otherwise."""
    import chromadb

    host = host or chroma_host()
    settings = chromadb.Settings(anonymized_telemetry=False)
    from chromadb.errors import ChromaError

    try:
        if host:
            hostname, _, port = host.rpartition(":")
            return chromadb.HttpClient(host=hostname or host, port=int(port or 8000), settings=settings)
    except (ValueError, ConnectionError) as exc:
        raise StoreError(f"Could not reach Chroma at {host or 'the data directory'}: {exc}. "
                         "Check LAB_CHROMA_HOST, or unset it to use the embedded store.") from exc
    folder = data_dir() / "chroma"
    try:
        probe(folder / "chroma.sqlite3")
        return _open_embedded(folder, settings)
    # garbage, a truncated file, a folder where the file goes (Chroma's failed start-up can end in AttributeError)
    except (ChromaError, OSError, ValueError, AttributeError, sqlite3.DatabaseError) as exc:
        from lab.index.catalogue import entries

        kept = entries()
        todo = (f"Rebuild its {len(kept)} collection(s) from the lab's catalogue with `python -m lab collections "
                "--rebuild` or the Rebuild button on the Corpus page (the damaged folder is kept aside), or move "
                "the folder aside" if kept else f"Move the folder aside (e.g. `mv {folder} {folder}.damaged`)")
        raise DamagedStore(
            f"The Chroma database in {folder} cannot be opened ({exc}); chroma.sqlite3 there is damaged or not a "
            f"database. The run store, adapters and models are not affected. {todo} and ingest your documents "
            "again: collections are rebuilt from them.", folder, restorable=bool(kept)) from exc


def _open_embedded(folder, settings):
    """Open the embedded Chroma one process at a time: two first opens of a new data directory at once race in
    Chroma's own schema set-up ('table collections already exists')."""
    import fcntl

    import chromadb

    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".chroma-open.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return chromadb.PersistentClient(path=str(folder), settings=settings)
