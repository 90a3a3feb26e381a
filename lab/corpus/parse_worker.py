"""Parse untrusted files in a separate process with a wall-time and a memory limit.

A hostile file (a decompression bomb, a reference loop, a file that takes minutes to extract) must end in a
clear per-file reason, never a hung or killed app. `ParseWorker` keeps one child process
(`python -m lab.corpus.parse_worker`) for a whole batch, so the ~0.3 s start-up is paid once, not per file; the
child caps its own address space (`RLIMIT_AS`) and the parent kills it when a file runs past the time limit,
then starts a fresh one for the next file. The child imports only the parsing libraries (never torch), so
the memory limit measures parsing, and it answers in JSON (never pickle: its output is untrusted too).

    with ParseWorker(WorkerLimits(seconds=20, memory_mb=1536)) as worker:
        doc = worker.parse(Path("report.pdf"))   # a Document, or InputError with the reason

Limits come from `LAB_PARSE_TIMEOUT_S` and `LAB_PARSE_MEMORY_MB` by default (`WorkerLimits.from_env()`).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.corpus.parsing import Document, Section
from lab.errors import InputError

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_CHILD_ENV = ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT", "PYTHONHASHSEED", "VIRTUAL_ENV")
HEAVY_MODULES = ("torch", "transformers", "sentence_transformers", "chromadb", "streamlit")


@dataclass(frozen=True)
class WorkerLimits:
    """Limits for parsing one file."""

    seconds: float = field(default=20.0, metadata={"help": "Wall-time limit per file (LAB_PARSE_TIMEOUT_S)."})
    memory_mb: int = field(default=1536, metadata={"help": "Address-space limit of the parser process "
                                                            "(LAB_PARSE_MEMORY_MB)."})
    max_file_mb: int = field(default=100, metadata={"help": "Largest file read, MB (LAB_MAX_FILE_MB)."})

    def __post_init__(self) -> None:
        if not 0.1 <= self.seconds <= 3600:
            raise InputError(f"WorkerLimits.seconds must be 0.1-3600 (LAB_PARSE_TIMEOUT_S), got {self.seconds}.")
        if not 128 <= self.memory_mb <= 1 << 20:
            raise InputError(f"WorkerLimits.memory_mb must be at least 128 (LAB_PARSE_MEMORY_MB), "
                             f"got {self.memory_mb}.")
        if not 1 <= self.max_file_mb <= 100_000:
            raise InputError(f"WorkerLimits.max_file_mb must be at least 1 (LAB_MAX_FILE_MB), got {self.max_file_mb}.")

    @classmethod
    def from_env(cls) -> "WorkerLimits":
        try:
            return cls(float(os.environ.get("LAB_PARSE_TIMEOUT_S", cls.seconds)),
                       int(os.environ.get("LAB_PARSE_MEMORY_MB", cls.memory_mb)),
                       int(os.environ.get("LAB_MAX_FILE_MB", cls.max_file_mb)))
        except ValueError as exc:
            raise InputError(f"LAB_PARSE_TIMEOUT_S / LAB_PARSE_MEMORY_MB / LAB_MAX_FILE_MB must be numbers: "
                             f"{exc}.") from exc

    @property
    def memory_text(self) -> str:
        return f"{self.memory_mb / 1024:g} GB" if self.memory_mb >= 1024 else f"{self.memory_mb} MB"


@dataclass(frozen=True)
class WorkerStatus:
    pid: int
    peak_rss_mb: float | None  # the child's peak resident memory so far (Linux: VmHWM)
    peak_address_space_mb: float | None  # what RLIMIT_AS limits (Linux: VmPeak)
    address_limit_mb: int | None
    heavy_modules: list[str]  # of HEAVY_MODULES, those imported in the child (should be none)
    environment: list[str]  # names of the environment variables the child sees (no secrets)


class ParseWorker:
    """One long-lived, limited parser process; thread-safe (one file at a time); restarted after a failure."""

    def __init__(self, limits: WorkerLimits | None = None):
        self.limits = limits or WorkerLimits.from_env()
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.restarts = 0  # processes started after the first (a timeout, crash or memory failure each cost one)

    def __enter__(self) -> "ParseWorker":
        with self._lock:
            self._start()  # the child imports the parser libraries while the caller does other work
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def parse(self, path: str | Path, name: str | None = None, max_chars: int | None = None,
              same_place: bool = False) -> Document:
        """Parse one file in the child; InputError names the file and says why it was refused. The path is not
        resolved: the child opens it without following a link (`lab.corpus.files.read_regular`)."""
        name = name or Path(path).name
        reply = self._ask({"path": os.path.abspath(path), "name": name, "max_chars": max_chars,
                           "max_bytes": self.limits.max_file_mb * 2**20, "same_place": same_place}, name)
        if "error" in reply:
            raise InputError(reply["error"])
        if reply.get("memory"):
            raise InputError(f"{name}: needed more than {self.limits.memory_text} of memory to parse; refused as "
                             "a possible decompression bomb. If the file is genuine, split it or raise "
                             "LAB_PARSE_MEMORY_MB.")
        doc = reply["document"]
        return Document(doc["source"], doc["sha256"], [Section(t, h, p, a) for t, h, p, a in doc["sections"]],
                        doc.get("title", ""))

    def status(self) -> WorkerStatus:
        reply = self._ask({"op": "status"}, "status")
        return WorkerStatus(**reply["status"])

    def _ask(self, request: dict, name: str) -> dict:
        with self._lock:
            proc = self._start()
            try:
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                proc.stdin.flush()
                line = self._read_line(proc, time.monotonic() + self.limits.seconds)
            except BrokenPipeError:
                line = b""
            if line is None:
                self._stop()
                raise InputError(f"{name}: took longer than {self.limits.seconds:g} s to parse (possibly a "
                                 "decompression bomb or a reference loop); refused. If the file is genuine, split "
                                 "it or raise LAB_PARSE_TIMEOUT_S.")
            if not line.endswith(b"\n"):
                code = self._stop()
                how = f"signal {_signal_name(-code)}" if code and code < 0 else f"exit code {code}"
                raise InputError(f"{name}: the parser process died while reading it ({how}); the file is "
                                 f"malformed or needs more than {self.limits.memory_text} of memory. Refused.")
            reply = json.loads(line)
            if reply.get("memory"):
                self._stop()  # a MemoryError can leave a fragmented heap: start clean for the next file
            return reply

    @staticmethod
    def _read_line(proc: subprocess.Popen, deadline: float) -> bytes | None:
        """One reply line; None when the deadline passes first; a partial line when the child died."""
        fd, parts = proc.stdout.fileno(), []
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            piece = os.read(fd, 1 << 20)
            parts.append(piece)
            if not piece or piece.endswith(b"\n"):
                return b"".join(parts)

    def _start(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None:  # it died or was stopped
            self.restarts += 1
            self._proc.stdin.close()
            self._proc.stdout.close()
        # The child reads hostile bytes: it gets no secrets (API keys, LAB_PASSWORD), only what Python needs.
        env = {k: v for k, v in os.environ.items() if k in _CHILD_ENV or k.startswith("LC_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
        self._proc = subprocess.Popen([sys.executable, "-m", "lab.corpus.parse_worker", str(self.limits.memory_mb)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
        return self._proc

    def _stop(self) -> int | None:
        """Kill the child if it still runs and return its exit code; the next request starts a new one."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.kill()
        return self._proc.wait()

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            if proc.poll() is None:
                proc.stdin.close()  # the child ends at EOF
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.stdin.close()
            proc.stdout.close()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


# --- the child -------------------------------------------------------------------------------------------


def _limit_memory(memory_mb: int) -> int | None:
    try:
        import resource
    except ImportError:  # not POSIX: the wall-time limit still applies
        return None
    limit = memory_mb * 2**20
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dump of a process full of a bomb's bytes
    return limit // 2**20


def _peaks() -> dict:
    """Peak resident and virtual memory of this process since exec (ru_maxrss would include the parent's)."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return {"peak_rss_mb": None, "peak_address_space_mb": None}
    kb = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in lines) if k in ("VmHWM", "VmPeak")}
    return {"peak_rss_mb": kb.get("VmHWM", 0) / 1024, "peak_address_space_mb": kb.get("VmPeak", 0) / 1024}


def _handle(request: dict, address_limit_mb: int | None) -> dict:
    from lab.corpus.parsing import parse

    if request.get("op") == "status":
        return {"status": {"pid": os.getpid(), "address_limit_mb": address_limit_mb, **_peaks(),
                           "heavy_modules": [m for m in HEAVY_MODULES if m in sys.modules],
                           "environment": sorted(os.environ)}}
    name = request["name"]
    try:
        doc = parse(Path(request["path"]), name, request.get("max_bytes"), request.get("max_chars"),
                    bool(request.get("same_place")))
    except InputError as exc:
        return {"memory": True} if isinstance(exc.__cause__, MemoryError) else {"error": str(exc)}
    except MemoryError:
        return {"memory": True}
    except OSError as exc:
        return {"error": f"{name}: could not be read ({exc.strerror or exc}); check the file and its permissions."}
    except Exception as exc:  # a parser bug outside parse()'s own handling: still this file's reason
        return {"error": f"{name}: could not be read ({type(exc).__name__}: {exc})."}
    return {"document": {"source": doc.source, "sha256": doc.sha256, "title": doc.title,
                         "sections": [[s.text, s.heading, s.page, s.atomic] for s in doc.sections]}}


def _preload() -> None:
    """Import the parser libraries now (~0.3 s), before the first file arrives."""
    import importlib

    for module in ("bs4", "lxml.etree", "pypdf", "docx"):
        try:
            importlib.import_module(module)
        except ImportError:  # parsing that format will report it
            pass


def _exit_with_parent(poll_s: float = 0.5) -> None:
    """End this process when the parent is gone (killed with SIGKILL, the child is re-parented and would otherwise
    go on parsing a hostile file until its own limits stop it). On Linux the kernel does it (PR_SET_PDEATHSIG: no
    thread, so nothing counts against the child's address-space limit); elsewhere a daemon thread watches."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) == 0:  # 1 = PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before the request took effect
                os._exit(3)
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(3)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str]) -> None:
    import logging
    import warnings

    _exit_with_parent()
    address_limit_mb = _limit_memory(int(argv[0])) if argv else None
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # a library that prints must not corrupt the reply stream
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed files make pypdf log every repair
    warnings.simplefilter("ignore")
    _preload()
    for line in sys.stdin.buffer:
        reply = _handle(json.loads(line), address_limit_mb)
        try:
            data = json.dumps(reply).encode() + b"\n"
        except MemoryError:
            data = b'{"memory": true}\n'
        replies.write(data)
        replies.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
