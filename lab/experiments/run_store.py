"""The run store: every comparison run and every answer it produced, in SQLite under the data directory.

Each answer is an `AnswerRecord` kept as the JSON of its `to_dict()`, read back with `from_dict()`.

Answers are written as they finish, one transaction a batch, so a crash keeps what was done; a
run left `running` by a process that no longer exists is reported as `interrupted`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lab.config import data_dir
from lab.errors import NotFoundError
from lab.evaluation.record import AnswerRecord
from lab.jobs import process_alive

_SCHEMA = """
create table if not exists runs (
    run_id text primary key, created text not null, status text not null, pid integer, heartbeat real,
    manifest text not null, total integer not null, done integer not null default 0, error text);
create table if not exists answers (
    run_id text not null references runs(run_id) on delete cascade, question_id text not null,
    path text not null, record text not null, primary key (run_id, question_id, path));
create table if not exists votes (
    run_id text not null references runs(run_id) on delete cascade, question_id text not null,
    path text not null, voter text not null, created text not null);
"""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    created: str
    status: str  # running, done, cancelled, failed, interrupted
    manifest: dict
    total: int
    done: int
    error: str | None


class RunStore:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else data_dir() / "runs.sqlite"
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("pragma journal_mode=wal")
        db.execute("pragma foreign_keys=on")
        return db

    def create(self, manifest: dict, total: int) -> str:
        run_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self._connect() as db:
            db.execute("insert into runs (run_id, created, status, pid, heartbeat, manifest, total) "
                       "values (?, ?, 'running', ?, ?, ?, ?)",
                       (run_id, datetime.now(timezone.utc).isoformat(timespec="seconds"), os.getpid(), time.time(),
                        json.dumps(manifest, sort_keys=True), total))
        return run_id

    def add_answers(self, run_id: str, records: list[AnswerRecord]) -> None:
        with self._connect() as db:
            db.executemany("insert or replace into answers (run_id, question_id, path, record) values (?, ?, ?, ?)",
                           [(run_id, r.question_id, r.path, json.dumps(r.to_dict())) for r in records])
            db.execute("update runs set done = (select count(*) from answers where run_id = ?), heartbeat = ? "
                       "where run_id = ?", (run_id, time.time(), run_id))

    def finish(self, run_id: str, status: str, error: str | None = None) -> None:
        with self._connect() as db:
            db.execute("update runs set status = ?, error = ?, heartbeat = ? where run_id = ?",
                       (status, error, time.time(), run_id))

    def _record(self, row) -> RunRecord:
        run_id, created, status, pid, heartbeat, manifest, total, done, error = row
        if status == "running" and not process_alive(pid):  # its process is gone: killed or crashed
            status = "interrupted"
        return RunRecord(run_id, created, status, json.loads(manifest), total, done, error)

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

    def delete(self, run_id: str) -> None:
        with self._connect() as db:
            db.execute("delete from runs where run_id = ?", (run_id,))


def _voted(db: sqlite3.Connection, run_id: str, question_id: str, voter: str) -> str | None:
    row = db.execute("select path from votes where run_id = ? and question_id = ? and voter = ? limit 1",
                     (run_id, question_id, voter)).fetchone()
    return row[0] if row else None
