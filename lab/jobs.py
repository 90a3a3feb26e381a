"""Background jobs: long work (batch runs, training, the knowledge-update demo) in a thread a page can leave.

    job = SomeJob(...).start()        # returns at once; the work runs in a daemon thread
    job.progress.done, job.progress.total, job.progress.message, job.progress.eta_seconds
    job.cancel()                      # honoured at the job's next check_cancel()
    job.wait(); job.state             # running -> done | cancelled | failed (job.error says why)
    SomeJob(...).run()                # the same work in the foreground (command line, tests)

A subclass writes `work()`, calls `advance(...)` and `check_cancel()` as it goes, and may override
`finished(state, error)` to record the outcome (a status file, the run store). Jobs that outlive their
process record its pid; `process_alive` tells a reader whether a job left `running` is still running.
"""

from __future__ import annotations

import abc
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError


def process_alive(pid: int | None) -> bool:
    """Whether a process with this id is running on this machine (a zombie is not)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) still has a pid but runs nothing
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def eta(elapsed: float, step: int, total: int) -> float | None:
    """Seconds left at the average pace so far: eta(10.0, 2, 10) -> 40.0."""
    return None if step <= 0 else round(elapsed / step * (total - step), 1)


def write_json_atomic(path: str | Path, document: dict) -> None:
    """Write JSON so that a reader never sees half a file (`lab.atomic`)."""
    from lab.atomic import write_json

    write_json(path, document)


@dataclass
class Progress:
    """How far a job is: `done` of `total` steps, what it is doing now, and the time left at its pace."""

    done: int = 0
    total: int = 0
    message: str = ""
    started: float = field(default_factory=time.time)

    @property
    def eta_seconds(self) -> float | None:
        return eta(time.time() - self.started, self.done, self.total) if self.total else None

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class Cancelled(Exception):
    """Raised by `BackgroundJob.check_cancel` to unwind a cancelled job."""


class BackgroundJob(abc.ABC):
    """One unit of long work: progress, cancel, state, error; in a thread (`start`) or in the foreground (`run`)."""

    kind = "job"

    def __init__(self, job_id: str | None = None):
        self.id = job_id or f"{self.kind}-{uuid.uuid4().hex[:8]}"
        self.progress = Progress()
        self.state = "pending"
        self.error: str | None = None
        self.pid = os.getpid()
        self.request: tuple | None = None  # what was asked: a repeated request (a double click) finds this job
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    @abc.abstractmethod
    def work(self) -> None:
        """The job itself: call `advance` as steps finish and `check_cancel` between them."""

    def finished(self, state: str, error: str | None) -> None:
        """Called once when the work ends (done, cancelled or failed): record the outcome where it belongs."""

    def start(self) -> "BackgroundJob":
        self.state = "running"
        self._thread = threading.Thread(target=self._run_safely, name=self.id, daemon=True)
        self._thread.start()
        return self

    def run(self) -> "BackgroundJob":
        """The same work in the calling thread; returns when it has ended."""
        self.state = "running"
        self._run_safely()
        return self

    def _run_safely(self) -> None:
        try:
            self.work()
            self.state = "cancelled" if self._cancel.is_set() else "done"
        except Cancelled:
            self.state = "cancelled"
        except LabError as exc:
            self.state, self.error = "failed", str(exc)
        except Exception as exc:  # a background thread must record its failure, not vanish
            self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"
        self.finished(self.state, self.error)

    def advance(self, done: int | None = None, total: int | None = None, message: str | None = None) -> None:
        if total is not None:
            self.progress.total = total
        if done is not None:
            self.progress.done = done
        if message is not None:
            self.progress.message = message

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def wait(self, timeout: float | None = None) -> "BackgroundJob":
        if self._thread:
            self._thread.join(timeout)
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
