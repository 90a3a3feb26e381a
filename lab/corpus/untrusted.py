"""Cheap structural checks on untrusted file bytes, run before a parser library sees them.

They refuse what no genuine document needs and what would make a parser blow up:

- zip archives (DOCX): the zip directory is read (never the members) and refused when its members would
  inflate past `MAX_INFLATED_MB` in total, when one large member compresses better than `MAX_RATIO`:1
  (zeros and repeated bytes: a zip bomb), or when a member's sizes are impossible (deflate never grows data by
  more than ~0.1%, so a member whose compressed size exceeds its stated size is lying about it: Python's
  zipfile would inflate up to 2 GiB per read call before noticing);
- XML inside a DOCX: a `<!DOCTYPE` or `<!ENTITY` declaration (entity-expansion "billion laughs") or an
  encoding other than UTF-8 (where those declarations could hide) is refused; Word writes neither;
- PDF: the `%PDF-` header must be present (binary garbage renamed .pdf).

>>> check_pdf_header(b"%PDF-1.7 ...")
>>> check_pdf_header(b"\\x89PNG")  # doctest: +ELLIPSIS
Traceback (most recent call last):
lab.errors.InputError: not a valid PDF: it has no %PDF- header (is it another kind of file renamed .pdf?)...
"""

from __future__ import annotations

import io
import re
import zipfile

from lab.errors import InputError

MAX_INFLATED_MB = 512  # all members together, as the zip directory states them
MAX_RATIO = 100  # for members above RATIO_FLOOR_MB; genuine XML compresses ~5-20:1, zeros ~1000:1
RATIO_FLOOR_MB = 8
MAX_MEMBERS = 10_000
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
_NON_UTF8_STARTS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00", b"<\x00", b"\x00<", b"\x4c\x6f\xa7\x94")  # UTF-16/32, EBCDIC
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def check_pdf_header(data: bytes) -> None:
    if b"%PDF-" not in data[:1024]:
        raise InputError("not a valid PDF: it has no %PDF- header (is it another kind of file renamed .pdf?); "
                         "export it as PDF again.")


def check_zip(data: bytes) -> zipfile.ZipFile:
    """Open a zip archive whose directory passes the bomb checks (the members are not read)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputError(f"not a valid zip archive ({exc}); save the document again.") from exc
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise InputError(f"the archive has {len(members):,} members (more than {MAX_MEMBERS:,}); refused as a "
                         "possible zip bomb.")
    total = 0
    for member in members:
        total += member.file_size
        if _impossible_sizes(member):
            raise InputError(f"the zip directory misstates the size of {member.filename!r} "
                             f"({member.compress_size:,} bytes compressed, {member.file_size:,} stated); refused "
                             "as a possible zip bomb. Save the document again.")
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR_MB * 2**20 and ratio > MAX_RATIO:
            raise InputError(f"{member.filename!r} would inflate {ratio:,.0f}-fold to {member.file_size / 2**20:,.0f} "
                             f"MB (over {MAX_RATIO}:1); refused as a possible zip bomb.")
    if total > MAX_INFLATED_MB * 2**20:
        raise InputError(f"the archive would inflate to {total / 2**20:,.0f} MB (over {MAX_INFLATED_MB} MB); "
                         "refused as a possible zip bomb. Split the document or remove large embedded files.")
    return archive


def _impossible_sizes(member: zipfile.ZipInfo) -> bool:
    if member.compress_type == zipfile.ZIP_STORED:
        return member.compress_size != member.file_size and not member.flag_bits & 0x1  # encrypted adds a header
    return member.compress_size > member.file_size + member.file_size // 500 + 1024


def check_xml_members(archive: zipfile.ZipFile) -> None:
    """Refuse DTD/entity declarations and non-UTF-8 XML in any member (read in bounded pieces)."""
    for member in archive.infolist():
        with archive.open(member) as handle:
            head = handle.read(4096)
            if head.startswith(_NON_UTF8_STARTS) or _declares_other_encoding(head):
                raise InputError(f"{member.filename!r} is XML in an encoding other than UTF-8; the lab reads "
                                 "UTF-8 documents only (as Word writes them). Save the document again.")
            tail = b""
            piece = head
            while piece:
                window = tail + piece
                for declaration in _DECLARATIONS:
                    if declaration in window:
                        raise InputError(f"{member.filename!r} declares a document type or entities "
                                         f"({declaration.decode()}); refused because entity expansion can blow "
                                         "up (a 'billion laughs' file). Word never writes these: save it again.")
                tail = window[-16:]
                piece = handle.read(1 << 16)


def _declares_other_encoding(head: bytes) -> bool:
    match = _ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    return bool(match) and match.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii")


def check_docx(data: bytes) -> None:
    check_xml_members(check_zip(data))
