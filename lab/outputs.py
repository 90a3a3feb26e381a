"""Checks on where a command will write, made before the work starts (so a long run never ends in an unwritable
`--out` and lost results).

>>> check_out_file("/proc/x", "--out")  # doctest: +ELLIPSIS
Traceback (most recent call last):
lab.errors.InputError: --out /proc/x is on a special file system (/proc, /sys, /dev): ...
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from lab.errors import InputError

_SPECIAL = (Path("/proc"), Path("/sys"), Path("/dev"))


def _absolute(path: str | Path, what: str) -> Path:
    if not str(path).strip():
        raise InputError(f"{what} is empty: give a path (an empty one would mean the current folder).")
    path = Path(os.path.abspath(Path(path).expanduser()))
    if any(path == root or path.is_relative_to(root) for root in _SPECIAL):
        raise InputError(f"{what} {path} is on a special file system (/proc, /sys, /dev): give a path in an ordinary "
                         "folder.")
    return path


def _writable_parent(path: Path, what: str) -> None:
    """The nearest existing folder above `path` must be a folder this process may write to."""
    parent = path.parent
    while not parent.exists():
        if parent.is_symlink():
            raise InputError(f"{what} {path}: {parent} is a broken link; give a path in an existing folder.")
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{what} {path}: {parent} is a file, not a folder; give a path in a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path}: the folder {parent} is not writable; give a path in a folder you may "
                         "write to.")


def check_out_file(path: str | Path, what: str = "--out") -> Path:
    """A file path a command may write (create or replace); InputError saying what to give instead."""
    path = _absolute(path, what)
    if path.exists() or path.is_symlink():
        info = path.stat() if path.exists() else None
        if info is None:
            raise InputError(f"{what} {path} is a broken link; give a file name.")
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{what} {path} is a folder: give a file name inside it (e.g. {path / 'results.csv'}).")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{what} {path} is not a regular file (a device, fifo or socket); give a file name.")
    _writable_parent(path, what)
    return path


def check_out_folder(path: str | Path, what: str = "--out", ours=None) -> Path:
    """A folder path a command may create, or replace when it is empty or `ours(path)` says the lab wrote it;
    InputError when it is a file, holds anything else (the user's files are never replaced) or cannot be written."""
    path = _absolute(path, what)
    if path.is_symlink() or path.exists() and not path.is_dir():
        raise InputError(f"{what} {path} is a {'link' if path.is_symlink() else 'file'}, not a folder: give a new "
                         f"folder name (e.g. {path.parent / 'my-output'}).")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{what} {path}: the folder is not writable; give a folder you may write to.")
        entries = sorted(entry.name for entry in path.iterdir())
        if entries and not (ours and ours(path)):
            shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
            raise InputError(f"{what} {path} already holds files the lab did not write there ({shown}): give a new "
                             "folder name; the lab never replaces a folder of yours.")
        return path
    _writable_parent(path, what)
    return path


def check_artefact_name(name: str, what: str) -> str:
    """A name the lab makes a folder of (an adapter, a behaviour set): letters, digits, - and _, at most 64, not
    starting with - or _ ; the name stripped, or InputError naming `what`.

    >>> check_artefact_name(" my-adapter ", "Adapter name")
    'my-adapter'
    """
    name = str(name).strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
        raise InputError(f"{what}: use letters, digits, - and _ only (at most 64, starting with a letter or digit), "
                         f"not {name[:70]!r}.")
    return name
