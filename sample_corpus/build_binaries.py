"""Render the sample corpus's PDF and DOCX documents from Markdown-like sources.

Every ``sources/<name>.pdf.md`` becomes ``docs/<name>.pdf`` (fpdf2) and every
``sources/<name>.docx.md`` becomes ``docs/<name>.docx`` (python-docx).

The source format is a small Markdown subset:

* ``# Title`` / ``## Heading`` / ``### Subheading``
* paragraphs (consecutive non-blank lines are joined)
* bullet items starting with ``- `` (or ``* ``) and numbered items ``1. ``
* fenced code blocks (three backticks), kept line by line in a monospace font
* pipe tables ``| a | b |`` with an optional ``|---|---|`` separator row
* inline ``**bold**`` and ``code`` backticks, which are reduced to plain text

Output is deterministic: fixed metadata and creation dates, and DOCX zip entries
with fixed timestamps, so re-running the builder on unchanged sources gives
byte-identical files.

``docs/.binaries.json`` records the sha256 of each source and of each generated
file.  ``--check`` exits 1 when a generated file is missing, when its source has
changed since it was built, or when the generated file itself was altered.

Usage::

    python sample_corpus/build_binaries.py            # build into sample_corpus/docs
    python sample_corpus/build_binaries.py --check    # verify, build nothing
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCES = HERE / "sources"
DEFAULT_OUT = HERE / "docs"
MANIFEST_NAME = ".binaries.json"
FIXED_DATE = dt.datetime(2025, 10, 7, 9, 0, 0, tzinfo=dt.timezone.utc)
AUTHOR = "Marrowlake Systems Ltd."
KINDS = {".pdf.md": ".pdf", ".docx.md": ".docx"}


# --------------------------------------------------------------------------- parsing


@dataclass
class Block:
    kind: str  # "heading" | "para" | "bullet" | "number" | "code" | "table"
    text: str = ""
    level: int = 0
    rows: list[list[str]] = field(default_factory=list)


_SEPARATOR_CELL = re.compile(r"^:?-{3,}:?$")


def _inline(text: str) -> str:
    """Reduce inline Markdown to plain text."""
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return text.strip()


def _split_row(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    return [_inline(cell) for cell in inner.split("|")]


def parse(source: str) -> list[Block]:
    """Parse the Markdown subset into blocks."""
    blocks: list[Block] = []
    para: list[str] = []
    table: list[list[str]] = []
    code: list[str] | None = None

    def flush() -> None:
        if para:
            blocks.append(Block("para", _inline(" ".join(para))))
            para.clear()
        if table:
            blocks.append(Block("table", rows=[row[:] for row in table]))
            table.clear()

    for raw in source.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("```"):
            if code is None:
                flush()
                code = []
            else:
                blocks.append(Block("code", "\n".join(code)))
                code = None
            continue
        if code is not None:
            code.append(line)
            continue
        if not stripped:
            flush()
            continue
        if stripped.startswith("|"):
            if para:
                flush()
            cells = _split_row(stripped)
            if all(_SEPARATOR_CELL.match(c.replace(" ", "")) for c in cells if c) and any(cells):
                continue  # header separator row
            table.append(cells)
            continue
        if table:
            flush()
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if heading:
            flush()
            blocks.append(Block("heading", _inline(heading.group(2)), level=len(heading.group(1))))
            continue
        bullet = re.match(r"^[-*]\s+(.*)$", stripped)
        if bullet:
            flush()
            blocks.append(Block("bullet", _inline(bullet.group(1))))
            continue
        number = re.match(r"^(\d+)[.)]\s+(.*)$", stripped)
        if number and not para:
            flush()
            blocks.append(Block("number", _inline(number.group(2)), level=int(number.group(1))))
            continue
        if blocks and blocks[-1].kind in ("bullet", "number") and not para and raw.startswith("  "):
            blocks[-1].text += " " + _inline(stripped)  # continuation of a bullet item
            continue
        para.append(stripped)
    flush()
    if code is not None:  # unterminated fence: keep the text
        blocks.append(Block("code", "\n".join(code)))
    return blocks


def _title(blocks: list[Block], fallback: str) -> str:
    for block in blocks:
        if block.kind == "heading":
            return block.text
    return fallback


# --------------------------------------------------------------------------- PDF

_LATIN1_MAP = {
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u2192": "->", "\u2190": "<-", "\u2022": "-", "\u00a0": " ", "\u2264": "<=",
    "\u2265": ">=", "\u2212": "-", "\u2122": "(TM)", "\u2248": "~", "\u00d7": "x",
}


def latin1(text: str) -> str:
    """Make text safe for the PDF core fonts (latin-1 only); never raises."""
    text = "".join(_LATIN1_MAP.get(ch, ch) for ch in text)
    return text.encode("latin-1", errors="replace").decode("latin-1")


def render_pdf(blocks: list[Block], title: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(latin1(title))
    pdf.set_author(AUTHOR)
    pdf.set_creator("sample_corpus/build_binaries.py")
    pdf.set_producer("fpdf2")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_margins(20, 18, 20)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    sizes = {1: 17, 2: 13.5, 3: 12}

    for block in blocks:
        if block.kind == "heading":
            size = sizes.get(block.level, 11)
            pdf.ln(3 if block.level > 1 else 0)
            pdf.set_font("Helvetica", "B", size)
            pdf.multi_cell(width, size * 0.55, latin1(block.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
        elif block.kind == "para":
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(width, 5.2, latin1(block.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "bullet":
            pdf.set_font("Helvetica", "", 10.5)
            pdf.set_x(pdf.l_margin + 3)
            pdf.cell(5, 5.2, "-")
            pdf.multi_cell(width - 8, 5.2, latin1(block.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(0.8)
        elif block.kind == "number":
            pdf.set_font("Helvetica", "", 10.5)
            pdf.set_x(pdf.l_margin + 3)
            pdf.cell(7, 5.2, f"{block.level}.")
            pdf.multi_cell(width - 10, 5.2, latin1(block.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(0.8)
        elif block.kind == "code":
            pdf.set_font("Courier", "", 9)
            pdf.multi_cell(width, 4.4, latin1(block.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "table":
            ncols = max(len(r) for r in block.rows)
            rows = [[latin1(c) for c in r] + [""] * (ncols - len(r)) for r in block.rows]
            pdf.set_font("Helvetica", "", 9)
            pdf.ln(1)
            with pdf.table(width=width, line_height=4.6, first_row_as_headings=True) as table:
                for row in rows:
                    table_row = table.row()
                    for cell in row:
                        table_row.cell(cell)
            pdf.ln(3)
    return bytes(pdf.output())


# --------------------------------------------------------------------------- DOCX


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip with sorted-as-written entries and fixed timestamps."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def render_docx(blocks: list[Block], title: str) -> bytes:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    props = doc.core_properties
    props.title = title
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.created = FIXED_DATE.replace(tzinfo=None)
    props.modified = FIXED_DATE.replace(tzinfo=None)
    props.revision = 1
    props.comments = "Generated by sample_corpus/build_binaries.py"
    doc.styles["Normal"].font.size = Pt(10.5)

    for block in blocks:
        if block.kind == "heading":
            doc.add_heading(block.text, level=0 if block.level == 1 else min(block.level - 1, 9))
        elif block.kind == "para":
            doc.add_paragraph(block.text)
        elif block.kind == "bullet":
            doc.add_paragraph(block.text, style="List Bullet")
        elif block.kind == "number":
            doc.add_paragraph(block.text, style="List Number")
        elif block.kind == "code":
            run = doc.add_paragraph().add_run(block.text)
            run.font.name = "Courier New"
            run.font.size = Pt(9)
        elif block.kind == "table":
            ncols = max(len(r) for r in block.rows)
            table = doc.add_table(rows=0, cols=ncols)
            table.style = "Table Grid"
            for i, row in enumerate(block.rows):
                cells = table.add_row().cells
                for j in range(ncols):
                    cells[j].text = row[j] if j < len(row) else ""
                    if i == 0:
                        for run in cells[j].paragraphs[0].runs:
                            run.bold = True
            doc.add_paragraph()
    buf = io.BytesIO()
    doc.save(buf)
    return _deterministic_zip(buf.getvalue())


# --------------------------------------------------------------------------- driver


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _targets(sources_dir: Path) -> list[tuple[Path, str, str]]:
    """(source path, output file name, output extension) for every source, sorted."""
    found = []
    for path in sorted(Path(sources_dir).iterdir()):
        for suffix, ext in KINDS.items():
            if path.is_file() and path.name.endswith(suffix):
                found.append((path, path.name[: -len(suffix)] + ext, ext))
    return found


def render(source_path: Path, ext: str) -> bytes:
    text = source_path.read_text(encoding="utf-8")
    blocks = parse(text)
    title = _title(blocks, source_path.name)
    return render_pdf(blocks, title) if ext == ".pdf" else render_docx(blocks, title)


def build(sources_dir: Path = DEFAULT_SOURCES, out_dir: Path = DEFAULT_OUT) -> list[Path]:
    """Render every source into out_dir, write the manifest, return the generated paths."""
    sources_dir, out_dir = Path(sources_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, str]] = {}
    written: list[Path] = []
    for source_path, out_name, ext in _targets(sources_dir):
        data = render(source_path, ext)
        out_path = out_dir / out_name
        if not out_path.exists() or out_path.read_bytes() != data:
            out_path.write_bytes(data)
        written.append(out_path)
        manifest[out_name] = {
            "source": source_path.name,
            "source_sha256": _sha256(source_path.read_bytes()),
            "output_sha256": _sha256(data),
        }
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return written


def check(sources_dir: Path = DEFAULT_SOURCES, out_dir: Path = DEFAULT_OUT) -> list[str]:
    """Problems that mean the generated files are stale; empty when up to date."""
    sources_dir, out_dir = Path(sources_dir), Path(out_dir)
    manifest_path = out_dir / MANIFEST_NAME
    if not manifest_path.exists():
        return [f"{manifest_path} is missing; run build_binaries.py"]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    problems = []
    for source_path, out_name, _ext in _targets(sources_dir):
        out_path = out_dir / out_name
        entry = manifest.get(out_name)
        if not out_path.exists():
            problems.append(f"{out_name}: generated file is missing")
        elif entry is None:
            problems.append(f"{out_name}: not recorded in {MANIFEST_NAME}")
        elif entry.get("source_sha256") != _sha256(source_path.read_bytes()):
            problems.append(f"{out_name}: source {source_path.name} changed since the last build")
        elif entry.get("output_sha256") != _sha256(out_path.read_bytes()):
            problems.append(f"{out_name}: generated file differs from the last build")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if any generated file is missing or stale")
    parser.add_argument("--sources-dir", type=Path, default=DEFAULT_SOURCES)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.sources_dir, args.out_dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("Run: python sample_corpus/build_binaries.py", file=sys.stderr)
            return 1
        print("generated PDF/DOCX files are up to date")
        return 0
    for path in build(args.sources_dir, args.out_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
