"""Tests for sample_corpus/build_binaries.py (PDF and DOCX rendering of the sample corpus)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILDER = REPO / "sample_corpus" / "build_binaries.py"
SOURCES = REPO / "sample_corpus" / "sources"
DOCS = REPO / "sample_corpus" / "docs"


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_binaries", BUILDER)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_binaries", module)
    spec.loader.exec_module(module)
    return module


bb = _load_builder()

SAMPLE_PDF = """# Mooring Test Policy

This sentence is the known sentence for the extraction test.

## Limits

- First bullet with an arrow → and an em dash — and a snowman \u2603.
- Second bullet.

| Plan | Price |
|---|---|
| Team | $14 |
"""

SAMPLE_DOCX = """# Mooring Test Handbook

Intro paragraph with **bold** and `code`.

## Table section

| SKU | Price |
|---|---|
| HAL-TEAM-10 | $14 |
| HAL-BIZ-50 | $29 |

- a bullet
"""


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture()
def sample_sources(tmp_path: Path) -> Path:
    src = tmp_path / "sources"
    src.mkdir()
    (src / "test-policy.pdf.md").write_text(SAMPLE_PDF, encoding="utf-8")
    (src / "test-handbook.docx.md").write_text(SAMPLE_DOCX, encoding="utf-8")
    (src / "notes.md").write_text("ignored: not a .pdf.md or .docx.md source", encoding="utf-8")
    return src


def test_parse_blocks():
    blocks = bb.parse(SAMPLE_DOCX)
    kinds = [b.kind for b in blocks]
    assert kinds == ["heading", "para", "heading", "table", "bullet"]
    assert blocks[1].text == "Intro paragraph with bold and code."
    assert blocks[3].rows == [["SKU", "Price"], ["HAL-TEAM-10", "$14"], ["HAL-BIZ-50", "$29"]]


def test_latin1_never_raises():
    assert bb.latin1("a → b — c \u2603 日本") == "a -> b - c ? ??"


def test_build_sample_pdf_and_docx(sample_sources: Path, tmp_path: Path):
    from docx import Document
    from pypdf import PdfReader

    out = tmp_path / "out"
    written = bb.build(sample_sources, out)
    assert sorted(p.name for p in written) == ["test-handbook.docx", "test-policy.pdf"]
    assert (out / bb.MANIFEST_NAME).exists()

    text = _squash("".join(page.extract_text() for page in PdfReader(out / "test-policy.pdf").pages))
    assert "This sentence is the known sentence for the extraction test." in text
    assert "arrow -> and an em dash - and a snowman ?" in text

    doc = Document(out / "test-handbook.docx")
    assert len(doc.tables) == 1
    cells = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert cells == [["SKU", "Price"], ["HAL-TEAM-10", "$14"], ["HAL-BIZ-50", "$29"]]
    styles = {p.style.name for p in doc.paragraphs}
    assert {"Title", "Heading 1", "List Bullet"} <= styles


def test_build_is_deterministic(sample_sources: Path, tmp_path: Path):
    first = {p.name: p.read_bytes() for p in bb.build(sample_sources, tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in bb.build(sample_sources, tmp_path / "b")}
    assert first == second


def test_check_detects_missing_and_stale(sample_sources: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert bb.check(sample_sources, out)  # nothing built yet
    bb.build(sample_sources, out)
    assert bb.check(sample_sources, out) == []
    (sample_sources / "test-policy.pdf.md").write_text(SAMPLE_PDF + "\nA new paragraph.\n", encoding="utf-8")
    assert any("test-policy.pdf" in p for p in bb.check(sample_sources, out))
    bb.build(sample_sources, out)
    (out / "test-handbook.docx").unlink()
    assert any("missing" in p for p in bb.check(sample_sources, out))
    assert bb.main(["--check", "--sources-dir", str(sample_sources), "--out-dir", str(out)]) == 1


def test_real_corpus_renders(tmp_path: Path):
    from docx import Document
    from pypdf import PdfReader

    written = bb.build(SOURCES, tmp_path)
    names = {p.name for p in written}
    assert {"privacy-policy.pdf", "data-retention-policy.pdf", "sla-and-support.docx", "security-whitepaper.docx"} <= names

    reader = PdfReader(tmp_path / "privacy-policy.pdf")
    text = _squash("".join(page.extract_text() for page in reader.pages))
    assert "Telemetry data is retained for 13 months and then deleted." in text
    assert len(reader.pages) >= 2
    assert reader.metadata.title == "Marrowlake Systems Privacy Policy"

    doc = Document(tmp_path / "sla-and-support.docx")
    first_cells = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert first_cells[0] == ["Plan", "SKU", "Channels", "Hours", "Named contacts"]
    assert ["Enterprise", "HAL-ENT-00", "E-mail, portal, chat, phone", "24x7 for P1 and P2", "15"] in first_cells


def test_committed_binaries_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(BUILDER), "--check"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stderr


def test_code_blocks_and_numbered_lists(tmp_path: Path):
    from docx import Document
    from pypdf import PdfReader

    src = tmp_path / "src"
    src.mkdir()
    body = "# Runbook\n\n1. Stop the server.\n2. Run the backup.\n\n```\nhalctl server backup\n  --output /var/backups\n```\n\nDone.\n"
    (src / "runbook.pdf.md").write_text(body, encoding="utf-8")
    (src / "runbook.docx.md").write_text(body, encoding="utf-8")
    assert [b.kind for b in bb.parse(body)] == ["heading", "number", "number", "code", "para"]
    bb.build(src, tmp_path / "out")
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "out" / "runbook.pdf").pages)
    assert "halctl server backup" in text and "2." in text
    doc = Document(tmp_path / "out" / "runbook.docx")
    assert [p.style.name for p in doc.paragraphs].count("List Number") == 2
    assert any("--output /var/backups" in p.text for p in doc.paragraphs)
