"""Turn files into text sections: one concern, one function per format.

`parse(path)` returns a `Document` whose sections keep what a citation needs (page for PDFs,
heading for Markdown/HTML/DOCX, row for CSV). Unsupported or unreadable files raise InputError
with the reason, so a batch can skip them and go on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from lab.corpus.files import decode_text, read_regular
from lab.corpus.untrusted import check_docx, check_pdf_header
from lab.errors import InputError

SUPPORTED = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html",
             ".pdf": "pdf", ".docx": "docx", ".csv": "csv"}


@dataclass(frozen=True)
class Section:
    text: str
    heading: str = ""
    page: int | None = None
    atomic: bool = False  # a record (CSV row) that the chunker never merges with its neighbours


@dataclass
class Document:
    source: str  # file name as ingested (basename); golden sets cite it
    sha256: str
    sections: list[Section] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)


def kind_of(name: str, head: bytes) -> str | None:
    """The parser for a file named `name` whose first bytes are `head`: by its extension; a file without one (or
    with a version number where one would be: `GPL-3`, `Apache-2.0`, as licence texts and READMEs often are) is
    plain text when it reads as UTF-8 text; None otherwise (any other extension, binary content).

    >>> kind_of("GPL-3", b"GNU GENERAL PUBLIC LICENSE"), kind_of("logo.png", b"x"), kind_of("a.md", b"")
    ('text', None, 'markdown')
    """
    suffix = Path(name).suffix.lower()
    if suffix in SUPPORTED or not (suffix == "" or suffix[1:].isdigit()):  # .png stays unsupported; GPL-3 is read
        return SUPPORTED.get(suffix)
    head = head[:8192]
    if not head.strip() or b"\0" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < 8192 or exc.start < len(head) - 4:  # not just a character cut at the 8 KiB boundary
            return None
    return "text"


def file_kind(path: Path, name: str | None = None) -> str | None:
    """`kind_of` a file on disk (its first 8 KiB are read only when its name has no extension). Call it on files
    that passed `lab.corpus.files`' checks: regular, inside the folder the user named."""
    name = name or Path(path).name
    suffix = Path(name).suffix.lower()
    if suffix in SUPPORTED or not (suffix == "" or suffix[1:].isdigit()):
        return SUPPORTED.get(suffix)
    try:
        with open(path, "rb") as f:
            return kind_of(name, f.read(8192))
    except OSError:
        return None


def parse(path: Path, name: str | None = None, max_bytes: int | None = None,
          max_chars: int | None = None) -> Document:
    """Parse one file; `name` overrides the source name (uploads are stored under hashed names). The file must be
    a regular file (no link, fifo or device: `lab.corpus.files.read_regular`) of at most `max_bytes`, and its
    text at most `max_chars` characters."""
    path = Path(path)
    name = name or path.name
    try:
        data = read_regular(path, max_bytes)
    except InputError as exc:
        raise InputError(f"{name}: {str(exc).split(': ', 1)[-1]}") from exc
    kind = kind_of(name, data)
    if kind is None:
        raise InputError(f"{name}: unsupported file type; use one of {', '.join(sorted(SUPPORTED))}, or plain "
                         "text without an extension.")
    if not data.strip():
        raise InputError(f"{name}: the file is empty.")
    parser = {"markdown": _markdown, "text": _text, "html": _html, "pdf": _pdf, "docx": _docx, "csv": _csv}[kind]
    try:
        sections = parser(data)
    except InputError as exc:
        raise InputError(f"{name}: could not be read as {kind}: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{name}: could not be read as {kind}: it is nested too deeply or refers to itself "
                         "(a reference loop).") from exc
    except Exception as exc:  # a parser library's own error: report it as this file's reason
        raise InputError(f"{name}: could not be read as {kind} ({type(exc).__name__}: {exc}).") from exc
    sections = [s for s in sections if s.text.strip()]
    chars = sum(len(s.text) for s in sections)
    if max_chars is not None and chars > max_chars:
        raise InputError(f"{name}: {chars:,} characters of text would make more chunks than the limit per file "
                         "(LAB_MAX_CHUNKS_PER_FILE); split the file or raise the limit.")
    if not sections:
        raise InputError(f"{name}: no text could be extracted (is it a scanned image or an empty table?).")
    return Document(source=name, sha256=hashlib.sha256(data).hexdigest(), sections=sections)


def _decode(data: bytes) -> str:
    return decode_text(data)


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _markdown(data: bytes) -> list[Section]:
    sections, heading, lines = [], "", []
    for line in _decode(data).splitlines():
        match = _MD_HEADING.match(line)
        if match:
            if "".join(lines).strip():
                sections.append(Section("\n".join(lines).strip(), heading))
            heading, lines = match.group(2), [line]
        else:
            lines.append(line)
    if "".join(lines).strip():
        sections.append(Section("\n".join(lines).strip(), heading))
    return sections


def _text(data: bytes) -> list[Section]:
    return [Section(_decode(data).strip())]


_DROP_TAGS = ["script", "style", "svg", "noscript", "iframe", "nav", "footer", "template", "form", "button"]


def _html(data: bytes) -> list[Section]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data), "lxml")
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    sections, heading, parts = [], (soup.title.get_text(strip=True) if soup.title else ""), []
    for node in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "pre", "tr", "dt", "dd", "blockquote"]):
        if node.find_parent(["p", "li", "pre", "tr", "dd", "blockquote"]) is not None:
            continue  # counted with its block-level parent
        if node.name in ("h1", "h2", "h3", "h4"):
            if parts:
                sections.append(Section("\n".join(parts), heading))
            heading = node.get_text(" ", strip=True)
            parts = [heading]
            continue
        if node.name == "tr":
            text = " | ".join(c.get_text(" ", strip=True) for c in node.find_all(["th", "td"]))
        else:
            text = node.get_text(" ", strip=True)
        if text:
            parts.append(("- " if node.name == "li" else "") + text)
    if parts:
        sections.append(Section("\n".join(parts), heading))
    return sections


def _pdf(data: bytes) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    check_pdf_header(data)
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise InputError("the PDF is encrypted; save an unencrypted copy and upload that.")
    try:
        return [Section((page.extract_text() or "").strip(), page=i) for i, page in enumerate(reader.pages, 1)]
    except LimitReachedError as exc:
        raise InputError(f"it goes past one of pypdf's safety limits ({exc}); refused as a possible decompression "
                         "bomb.") from exc


def _docx(data: bytes) -> list[Section]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_docx(data)  # zip bomb and entity-expansion checks before python-docx inflates anything
    document = docx.Document(io.BytesIO(data))
    sections, heading, parts = [], "", []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "") or ""
            if style.startswith(("Heading", "Title")) and text:
                if parts:
                    sections.append(Section("\n".join(parts), heading))
                heading, parts = text, [text]
            elif text:
                parts.append(("- " if "List" in style else "") + text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells]
                parts.append(" | ".join(cells))
    if parts:
        sections.append(Section("\n".join(parts), heading))
    return sections


def _csv(data: bytes) -> list[Section]:
    text = _decode(data)
    try:  # only the delimiter is sniffed: the sniffer's guesses about quoting garble cells that hold quotes
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if len(rows) < 2:
        raise InputError("the CSV has a header but no rows.")
    header = [h.strip() or f"column_{i + 1}" for i, h in enumerate(rows[0])]
    sections = []
    for number, row in enumerate(rows[1:], 1):
        fields = [f"{h}: {v.strip()}" for h, v in zip(header, row) if v.strip()]
        if fields:
            sections.append(Section("; ".join(fields), heading=f"row {number}", atomic=True))
    return sections
