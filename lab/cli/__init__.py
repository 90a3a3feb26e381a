"""`python -m lab <command>`: the headless twin of the pages. Every command accepts --json.

One module a command group (`corpus`, `runs`, `models`, `golden`), each registering its commands and their
options (built from the config dataclasses, `lab.options`); this module assembles the parser and is the one place
errors become messages: a LabError or a file-system refusal exits 2 with one line (`{"error", "kind"}` under
--json), anything unforeseen exits 1 with one line naming a log file, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from lab.cli import corpus, golden, models, runs
from lab.cli.common import Parser, parents
from lab.errors import LabError

GROUPS = (corpus, runs, golden, models)


def parser() -> argparse.ArgumentParser:
    shared = parents()
    top = Parser(prog="python -m lab", description="RAG vs Fine-Tuning Lab")
    sub = top.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub, shared)
    return top


def _fail(as_json: bool, message: str, kind: str, code: int = 2) -> int:
    if as_json:
        print(json.dumps({"error": message, "kind": kind}))
    print(f"error: {message}", file=sys.stderr)
    return code


def _log_unexpected(argv: list[str]) -> str:
    """The traceback of an unexpected failure, written to `<data dir>/logs/` (the temporary folder when the data
    directory itself is what failed); the file's path."""
    import tempfile
    import time
    import traceback

    text = f"python -m lab {' '.join(argv)}\n\n{traceback.format_exc()}"
    try:
        from lab.config import data_dir

        folder = data_dir() / "logs"
        folder.mkdir(exist_ok=True)
    except (LabError, OSError):
        folder = Path(tempfile.gettempdir())
    path = folder / f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path.write_text(text, encoding="utf-8", errors="replace")
    return str(path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv
    try:
        args = parser().parse_args(argv)
        return args.func(args)
    except LabError as exc:
        return _fail(as_json, str(exc), type(exc).__name__)
    except OSError as exc:  # a file system refusal the checks did not foresee: still one message, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(as_json, f"{where}{exc.strerror or exc}. Check the path and its permissions.", "InputError")
    except KeyboardInterrupt:
        return _fail(as_json, "interrupted; what was stored stays stored.", "Interrupted", 130)
    except RecursionError:
        return _fail(as_json, "an input is nested too deeply to read (a JSON or CSV file?); flatten it.", "InputError")
    except Exception as exc:  # the last net: an unforeseen failure is one line and a log, never a traceback
        log = _log_unexpected(argv)
        return _fail(as_json, f"an unexpected {type(exc).__name__} stopped the command; the details are in {log}. "
                              "Please report it with that file.", "InternalError", 1)
