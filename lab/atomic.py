"""Writes a reader never sees half-done: a file or a folder is staged under a hidden name of its own beside the
target (never a name a user's file may have) and put in place with one rename; a failure leaves no stage behind.

    write_text(path, "a,b\\n")          # the CSV, a golden set version
    write_json(path, {"state": "done"})  # manifests, statuses
    replace_folder(staged, folder)      # an adapter, a behaviour set, a converted model
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path


def write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(name, path)
    except BaseException:  # e.g. `path` is a folder: leave no stage behind
        Path(name).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """UTF-8, newlines as given (a CSV keeps its \\r\\n)."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, document) -> Path:
    return write_text(path, json.dumps(document, indent=2))


def stage_folder(folder: str | Path) -> Path:
    """A new, empty hidden folder beside `folder` to build its replacement in."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".partial"))


def replace_folder(staged: str | Path, folder: str | Path) -> Path:
    """Put the staged folder in place of `folder` (which may not exist): the old one is moved aside under a hidden
    name, the staged one renamed in, the old one removed."""
    staged, folder = Path(staged), Path(folder)
    old = None
    if folder.exists():
        old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".old"))
        old.rmdir()
        folder.rename(old)
    staged.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder
