"""Property-based tests of the parsers: which inputs parse (and keep their text) and which are refused, and why.

`parse` turns a parser library's own exception into an InputError, so "a Document or an InputError" alone
could never fail. These tests say which it must be:

- a valid document of each format, generated, parses and gives back its text, headings, pages and rows;
- each kind of malformed file is refused with a message that names the file and says what is wrong (and, where
  there is something to do, what to do);
- arbitrary or damaged bytes give a Document or an InputError and nothing else, and where the bytes are a
  well-formed file of their type (any text that is not blank, for .txt and .md) a refusal is a failure, while
  bytes that cannot be their type (no %PDF- header, not a zip) are refused by the check that says so.

Examples are bounded (max_examples, a per-example deadline) so the file runs in seconds; a parser that hangs
on some input fails the deadline instead of stalling the suite. Fuzz longer with LAB_FUZZ_EXAMPLES=2000.
"""

import csv
import html
import io
import os
import re
import string
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from lab.errors import InputError
from lab.corpus.parsing import SUPPORTED, Document, parse

BOUNDED = settings(max_examples=int(os.environ.get("LAB_FUZZ_EXAMPLES", 60)), deadline=3000,
                   suppress_health_check=[HealthCheck.too_slow])
GENERATED = settings(BOUNDED, max_examples=max(1, BOUNDED.max_examples // 2))  # whole documents per example
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
# words for generated documents: letters, digits, punctuation and symbols (so <, & and quotes need escaping),
# never '#' (a Markdown heading marker) and never whitespace (a word is what str.split() gives back)
WORD = st.text(alphabet=st.characters(whitelist_categories=("L", "N", "P", "S"), blacklist_characters="#"),
               min_size=1, max_size=10)
LINE = st.lists(WORD, min_size=1, max_size=8).map(" ".join)
ASCII_WORD = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=10)  # PDF core fonts
CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
NAME = st.text(alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters="_ -"), min_size=1,
               max_size=12).filter(lambda s: s.strip() == s)


def parse_bytes(name: str, data: bytes) -> Document:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return parse(path)


def refusal(name: str, data: bytes) -> str:
    """The reason `parse` gives for refusing the file (it must refuse it, naming the file)."""
    with pytest.raises(InputError) as info:
        parse_bytes(name, data)
    message = str(info.value)
    assert message.startswith(f"{name}: "), message
    return message


def document_or_input_error(name: str, data: bytes) -> Document | InputError:
    """Parse arbitrary bytes: a Document with text in every section, or an InputError naming the file. Any other
    exception propagates and fails the test."""
    try:
        doc = parse_bytes(name, data)
    except InputError as exc:
        assert str(exc).startswith(f"{name}: "), exc
        return exc
    assert isinstance(doc, Document) and doc.source == name
    assert doc.sections and all(s.text.strip() for s in doc.sections)
    return doc


def decoded(data: bytes) -> str | None:
    """What a text file's bytes say (by byte-order mark, UTF-8, UTF-16 or Windows-1252: lab.corpus.files), or None
    when they are binary (NUL bytes, many control characters) and must be refused."""
    from lab.corpus.files import decode_text

    try:
        return decode_text(data)
    except InputError:
        return None


# --- valid documents parse and keep their text --------------------------------------------------------------


@BOUNDED
@given(TEXT, st.sampled_from([".txt", ".md"]))
def test_text_and_markdown_keep_every_word(text, suffix):
    assume(not text.startswith("\ufeff"))  # a leading byte-order mark is dropped on purpose
    if not text.encode("utf-8").strip() or not text.split():  # nothing but whitespace: refused with a reason
        assert re.search("the file is empty|no text could be extracted|binary content",
                         refusal("notes" + suffix, text.encode()))
    elif decoded(text.encode("utf-8")) is None:  # NULs or many control characters: binary, refused
        assert "binary content" in refusal("notes" + suffix, text.encode())
    else:
        assert parse_bytes("notes" + suffix, text.encode("utf-8")).text.split() == text.split()


MARKDOWN_BLOCKS = st.tuples(st.lists(LINE, max_size=2),  # paragraphs before the first heading
                            st.lists(st.tuples(st.integers(1, 6), LINE, st.lists(LINE, max_size=3)), max_size=4))


@GENERATED
@given(MARKDOWN_BLOCKS)
def test_markdown_sections_follow_the_headings(blocks):
    intro, headed = blocks
    assume(intro or headed)
    sections = ([("", "\n\n".join(intro))] if intro else []) + [
        (heading, "\n\n".join([f"{'#' * level} {heading}", *paragraphs])) for level, heading, paragraphs in headed]
    doc = parse_bytes("guide.md", ("\n\n".join(text for _, text in sections) + "\n").encode("utf-8"))
    assert [(s.heading, s.text) for s in doc.sections] == sections


@BOUNDED
@given(st.lists(NAME, min_size=1, max_size=5, unique=True).flatmap(
    lambda header: st.tuples(st.just(header), st.lists(st.lists(CELL, min_size=len(header), max_size=len(header)),
                                                       min_size=1, max_size=8))))
def test_csv_rows_keep_their_field_names(table):
    header, rows = table
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    expected = [[f"{h}: {v.strip()}" for h, v in zip(header, row) if v.strip()] for row in rows]
    expected = [(f"row {number}", "; ".join(fields)) for number, fields in enumerate(expected, 1) if fields]
    if not expected:  # every cell blank: nothing to index
        assert "no text could be extracted" in refusal("table.csv", out.getvalue().encode("utf-8"))
        return
    doc = parse_bytes("table.csv", out.getvalue().encode("utf-8"))
    assert [(s.heading, s.text) for s in doc.sections] == expected
    assert all(s.atomic for s in doc.sections)


HTML_PAGES = st.tuples(st.text(alphabet=string.ascii_letters + " ", min_size=1, max_size=20).map(str.strip),
                       st.lists(LINE, max_size=2),
                       st.lists(st.tuples(LINE, st.lists(LINE, max_size=3), st.lists(LINE, max_size=2)), max_size=4))


@GENERATED
@given(HTML_PAGES)
def test_html_sections_follow_the_headings_and_unescape_the_text(page):
    title, intro, headed = page
    assume(intro or headed)
    e = html.escape
    body = "".join(f"<p>{e(p)}</p>" for p in intro) + "".join(
        f"<h2>{e(h)}</h2>" + "".join(f"<p>{e(p)}</p>" for p in paragraphs) +
        (f"<ul>{''.join(f'<li>{e(i)}</li>' for i in items)}</ul>" if items else "")
        for h, paragraphs, items in headed)
    document = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(title)}</title>'
                f"<script>var hidden = 1;</script></head><body><nav>Home</nav><main>{body}</main></body></html>")
    doc = parse_bytes("page.html", document.encode("utf-8"))
    expected = ([(title, "\n".join(intro))] if intro else []) + [
        (h, "\n".join([h, *paragraphs, *(f"- {i}" for i in items)])) for h, paragraphs, items in headed]
    assert [(s.heading, s.text) for s in doc.sections] == expected


def pdf_bytes(pages: list[str], **encryption) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if encryption:
        pdf.set_encryption(**encryption)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


@GENERATED
@given(st.lists(st.lists(ASCII_WORD, min_size=1, max_size=40).map(" ".join), min_size=1, max_size=4))
@example(["0"])  # a page holding only a number is text, not a page number (furniture removal took it)
@example(["mix", "civil", "lid"])  # words that look like roman numerals
@example(["0", "0", "0 0 0 0 0 AM CC 000 000A 0000G 0000000 000000CW 000000000M 00000000AU 000000AGGM 0"])  # a lone
# number at the edge of every page, not in step with the pages (the last line's "0" was taken for a footer)
@example(["0", "0AU 0GG 0AG 0 0GG 0A 0 0 0 0 0 0",
          "0000AU 000GG 000AG 0000000000 000GG 0A 000 000000000 0 00 000000 0000000 0000000000"])  # two pages whose
# edge lines are the same digits aside and end in a number, but hold no word: not a running head with its page
def test_pdf_pages_keep_their_words_and_numbers(pages):
    long = [page for page in pages if len(page) > 60]  # more than a line: its first and last lines are edges
    assume(len(set(long)) == len(long))  # the same long page twice is what a page under a running head looks like
    doc = parse_bytes("manual.pdf", pdf_bytes(pages))
    assert [s.page for s in doc.sections] == list(range(1, len(pages) + 1))
    assert [s.text.split() for s in doc.sections] == [page.split() for page in pages]


def docx_bytes(intro: list[str], headed: list[tuple[str, list[str]]], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for paragraph in intro:
        document.add_paragraph(paragraph)
    for heading, paragraphs in headed:
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    if table:
        cells = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                cells.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@settings(GENERATED, max_examples=max(1, BOUNDED.max_examples // 4))  # python-docx builds a file in ~50 ms
@given(st.lists(LINE, max_size=2), st.lists(st.tuples(LINE, st.lists(LINE, max_size=3)), max_size=3),
       st.one_of(st.none(), st.integers(1, 3).flatmap(
           lambda cols: st.lists(st.lists(WORD, min_size=cols, max_size=cols), min_size=1, max_size=3))))
def test_docx_sections_follow_the_headings_and_keep_tables(intro, headed, table):
    assume(intro or headed or table)
    doc = parse_bytes("handbook.docx", docx_bytes(intro, headed, table))
    expected = ([("", list(intro))] if intro else []) + [(h, [h, *paragraphs]) for h, paragraphs in headed]
    if table:  # the table comes last: its rows join the last section (or make one of their own)
        expected = expected or [("", [])]
        expected[-1][1].extend(" | ".join(row) for row in table)
    assert [(s.heading, s.text) for s in doc.sections] == [(h, "\n".join(lines)) for h, lines in expected]


# --- malformed files are refused, with the file's name and what to do ---------------------------------------


def _docx_with(member: str, transform) -> bytes:
    """A valid DOCX with one member's XML rewritten (the zip stays valid)."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes(["Snapshots are kept 45 days."], [])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, transform(data) if info.filename == member else data)
    return out.getvalue()


def _with_doctype(xml: bytes) -> bytes:
    declaration, rest = xml.split(b"?>", 1)
    return declaration + b'?><!DOCTYPE w:document [<!ENTITY lol "lol">]>' + rest


MALFORMED = {
    "notes.xyz": (b"hello", r"unsupported file type; use one of \.csv, \.docx"),
    "blank.md": (b" \n\t\r\n", r"the file is empty\."),
    "scan.pdf": (b"\x89PNG\r\n\x1a\n" + bytes(200), r"no %PDF- header .*export it as PDF again\."),
    "truncated.pdf": (b"%PDF-1.7\n1 0 obj", r"could not be read as pdf"),
    "locked.pdf": (pdf_bytes(["secret"], owner_password="o", user_password="u"),
                   r"the PDF is encrypted; save an unencrypted copy and upload that\."),
    "image-only.pdf": (pdf_bytes([""]), r"no text could be extracted \(is it a scanned image"),
    "renamed.docx": (b"PK\x03\x04 not really a zip", r"not a valid zip archive .*save the document again\."),
    "entities.docx": (_docx_with("word/document.xml", _with_doctype),
                      r"declares a document type or entities \(<!DOCTYPE\).*save it again\."),
    "utf16.docx": (_docx_with("word/document.xml", lambda xml: xml.decode("utf-8").encode("utf-16")),
                   r"XML in an encoding other than UTF-8.*Save the document again\."),
    "header-only.csv": (b"code,message\n", r"the CSV has a header but no rows\."),
    "blank-cells.csv": (b"code,message\n,\n , \n", r"no text could be extracted"),
    "nothing-visible.html": (b"<html><head><script>alert(1)</script></head><body><nav>Home</nav></body></html>",
                             r"no text could be extracted"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_each_kind_of_malformed_file_is_refused_with_its_reason(name):
    data, reason = MALFORMED[name]
    message = refusal(name, data)
    assert re.search(reason, message), message


@pytest.mark.parametrize("suffix", sorted(SUPPORTED))
def test_every_format_refuses_an_empty_or_blank_file_with_a_reason(suffix):
    for data in (b"", b"  \n\t \r\n"):
        assert refusal("x" + suffix, data) == f"x{suffix}: the file is empty."


# --- arbitrary and damaged bytes: a Document or an InputError, and the right one ----------------------------


@BOUNDED
@given(st.binary(max_size=3000), st.sampled_from(sorted(SUPPORTED)))
@example(b"%PDF-1.7\n", ".pdf")
@example(b"PK\x03\x04", ".docx")
@example(b"a,b\n\x00,\xff\n", ".csv")
@example(b"\xef\xbb\xbfplain \xe2\x80\x94 text", ".txt")
@example(b"caf\xe9 \x85 \xa0 # not utf-8", ".md")
def test_any_bytes_give_a_document_or_an_input_error(data, suffix):
    name = "file" + suffix
    outcome = document_or_input_error(name, data)
    kind = SUPPORTED[suffix]
    if not data.strip():  # checked before the type
        assert str(outcome) == f"{name}: the file is empty.", outcome
    elif kind in ("text", "markdown"):  # text unless binary: refused when binary or when there is nothing to read
        if decoded(data) is None:
            assert "binary content" in str(outcome), outcome
            return
        words = decoded(data).split()
        if words:
            assert isinstance(outcome, Document), f"a text file was refused: {outcome}"
            assert outcome.text.split() == words
        else:  # only whitespace once decoded (a Latin-1 NEL or no-break space)
            assert "no text could be extracted" in str(outcome), outcome
    elif kind == "pdf" and b"%PDF-" not in data[:1024]:
        assert isinstance(outcome, InputError) and "no %PDF- header" in str(outcome), outcome
    elif kind == "docx" and not zipfile.is_zipfile(io.BytesIO(data)):
        assert isinstance(outcome, InputError) and "not a valid zip archive" in str(outcome), outcome
    elif kind == "html" and isinstance(outcome, InputError):  # the HTML parser reads anything: only blank pages
        assert re.search("no text could be extracted|binary content", str(outcome)), outcome


VALID = {".pdf": pdf_bytes(["First page says alpha.", "Second page says beta."]),
         ".docx": docx_bytes([], [("Backups", ["Snapshots are kept 45 days."])], [["key", "default"], ["days", "45"]]),
         ".html": b"<html><body><h1>T</h1><p>Team costs <b>$14</b>.</p><table><tr><td>a</td></tr></table></body>"}
VALID_TEXT = {".pdf": "First page says alpha.\n\nSecond page says beta.",
              ".docx": "Backups\nSnapshots are kept 45 days.\nkey | default\ndays | 45",
              ".html": "T\nTeam costs $14 .\na"}


@pytest.mark.parametrize("suffix", sorted(VALID))
def test_the_undamaged_files_parse(suffix):
    assert parse_bytes("intact" + suffix, VALID[suffix]).text == VALID_TEXT[suffix]


@BOUNDED
@given(st.sampled_from(sorted(VALID)), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                                                min_size=1, max_size=8), st.floats(0.05, 1))
def test_damaged_real_files_give_a_document_or_an_input_error(suffix, flips, keep):
    """Valid PDF/DOCX/HTML files with bytes flipped and the tail cut off: deeper parser paths than random bytes."""
    data = bytearray(VALID[suffix])
    for where, value in flips:
        data[int(where * len(data))] = value
    damaged = bytes(data[: max(1, int(len(data) * keep))])
    outcome = document_or_input_error("damaged" + suffix, damaged)
    if suffix == ".html" and isinstance(outcome, InputError):  # damage can hide the text, never break the parser
        assert re.search("no text could be extracted|the file is empty|binary content", str(outcome)), outcome
    if suffix == ".pdf" and b"%PDF-" not in damaged[:1024]:
        assert isinstance(outcome, InputError) and "no %PDF- header" in str(outcome), outcome
