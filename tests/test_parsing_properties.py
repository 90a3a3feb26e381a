"""Property-based tests of the parsers: any bytes give a Document or an InputError, never another exception.

Examples are bounded (max_examples, a per-example deadline) so the file runs in seconds; a parser that hangs
on some input fails the deadline instead of stalling the suite. Fuzz longer with LAB_FUZZ_EXAMPLES=2000.
"""

import csv
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from lab.errors import InputError
from lab.corpus.parsing import SUPPORTED, Document, parse

BOUNDED = settings(max_examples=int(os.environ.get("LAB_FUZZ_EXAMPLES", 60)), deadline=3000,
                   suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)


def parse_bytes(name: str, data: bytes) -> Document:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return parse(path)


def document_or_input_error(name: str, data: bytes) -> Document | None:
    try:
        doc = parse_bytes(name, data)
    except InputError as exc:
        assert str(exc).startswith(f"{name}: "), exc  # every reason names its file
        return None
    assert isinstance(doc, Document) and doc.sections and all(s.text.strip() for s in doc.sections)
    return doc


@BOUNDED
@given(st.binary(max_size=3000), st.sampled_from(sorted(SUPPORTED)))
@example(b"%PDF-1.7\n", ".pdf")
@example(b"PK\x03\x04", ".docx")
@example(b"a,b\n\x00,\xff\n", ".csv")
def test_any_bytes_give_a_document_or_an_input_error(data, suffix):
    document_or_input_error("file" + suffix, data)


def _valid_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in ("First page says alpha.", "Second page says beta."):
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def _valid_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Backups", level=1)
    document.add_paragraph("Snapshots are kept 45 days.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


VALID = {".pdf": _valid_pdf(), ".docx": _valid_docx(),
         ".html": b"<html><body><h1>T</h1><p>Team costs <b>$14</b>.</p><table><tr><td>a</td></tr></table></body>"}


@BOUNDED
@given(st.sampled_from(sorted(VALID)), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                                                max_size=8), st.floats(0.05, 1))
def test_damaged_real_files_give_a_document_or_an_input_error(suffix, flips, keep):
    """Valid PDF/DOCX/HTML files with bytes flipped and the tail cut off: deeper parser paths than random bytes."""
    data = bytearray(VALID[suffix])
    for where, value in flips:
        data[int(where * len(data))] = value
    document_or_input_error("damaged" + suffix, bytes(data[: max(1, int(len(data) * keep))]))


@BOUNDED
@given(TEXT, st.sampled_from([".txt", ".md"]))
def test_text_and_markdown_keep_every_word(text, suffix):
    assume(not text.startswith("\ufeff"))  # a leading byte-order mark is dropped on purpose
    doc = document_or_input_error("notes" + suffix, text.encode("utf-8"))
    if text.split():
        assert doc is not None and doc.text.split() == text.split()
    else:
        assert doc is None  # nothing but whitespace: refused with a reason


CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
NAME = st.text(alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters="_ -"), min_size=1,
               max_size=12).filter(lambda s: s.strip() == s)


@BOUNDED
@given(st.lists(NAME, min_size=1, max_size=5, unique=True).flatmap(
    lambda header: st.tuples(st.just(header), st.lists(st.lists(CELL, min_size=len(header), max_size=len(header)),
                                                       min_size=1, max_size=8))))
def test_csv_rows_keep_their_field_names(table):
    header, rows = table
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    doc = document_or_input_error("table.csv", out.getvalue().encode("utf-8"))
    expected = [[f"{h}: {v.strip()}" for h, v in zip(header, row) if v.strip()] for row in rows]
    expected = [fields for fields in expected if fields]
    if not expected:
        assert doc is None
        return
    assert doc is not None and [s.text for s in doc.sections] == ["; ".join(fields) for fields in expected]
    assert all(s.atomic for s in doc.sections)


@pytest.mark.parametrize("suffix", sorted(SUPPORTED))
def test_every_format_refuses_an_empty_file_with_a_reason(suffix):
    with pytest.raises(InputError, match="empty"):
        parse_bytes("x" + suffix, b"")
