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


PARSER_VERSION = 2  # 2: PDF page furniture removed, PDF headings from the outline, document titles


@dataclass
class Document:
    source: str  # file name as ingested (basename); golden sets cite it
    sha256: str
    sections: list[Section] = field(default_factory=list)
    title: str = ""  # PDF/DOCX metadata title, HTML <title>, or the first top-level Markdown heading

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
          max_chars: int | None = None, same_place: bool = False) -> Document:
    """Parse one file; `name` overrides the source name (uploads are stored under hashed names). The file must be
    a regular file (no link, fifo or device: `lab.corpus.files.read_regular`) of at most `max_bytes`, and its
    text at most `max_chars` characters."""
    path = Path(path)
    name = name or path.name
    try:
        data = read_regular(path, max_bytes, same_place)
    except InputError as exc:
        raise InputError(f"{name}: {str(exc).split(': ', 1)[-1]}") from exc
    kind = kind_of(name, data)
    if kind is None:
        raise InputError(f"{name}: unsupported file type; use one of {', '.join(sorted(SUPPORTED))}, or plain "
                         "text without an extension.")
    if not data.strip():
        raise InputError(f"{name}: the file is empty.")
    parser = {"markdown": _markdown, "text": _text, "html": _html, "pdf": _pdf, "docx": _docx, "csv": _csv}[kind]
    title = ""
    try:
        sections = parser(data)
        if isinstance(sections, tuple):  # parsers that know the document's title return it too
            sections, title = sections
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
    if not title and kind in ("markdown", "html", "docx") and sections[0].heading:
        title = sections[0].heading
    return Document(source=name, sha256=hashlib.sha256(data).hexdigest(), sections=sections,
                    title=" ".join(title.split())[:200])


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


def _pdf(data: bytes) -> tuple[list[Section], str]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    check_pdf_header(data)
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise InputError("the PDF is encrypted; save an unencrypted copy and upload that.")
    try:
        pages = [(page.extract_text() or "").splitlines() for page in reader.pages]
    except LimitReachedError as exc:
        raise InputError(f"it goes past one of pypdf's safety limits ({exc}); refused as a possible decompression "
                         "bomb.") from exc
    title = _pdf_title(reader) or running_head(pages)
    pages = strip_furniture(pages)
    headings = _pdf_outline(reader)
    sections, heading = [], ""
    for number, lines in enumerate(pages, 1):
        starts = headings.get(number, [])
        current, parts = heading, []
        for line in lines:
            key = _squeeze(line)
            match = next((h for h in starts if key and _squeeze(h) == key), None)
            if match is not None:  # the outline's heading, where it is printed on this page
                if "".join(parts).strip():
                    sections.append(Section("\n".join(parts).strip(), current, number))
                current, parts = match, []
                starts = [h for h in starts if h is not match]
            parts.append(line)
        if "".join(parts).strip():
            sections.append(Section("\n".join(parts).strip(), current, number))
        heading = starts[-1] if starts else current  # an outline entry not found in the text still starts here
    return sections, title


def _squeeze(text: str) -> str:
    """A heading as compared with a printed line: no section number, no punctuation or spaces, lower case."""
    return re.sub(r"\W+", "", re.sub(r"^\s*(?:\d+|[A-Z])(?:\.\d+)*\.?\s+", "", text)).lower()


def _pdf_outline(reader) -> dict[int, list[str]]:
    """page number (from 1) -> the outline's (bookmarks') titles that start on it, in order; {} without an
    outline or when it cannot be read (a damaged outline is not a reason to refuse the text)."""
    found: dict[int, list[str]] = {}

    def walk(items, depth=0):
        if depth > 8:
            return
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if title and page is not None and page >= 0:
                found.setdefault(page + 1, []).append(title[:200])

    try:
        walk(reader.outline)
    except Exception:
        return {}
    return found


def _pdf_title(reader) -> str:
    try:
        title = str((reader.metadata or {}).get("/Title") or "")
    except Exception:
        return ""
    title = " ".join(title.split())
    return "" if re.fullmatch(r"(untitled|microsoft word.*|.*\.(docx?|pdf|tex|dvi))?", title, re.I) else title


def running_head(pages: list[list[str]]) -> str:
    """The line printed at the top of most pages, without digits (a manual's title as its running head), or "".

    >>> running_head([["Shared MIME-info Database", "Text.", str(n)] for n in range(1, 5)])
    'Shared MIME-info Database'
    """
    tops = [lines[0].strip() for lines in pages if lines and lines[0].strip()]
    best = max(set(tops), key=tops.count) if tops else ""
    ok = len(pages) >= 3 and tops.count(best) >= len(pages) / 2 and not re.search(r"\d", best) and len(best) <= 120
    return best if ok else ""


_PAGE_NUMBER = re.compile(r"(?i)^(?:page\s*)?(\d{1,4}|[ivxlc]{1,8})(?:\s*(?:of|/)\s*\d{1,4})?$")
_EDGE = 2  # lines at the top and at the bottom of a page where running heads, footers and page numbers sit
_PAGED = 3  # pages that must carry numbers in step with their position before lone numbers count as page numbers


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((100, "c"), (90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"),
                           (1, "i")):
        while n >= value:
            out, n = out + letters, n - value
    return out


_ROMANS = {_roman(n): n for n in range(1, 400)}  # well-formed numerals only: "mix" and "lid" are not here


def page_number(line: str) -> int | None:
    """The number a page-number line shows ("7", "Page 7 of 20", "vii"), None for any other line: page_number("mix")
    and page_number("lid") are None (not well-formed numerals), page_number("xiv") is 14."""
    found = _PAGE_NUMBER.match(" ".join(line.split()))
    if not found:
        return None
    token = found.group(1).lower()
    return int(token) if token.isdigit() else _ROMANS.get(token)


def strip_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Drop page furniture, in documents of 3+ pages: a lone page number at a page's top or bottom when at least
    three pages carry numbers in step with their position (arabic or roman, so "12" ending one page's text is
    kept), and a line that recurs (digits aside) at the top or bottom of at least half the pages (running heads,
    footers; it must hold a word: a lone number, or a line of numbers, that recurs out of step with the pages is
    text). A page is never emptied: one whose only lines are furniture keeps them.

    >>> pages = [["Shared MIME-info Database", body, str(n)] for n, body in enumerate(["A.", "B b.", "C.", "D."], 1)]
    >>> strip_furniture(pages)[1]
    ['B b.']
    >>> heads = ["2 ASN.1 structure handling", "3 Utilities", "4 Function reference"]
    >>> strip_furniture([[str(n), head, f"Text {head}."] for n, head in zip((7, 8, 9), heads)])[0]
    ['2 ASN.1 structure handling', 'Text 2 ASN.1 structure handling.']
    >>> strip_furniture([["Intro", "mix"], ["x"], ["A page.", "iii"]])
    [['Intro', 'mix'], ['x'], ['A page.', 'iii']]
    >>> strip_furniture([["0"], ["0"], ["A table:", "0"]])[2]
    ['A table:', '0']
    >>> strip_furniture([["Totals", "4 12"], ["Sums", "7 3"], ["Means", "2 5"]])[1]
    ['Sums', '7 3']
    """
    def norm(line: str) -> str:
        return re.sub(r"\d+", "#", " ".join(line.split())).lower()

    counts: dict[str, int] = {}
    in_step: dict[int, int] = {}  # the number shown minus the page's position -> pages showing it
    if len(pages) >= 3:
        for index, lines in enumerate(pages):
            edges = {norm(line) for line in lines[:_EDGE] + lines[-_EDGE:] if line.strip()}
            for key in edges:
                counts[key] = counts.get(key, 0) + 1
            shown = {n - index for line in lines[:_EDGE] + lines[-_EDGE:] if (n := page_number(line)) is not None}
            for offset in shown:
                in_step[offset] = in_step.get(offset, 0) + 1
    offsets = {offset for offset, n in in_step.items() if n >= _PAGED}
    numbered = re.compile(r"^#\W|\W#$")  # "Chapter 2: ASN.1 structure handling 3": a running head with its page
    recurring = {key for key, n in counts.items() if (n >= max(3, len(pages) / 2) or (n >= 2 and numbered.search(key)))
                 and re.search(r"[a-z]{3}", key)}  # words: a lone number goes only when in step (above), and lines of
    # numbers ("12 7", "# #" digits aside) are a table's, not a running head
    out = []
    for index, lines in enumerate(pages):
        keep = list(lines)
        for edge in (range(min(_EDGE, len(keep))), range(len(keep) - 1, max(len(keep) - 1 - _EDGE, -1), -1)):
            for i in edge:
                text = " ".join(keep[i].split())
                number = page_number(text)
                if text and ((number is not None and number - index in offsets) or norm(text) in recurring):
                    keep[i] = ""
        if not any(line.strip() for line in keep):
            keep = list(lines)
        out.append([line for line in keep if line.strip()] if any(not line for line in keep) else keep)
    return out


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
