"""Which files an ingest may read, how it reads them, and how their bytes become text.

A folder the user names is walked without following links out of it: a link whose target lies outside the
folder (`notes.txt -> /proc/self/environ`, `passwd.txt -> /etc/passwd`) is refused with its reason, as is
anything that is not a regular file (fifos, sockets, devices) and anything on /proc, /sys or /dev. A file named
directly is held to the folder it sits in. The parser then opens the file without following a link
(`O_NOFOLLOW`), checks it is a regular file and within the size limit, and only then reads it.

Text is decoded by its byte-order mark (UTF-8, UTF-16, UTF-32), else as UTF-8, else as Windows-1252; content
with NUL bytes or many control characters is binary and refused, whatever its name says.

>>> decode_text("caf\\u00e9".encode("utf-16"), "a.txt")
'café'
>>> decode_text(b"caf\\xe9", "a.txt")
'café'
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lab.errors import InputError

SPECIAL_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CONTROL_SHARE = 0.05  # more control characters than this (besides tab, newline, CR, form feed): binary


@dataclass
class Skipped:
    path: str
    reason: str


def _special(path: Path) -> bool:
    return any(path == root or path.is_relative_to(root) for root in SPECIAL_ROOTS)


def refusal(path: Path, root: Path) -> str | None:
    """Why `path` (inside the resolved folder `root`) may not be read, or None when it may."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # a dangling link, a loop, no permission
        return f"a link that leads nowhere readable ({getattr(exc, 'strerror', None) or exc}); skipped"
    if path.is_symlink() and not (target == root or target.is_relative_to(root)):
        return (f"a link to {target}, outside the folder {root}; not followed (link targets must stay inside the "
                "folder you ingest: copy the file in instead)")
    if _special(target):
        return f"{target} is on a special file system (/proc, /sys, /dev); not read"
    mode = target.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = "a fifo" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else \
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a folder" if stat.S_ISDIR(mode) else \
            "not a regular file"
        return f"{kind}, not a regular file; not read"
    return None


def collect_files(paths: Iterable[str | Path], readable: Callable[[Path], bool]) -> tuple[list[Path], list[Skipped]]:
    """Expand folders (recursively, hidden files left out, links not followed out of the folder) into the files
    `readable` accepts (asked only once a file has passed the safety checks: it may read its first bytes), in a
    stable order; every file left out is listed with its reason. A link inside the folder is replaced by the file
    it points to (read once, under that file's name), so the parser never follows one."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()

    def consider(path: Path, root: Path) -> None:
        try:
            path.name.encode("utf-8")
        except UnicodeEncodeError:
            safe = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            skipped.append(Skipped(str(path.parent / safe), "its name is not valid UTF-8: rename the file (the "
                                                           "lab names documents by their file names)"))
            return
        reason = refusal(path, root)
        if reason:
            skipped.append(Skipped(str(path), reason))
            return
        real = path.resolve()  # where the file is now: the read checks that it is still there (read_regular)
        if not readable(real):
            skipped.append(Skipped(str(path), f"unsupported file type {path.suffix or '(none, and not text)'}"))
            return
        if real.resolve() not in seen:
            seen.add(real.resolve())
            files.append(real)

    for raw in paths:
        path = Path(raw)
        if not str(raw).strip():
            skipped.append(Skipped(repr(str(raw)), "an empty path (it would mean the current folder); not read"))
        elif not os.path.lexists(path):
            skipped.append(Skipped(str(path), "no such file or folder"))
        elif path.is_dir():
            root = path.resolve()
            if _special(root):
                skipped.append(Skipped(str(path), f"{root} is on a special file system (/proc, /sys, /dev); not read"))
                continue
            for folder, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for d in dirs:
                    if os.path.islink(os.path.join(folder, d)):
                        skipped.append(Skipped(os.path.join(folder, d), "a link to a folder; not followed (ingest "
                                                                        "its target folder by name instead)"))
                for name in sorted(names):
                    if not name.startswith("."):
                        consider(Path(folder) / name, root)
        else:
            consider(path, path.absolute().parent.resolve())
    return files, skipped


def read_regular(path: str | Path, max_bytes: int | None = None, same_place: bool = False) -> bytes:
    """The bytes of a regular file, opened without following a final link and without blocking on a fifo;
    InputError when it is a link, not a regular file, on /proc, /sys or /dev, or larger than `max_bytes`.

    With `same_place` (`path` is the real path found when the folder was read), the opened file must still be
    that path: a folder on the way that was swapped for a link since (to /etc, a secret) is refused, not read."""
    path = Path(path)
    if _special(Path(os.path.abspath(path))):
        raise InputError(f"{path.name}: on a special file system (/proc, /sys, /dev); not read.")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if os.path.islink(path):
            raise InputError(f"{path.name}: is a link; the lab reads the file it points to only when the folder "
                             "you ingest holds it.") from exc
        raise InputError(f"{path.name}: could not be opened ({exc.strerror}); check the file and its "
                         "permissions.") from exc
    if same_place:
        try:
            opened = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            opened = None  # no /proc: the final-link check above is what holds
        if opened is not None and opened != os.path.abspath(path):
            os.close(fd)
            raise InputError(f"{path.name}: the file is no longer where the folder was read (a folder on its way "
                             "was moved or replaced by a link since); not read. Ingest the folder again.")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # checked before fdopen, which refuses a folder with a bare errno
        os.close(fd)
        what = "a folder: name the files, or ingest the folder" if stat.S_ISDIR(info.st_mode) else \
            "a fifo, socket or device"
        raise InputError(f"{path.name}: not a regular file ({what}); not read.")
    with os.fdopen(fd, "rb") as handle:
        if max_bytes is not None and info.st_size > max_bytes:
            raise InputError(f"{path.name}: {info.st_size / 2**20:,.1f} MB is over the {max_bytes / 2**20:g} MB "
                             "limit per file (LAB_MAX_FILE_MB); split the file or raise the limit.")
        data = handle.read(max_bytes + 1 if max_bytes is not None else -1)
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(f"{path.name}: grew past the {max_bytes / 2**20:g} MB limit per file while being read.")
    return data


def decode_text(data: bytes, name: str | None = None) -> str:
    """Text from bytes: by byte-order mark, else UTF-8, else UTF-16 without a mark, else Windows-1252; binary
    content (NUL bytes, many control characters) raises InputError naming the file (when `name` is given)."""
    prefix = f"{name}: " if name else ""
    text = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"{prefix}starts with a {encoding} byte-order mark but is not valid {encoding} "
                                 f"({exc.reason} at byte {exc.start}); save it again as UTF-8.") from exc
            break
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _utf16_without_bom(data) or data.decode("cp1252", errors="replace")
    if "\x00" in text or _control_share(text) > _CONTROL_SHARE:
        raise InputError(f"{prefix}binary content (NUL bytes or control characters), not text; give the document "
                         "itself (PDF, DOCX, HTML, Markdown, text or CSV).")
    return text


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a byte-order mark shows as NULs in every other byte (for Latin-script text)."""
    if len(data) < 4 or len(data) % 2:
        return None
    for encoding, zeros in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
        if zeros.count(0) > 0.9 * len(zeros):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _control_share(text: str) -> float:
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f" or 0x7f <= ord(ch) < 0xa0)
    return controls / max(len(sample), 1)
