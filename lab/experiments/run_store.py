"""The run store: every comparison run and every answer it produced, in SQLite under the data directory.

Each answer is an `AnswerRecord` kept as the JSON of its `to_dict()`, read back with `from_dict()`.

Answers are written as they finish, one transaction a batch, so a crash keeps what was done; a
run left `running` by a process that no longer exists is reported as `interrupted`.

The file is checked when it is opened (a folder, an empty file, garbage or a truncated database) and every
SQLite error on it becomes one `DamagedStore` message naming the file and what to do; the rest of the lab keeps
working. A rolling backup (`runs.sqlite.backup`, taken with SQLite's online backup API when a run ends or is
deleted, and checked before it replaces the previous one) can be restored with `restore_backup()`
(`python -m lab runs --restore-backup`, or the button the pages show with the message).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lab.experiments.manifest import RunManifest
from lab.config import data_dir
from lab.errors import DamagedStore, NotFoundError, StoreError
from lab.evaluation.record import AnswerRecord
from lab.jobs import process_alive

_SCHEMA = """
create table if not exists runs (
    run_id text primary key, created text not null, status text not null, pid integer, heartbeat real,
    manifest text not null, total integer not null, done integer not null default 0, error text);
create table if not exists answers (
    run_id text not null references runs(run_id) on delete cascade, question_id text not null,
    path text not null, record text not null, primary key (run_id, question_id, path));
create table if not exists decisions (
    run_id text primary key references runs(run_id) on delete cascade, decision text not null);
create table if not exists launches (
    run_id text primary key references runs(run_id) on delete cascade, launch text not null, questions text not null);
create table if not exists votes (
    run_id text not null references runs(run_id) on delete cascade, question_id text not null,
    path text not null, voter text not null, created text not null);
"""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    created: str
    status: str  # running, done, cancelled, failed, interrupted, damaged (its row cannot be read)
    manifest: RunManifest
    total: int
    done: int
    error: str | None


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".backup")


def _count_runs(path: Path) -> int | None:
    """Runs in a healthy run-store file, or None when it is missing or damaged."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            if db.execute("pragma quick_check").fetchone()[0] != "ok":
                return None
            return db.execute("select count(*) from runs").fetchone()[0]
    except sqlite3.DatabaseError:
        return None


def damaged(path: Path, reason: str) -> DamagedStore:
    """The one message for a damaged run store: which file, what happened, what to do."""
    backup = backup_path(path)
    runs = _count_runs(backup)
    offer = (f"Restore the last backup ({backup.name}, {runs} run{'s' if runs != 1 else ''}, saved "
             f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(backup.stat().st_mtime))}) with `python -m lab runs "
             "--restore-backup` or the Restore button on the Results page, or move the file aside to start a new "
             "history." if runs is not None else
             "There is no usable backup: move the file aside (or delete it) to start a new history.")
    return DamagedStore(f"The run store {path} is damaged ({reason}). Collections, adapters and models are not "
                        f"affected. {offer}", path, runs is not None)


def restore_backup(path: str | Path | None = None) -> int:
    """Put the backup in place of a damaged (or missing) run store; the damaged file is kept beside it as
    `runs.sqlite.damaged-<time>`. Returns the number of runs restored."""
    path = Path(path) if path else data_dir() / "runs.sqlite"
    backup = backup_path(path)
    runs = _count_runs(backup)
    if runs is None:
        raise NotFoundError(f"No usable backup of the run store at {backup}: move {path} aside to start a new "
                            "history.")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        old = path.with_name(path.name + suffix)
        if old.exists() or old.is_symlink():
            old.rename(old.with_name(f"{old.name}.damaged-{stamp}"))
    _copy(backup, path)
    return runs


def _copy(source: Path, target: Path, check: bool = False) -> bool:
    """A consistent copy with SQLite's online backup API, written beside `target` (under a name of its own, so two
    processes never share one) and renamed over it; with `check`, only a copy that passes the integrity check
    replaces `target`. Returns whether `target` was replaced."""
    import tempfile

    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(name)
    try:
        with contextlib.closing(sqlite3.connect(source, timeout=30)) as src, \
                contextlib.closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
        if check and _count_runs(partial) is None:
            return False
        os.replace(partial, target)
        return True
    finally:
        partial.unlink(missing_ok=True)


class RunStore:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else data_dir() / "runs.sqlite"
        if self.path.is_dir():
            raise damaged(self.path, "it is a folder, not a file")
        existed = self.path.exists()
        if existed and self.path.stat().st_size == 0:
            raise damaged(self.path, "the file is empty: 0 bytes, so it was truncated")
        with self._connect() as db:
            if existed:
                check = db.execute("pragma quick_check").fetchone()[0]
                if check != "ok":
                    raise damaged(self.path, f"SQLite's integrity check says: {check}")
            db.executescript(_SCHEMA)
        if not backup_path(self.path).exists():
            self.backup()

    @contextlib.contextmanager
    def _connect(self):
        """A connection in a transaction (committed at the end); SQLite errors become one clear message."""
        try:
            with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as db, db:
                db.execute("pragma journal_mode=wal")
                db.execute("pragma foreign_keys=on")
                yield db
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(f"The run store {self.path} is busy ({exc}): another process holds it; try "
                                 "again in a moment.") from exc
            raise damaged(self.path, str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, str(exc)) from exc

    def backup(self) -> Path | None:
        """Refresh the rolling backup (SQLite's online backup API); the previous one is replaced only by a copy
        that passes the integrity check. Returns the backup's path, or None when the copy was not healthy."""
        target = backup_path(self.path)
        try:
            return target if _copy(self.path, target, check=True) else None
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, str(exc)) from exc

    def check(self) -> None:
        """Read the store once (pages call this before drawing): DamagedStore when it went bad since it opened."""
        if not self.path.is_file() or self.path.stat().st_size == 0:
            raise damaged(self.path, "the file is gone or empty")
        with self._connect() as db:
            db.execute("select count(*) from runs").fetchone()

    def create(self, manifest: RunManifest | dict, total: int) -> str:
        if isinstance(manifest, RunManifest):
            manifest = manifest.to_dict()
        run_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self._connect() as db:
            db.execute("insert into runs (run_id, created, status, pid, heartbeat, manifest, total) "
                       "values (?, ?, 'running', ?, ?, ?, ?)",
                       (run_id, datetime.now(timezone.utc).isoformat(timespec="seconds"), os.getpid(), time.time(),
                        json.dumps(manifest, sort_keys=True), total))
        return run_id

    def save_launch(self, run_id: str, launch: dict, questions: list[dict]) -> None:
        """What started the run (its settings, never a key) and its questions, so it can be resumed exactly."""
        with self._connect() as db:
            db.execute("insert or replace into launches (run_id, launch, questions) values (?, ?, ?)",
                       (run_id, json.dumps(launch, sort_keys=True), json.dumps(questions)))

    def save_decision(self, run_id: str, decision: dict) -> None:
        """How a run that stopped early was decided (`lab.evaluation.sequential`): its pairs, what stopping saved."""
        with self._connect() as db:
            db.execute("insert or replace into decisions (run_id, decision) values (?, ?)",
                       (run_id, json.dumps(decision, sort_keys=True)))

    def decision(self, run_id: str) -> dict | None:
        with self._connect() as db:
            row = db.execute("select decision from decisions where run_id = ?", (run_id,)).fetchone()
        try:
            return json.loads(row[0]) if row else None
        except ValueError:
            return None

    def launch(self, run_id: str) -> tuple[dict, list[dict]] | None:
        """(settings, questions) a run was started with; None for a run made before runs could be resumed."""
        with self._connect() as db:
            row = db.execute("select launch, questions from launches where run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0]), json.loads(row[1])
        except (ValueError, RecursionError) as exc:
            raise damaged(self.path, f"the launch record of run {run_id} cannot be read ({exc})") from exc

    def answered(self, run_id: str) -> set[tuple[str, str]]:
        """(question id, path) of every answer stored for the run."""
        with self._connect() as db:
            return {(q, p) for q, p in db.execute("select question_id, path from answers where run_id = ?",
                                                  (run_id,))}

    def reopen(self, run_id: str) -> None:
        """Mark a run running again in this process (it is being resumed)."""
        with self._connect() as db:
            db.execute("update runs set status = 'running', error = null, pid = ?, heartbeat = ? where run_id = ?",
                       (os.getpid(), time.time(), run_id))

    def add_answers(self, run_id: str, records: list[AnswerRecord]) -> None:
        with self._connect() as db:
            db.executemany("insert or replace into answers (run_id, question_id, path, record) values (?, ?, ?, ?)",
                           [(run_id, r.question_id, r.path, json.dumps(r.to_dict())) for r in records])
            db.execute("update runs set done = (select count(*) from answers where run_id = ?), heartbeat = ? "
                       "where run_id = ?", (run_id, time.time(), run_id))

    def update_answers(self, run_id: str, records: list[AnswerRecord]) -> None:
        """Store new scores on answers already stored, keeping their order (a judge's verdicts)."""
        with self._connect() as db:
            db.executemany("update answers set record = ? where run_id = ? and question_id = ? and path = ?",
                           [(json.dumps(r.to_dict()), run_id, r.question_id, r.path) for r in records])

    def annotate(self, run_id: str, **fields) -> None:
        """Add fields to a run's manifest (what was done to it since, e.g. which judge graded it)."""
        with self._connect() as db:
            db.execute("begin immediate")  # read and write the manifest as one step
            row = db.execute("select manifest from runs where run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"Run {run_id!r} not found: list runs on the Results page or with `python -m "
                                    "lab runs`.")
            db.execute("update runs set manifest = ? where run_id = ?",
                       (json.dumps({**json.loads(row[0]), **fields}, sort_keys=True), run_id))

    def finish(self, run_id: str, status: str, error: str | None = None) -> None:
        with self._connect() as db:
            db.execute("update runs set status = ?, error = ?, heartbeat = ? where run_id = ?",
                       (status, error, time.time(), run_id))
        self.backup()

    def _record(self, row) -> RunRecord:
        run_id, created, status, pid, heartbeat, manifest, total, done, error = row
        try:
            parsed = RunManifest.from_dict(json.loads(manifest))
        except (TypeError, ValueError, RecursionError) as exc:  # one garbled row hides only itself
            return RunRecord(str(run_id), str(created), "damaged", RunManifest(), int(total or 0), int(done or 0),
                             f"This run's record is damaged ({type(exc).__name__}); its answers may still be read.")
        if status == "running" and not process_alive(pid):  # its process is gone: killed or crashed
            status = "interrupted"
        return RunRecord(run_id, created, status, parsed, total, done, error)

    def get(self, run_id: str) -> RunRecord:
        with self._connect() as db:
            row = db.execute("select run_id, created, status, pid, heartbeat, manifest, total, done, error "
                             "from runs where run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"Run {run_id!r} not found: list runs on the Results page or with the run store.")
        return self._record(row)

    def list(self) -> list[RunRecord]:
        with self._connect() as db:
            rows = db.execute("select run_id, created, status, pid, heartbeat, manifest, total, done, error "
                              "from runs order by created desc, rowid desc").fetchall()
        return [self._record(r) for r in rows]

    def answers(self, run_id: str) -> list[AnswerRecord]:
        """The run's answer records in the order they were stored (records of earlier lab versions included)."""
        with self._connect() as db:
            rows = db.execute("select record from answers where run_id = ? order by rowid", (run_id,)).fetchall()
        return [AnswerRecord.from_dict(json.loads(r[0])) for r in rows]

    def add_vote(self, run_id: str, question_id: str, path: str, voter: str) -> bool:
        """Store `voter`'s vote on one question, once: False when they have voted on it already."""
        with self._connect() as db:
            db.execute("begin immediate")  # the check and the insert as one step, across tabs and processes
            if _voted(db, run_id, question_id, voter) is not None:
                return False
            db.execute("insert into votes values (?, ?, ?, ?, ?)",
                       (run_id, question_id, path, voter, datetime.now(timezone.utc).isoformat(timespec="seconds")))
        return True

    def voted(self, run_id: str, question_id: str, voter: str) -> str | None:
        """The path `voter` voted for on this question, if any."""
        with self._connect() as db:
            return _voted(db, run_id, question_id, voter)

    def votes(self, run_id: str, question_id: str | None = None) -> dict[str, int]:
        """Votes per path for a run (or for one of its questions)."""
        where, args = ("run_id = ?", (run_id,)) if question_id is None else \
            ("run_id = ? and question_id = ?", (run_id, question_id))
        with self._connect() as db:
            rows = db.execute(f"select path, count(*) from votes where {where} group by path", args).fetchall()
        return dict(rows)

    def votes_by_question(self, run_id: str) -> dict[str, dict[str, int]]:
        """Votes of a run per question and path: {question id: {path: votes}} (questions without votes absent)."""
        with self._connect() as db:
            rows = db.execute("select question_id, path, count(*) from votes where run_id = ? "
                              "group by question_id, path", (run_id,)).fetchall()
        found: dict[str, dict[str, int]] = {}
        for question_id, path, n in rows:
            found.setdefault(question_id, {})[path] = n
        return found

    def delete(self, run_id: str) -> None:
        with self._connect() as db:
            db.execute("delete from runs where run_id = ?", (run_id,))
        self.backup()


def _voted(db: sqlite3.Connection, run_id: str, question_id: str, voter: str) -> str | None:
    row = db.execute("select path from votes where run_id = ? and question_id = ? and voter = ? limit 1",
                     (run_id, question_id, voter)).fetchone()
    return row[0] if row else None


def default_run(runs: list[RunRecord]) -> int:
    """Which of `runs` (newest first) a page opens on: the latest complete run of more than one path that is not a
    blind-mode question; else the latest with answers; else the first. Its index in `runs`."""
    for wanted in (lambda r: r.status == "done" and not r.manifest.blind and r.done > 0,
                   lambda r: r.done > 0 and not r.manifest.blind, lambda r: True):
        found = next((i for i, r in enumerate(runs) if wanted(r)), None)
        if found is not None:
            return found
    return 0
