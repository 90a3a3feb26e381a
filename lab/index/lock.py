"""Per-collection locks across processes, so writers never interleave and readers never see half a commit.

Chroma's embedded store is not safe for concurrent writers from several processes: two ingests into one
collection lost documents or left it mixed. Every writer of a collection (ingest, delete, rename, removing a
source) holds its *writer* lock, `<data dir>/locks/<collection>.lock`, for the whole operation; the file records
the holder (pid, what, since when), so a second writer says whom it waits for, then waits up to
`LAB_LOCK_WAIT_S` seconds (default 600) and is refused with that message. The locks are `flock` locks: the
kernel drops them when the holder dies, so a lock left by a SIGKILLed ingest is recovered at once (the file's
stale pid is only shown, never trusted).

The moment a commit makes staged chunks visible is guarded by a second lock, `<collection>.commit`: the
committing writer holds it exclusively, and each read (a query, a fetch of chunks) holds it shared, so a read
sees the version before the commit or the one after, never a half-applied one.

    with writer_lock("sample", "ingest", notify=print):
        ...  # stage, then commit
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from lab.config import data_dir
from lab.errors import InputError, StoreError

WAIT_ENV = "LAB_LOCK_WAIT_S"
DEFAULT_WAIT_S = 600.0


def _path(collection: str, kind: str) -> Path:
    folder = data_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{collection}.{kind}"


def wait_seconds() -> float:
    try:
        value = float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_S))
    except ValueError as exc:
        raise InputError(f"{WAIT_ENV} must be a number of seconds, got {os.environ[WAIT_ENV]!r}.") from exc
    if not 0 <= value <= 86_400:
        raise InputError(f"{WAIT_ENV} must be 0-86400 seconds, got {value}.")
    return value


def holder(collection: str) -> dict:
    """What the writer lock file says about its last holder ({} when nothing was recorded)."""
    try:
        return json.loads(_path(collection, "lock").read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _describe(info: dict) -> str:
    return (f"pid {info.get('pid', '?')} ({info.get('what', 'a writer')} since {info.get('since', '?')})"
            if info else "another process")


@contextlib.contextmanager
def writer_lock(collection: str, what: str, wait_s: float | None = None,
                notify: Callable[[str], None] | None = None):
    """Hold the collection's writer lock; wait (telling `notify` whom for) up to `wait_s` seconds, then StoreError."""
    wait_s = wait_seconds() if wait_s is None else wait_s
    handle = open(_path(collection, "lock"), "a+")
    try:
        deadline, told = time.monotonic() + wait_s, False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                info = holder(collection)
                if time.monotonic() >= deadline:
                    raise StoreError(f"Collection {collection!r} is being written by {_describe(info)}; only one "
                                     f"writer at a time. Waited {wait_s:g} s ({WAIT_ENV}); try again when it has "
                                     "finished.") from None
                if not told and notify:
                    notify(f"Collection {collection!r} is being written by {_describe(info)}: waiting up to "
                           f"{wait_s:g} s for it to finish ({WAIT_ENV}).")
                    told = True
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "what": what,
                                 "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


@contextlib.contextmanager
def commit_lock(collection: str, shared: bool):
    """Exclusive while a writer makes a commit visible; shared around each read."""
    with open(_path(collection, "commit"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def writer_busy(collection: str) -> bool:
    """Whether another process (or handle) holds the collection's writer lock right now."""
    with open(_path(collection, "lock"), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
