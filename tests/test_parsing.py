import pytest

from lab.errors import InputError
from lab.corpus.parsing import parse


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def test_markdown_keeps_headings(tmp_path):
    d = parse(write(tmp_path, "a.md", "# Title\nIntro.\n\n## Ports\nThe API listens on 7443.\n"))
    assert [s.heading for s in d.sections] == ["Title", "Ports"]
    assert "7443" in d.sections[1].text


def test_html_drops_scripts_styles_svg_and_nav_but_keeps_headings(tmp_path):
    html = """<html><head><title>T</title><style>.x{color:red}</style><script>alert('x')</script></head>
    <body><nav>Home | Docs</nav><main><h1>Pricing</h1><p>Team costs <b>$14</b>.</p>
    <svg><text>DIAGRAM LABEL</text></svg><table><tr><th>SKU</th><th>Price</th></tr>
    <tr><td>HAL-TEAM-10</td><td>$14</td></tr></table></main><footer>(c) 2025</footer></body></html>"""
    d = parse(write(tmp_path, "p.html", html))
    text = d.text
    assert "Team costs $14 ." in text or "Team costs $14." in text
    assert "HAL-TEAM-10 | $14" in text
    for gone in ("alert", "color:red", "DIAGRAM LABEL", "Home | Docs", "(c) 2025"):
        assert gone not in text
    assert d.sections[0].heading == "Pricing"


def test_pdf_keeps_page_numbers(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in ("First page says alpha.", "Second page says beta."):
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    d = parse(write(tmp_path, "x.pdf", bytes(pdf.output())))
    assert [s.page for s in d.sections] == [1, 2]
    assert "beta" in d.sections[1].text


def test_docx_paragraphs_headings_and_tables(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Backups", level=1)
    document.add_paragraph("Snapshots are kept 45 days.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "key", "default"
    table.cell(1, 0).text, table.cell(1, 1).text = "retention.snapshot_days", "45"
    path = tmp_path / "b.docx"
    document.save(path)
    d = parse(path)
    assert d.sections[0].heading == "Backups"
    assert "retention.snapshot_days | 45" in d.text


def test_csv_one_record_per_row_with_field_names(tmp_path):
    d = parse(write(tmp_path, "e.csv", "code,message\nHX-2107,quota exceeded\nHX-3021,assertion expired\n"))
    assert [s.text for s in d.sections] == ["code: HX-2107; message: quota exceeded",
                                            "code: HX-3021; message: assertion expired"]
    assert all(s.atomic for s in d.sections)


@pytest.mark.parametrize("name,data,reason", [
    ("empty.md", b"", "empty"),
    ("header.csv", b"code,message\n", "no rows"),
    ("garbage.pdf", b"\x00\x01 not a pdf at all", "could not be read as pdf"),
    ("notes.xyz", b"hello", "unsupported file type"),
    ("broken.docx", b"PK\x03\x04 nope", "could not be read as docx"),
])
def test_bad_files_raise_a_reason(tmp_path, name, data, reason):
    with pytest.raises(InputError, match=reason):
        parse(write(tmp_path, name, data))


@pytest.mark.slow  # a 3 MB page with 1,500 inline SVGs: 5-10 s
def test_a_large_reference_manual_with_inline_svg_parses_cleanly_and_quickly(tmp_path):
    import time

    svg = "<svg viewBox='0 0 10 10'>" + "<path d='M0 0 L10 10'/><text>SVG LABEL</text>" * 50 + "</svg>"
    sections = "".join(f"<h2>Section {i}</h2><p>Setting key.{i} defaults to {i}.</p>{svg}"
                       f"<table><tr><td>key.{i}</td><td>{i}</td></tr></table>" for i in range(1500))
    html = f"<html><head><style>svg{{width:1px}}</style></head><body><main>{sections}</main></body></html>"
    assert len(html) > 3_000_000
    start = time.perf_counter()
    d = parse(write(tmp_path, "manual.html", html))
    assert time.perf_counter() - start < 30
    assert len(d.sections) == 1500 and "SVG LABEL" not in d.text and "Setting key.1499 defaults to 1499." in d.text
