"""Uploaded files: checked, then stored by content hash inside the data directory.

The user's file name is only ever used as a display/source name (reduced to a safe basename),
never as a path, so names like `../../x` or `/etc/passwd` cannot place a file elsewhere.

>>> safe_name("../../etc/pass\\x00wd.md")
'passwd.md'
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from lab.atomic import write_bytes
from lab.config import data_dir
from lab.corpus.parsing import SUPPORTED, kind_of
from lab.errors import InputError

MAX_UPLOAD_MB = 50


def safe_name(name: str) -> str:
    """A basename with no separators, control characters or leading dots, at most 120 characters."""
    base = re.split(r"[\\/]", name.replace("\x00", ""))[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".")
    stem, suffix = os.path.splitext(base)
    base = stem[: 120 - len(suffix)] + suffix
    return base or "unnamed"


def check_content(source: str, data: bytes, kind: str) -> None:
    """The bytes must be what the name says (`kind`): PDF magic, a DOCX zip, or text without NUL bytes."""
    import io
    import zipfile

    if kind == "pdf":
        ok = data.lstrip()[:5] == b"%PDF-"
    elif kind == "docx":
        ok = data[:4] == b"PK\x03\x04"
        if ok:
            try:
                ok = "word/document.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
            except zipfile.BadZipFile:
                ok = False
    else:
        ok = b"\x00" not in data[:65536]
    if not ok:
        raise InputError(f"{source}: the content is not a {kind} file (checked by its bytes, not its name); "
                         "export it again in that format.")


def save_upload(name: str, data: bytes, max_mb: int = MAX_UPLOAD_MB) -> tuple[Path, str]:
    """Store an upload; returns (stored path, source name)."""
    source = safe_name(name)
    suffix = Path(source).suffix.lower()
    kind = kind_of(source, data)  # as the folder walk decides: by extension, or text without one
    if kind is None:
        raise InputError(f"{source}: unsupported file type; upload {', '.join(sorted(SUPPORTED))} files, or plain "
                         "text without an extension (LICENSE, README).")
    if len(data) > max_mb * 1024 * 1024:
        raise InputError(f"{source}: {len(data) / 1e6:.1f} MB is over the {max_mb} MB upload limit; "
                         "split the file or raise the limit.")
    check_content(source, data, kind)
    folder = data_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (hashlib.sha256(data).hexdigest() + (suffix if suffix in SUPPORTED else ""))
    if not target.exists():
        write_bytes(target, data)
    return target, source


def save_uploads(files: list[tuple[str, bytes]], max_mb: int = MAX_UPLOAD_MB) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Store a batch of uploads as the command line ingests a folder: every good file is kept, each refused one
    is listed with its reason instead of blocking the rest. Returns ((stored path, source name)..., (name, reason)...)."""
    stored, refused = [], []
    for name, data in files:
        try:
            stored.append(save_upload(name, data, max_mb))
        except InputError as exc:
            refused.append((safe_name(name), str(exc)))
    return stored, refused
