"""Validation of user input: golden sets, configs, upload names."""

import pytest

from lab.config import ChunkConfig, DecodingConfig, data_dir
from lab.errors import InputError
from lab.evaluation.golden import parse_golden
from lab.corpus.uploads import safe_name, save_upload


def test_golden_minimal_and_full_lines():
    qs = parse_golden('{"question": "Q1?", "answer": "A1"}\n\n'
                      '{"id": "x", "question": "Q2?", "answer": "A2", "aliases": ["a"], "sources": ["f.md"], '
                      '"kind": "numeric"}\n')
    assert [q.id for q in qs] == ["q001", "x"]
    assert qs[1].sources == ["f.md"] and qs[1].kind == "numeric"


def test_golden_errors_name_their_lines():
    bad = '{"question": "ok?", "answer": "y"}\nnot json\n{"question": "no answer"}\n{"question": "q", "answer": "a", "kind": "poem"}\n'
    with pytest.raises(InputError) as err:
        parse_golden(bad, "mine.jsonl")
    message = str(err.value)
    assert "line 2: not valid JSON" in message and "line 3: missing answer" in message and "line 4: kind" in message


def test_chunk_config_validation_names_the_field():
    with pytest.raises(InputError, match="ChunkConfig.size"):
        ChunkConfig(size=64)
    with pytest.raises(InputError, match="ChunkConfig.overlap"):
        ChunkConfig(size=256, overlap=200)
    assert ChunkConfig.from_json(ChunkConfig(300, 10).to_json()) == ChunkConfig(300, 10)
    with pytest.raises(InputError, match="max_new_tokens"):
        DecodingConfig(max_new_tokens=0)


@pytest.mark.parametrize("name,expected", [
    ("../../x.md", "x.md"), ("/etc/passwd.txt", "passwd.txt"), ("a\x00b.pdf", "ab.pdf"),
    ("..\\..\\win.csv", "win.csv"), (".hidden.md", "hidden.md"), ("", "unnamed"),
])
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_long_names_are_truncated_and_keep_their_suffix():
    assert safe_name("a" * 300 + ".md") == "a" * 117 + ".md"


def test_uploads_are_stored_by_hash_inside_the_data_dir():
    path, source = save_upload("../../evil.md", b"# hi\n")
    assert path.parent == data_dir() / "uploads" and source == "evil.md"
    assert path.read_bytes() == b"# hi\n"
    with pytest.raises(InputError, match="upload limit"):
        save_upload("big.txt", b"x" * (2 * 1024 * 1024), max_mb=1)
    with pytest.raises(InputError, match="unsupported"):
        save_upload("x.exe", b"MZ")


@pytest.mark.parametrize("name,data", [
    ("fake.pdf", b"\x00\x01 binary garbage renamed"),
    ("fake.docx", b"PK\x03\x04 not really a zip"),
    ("notes.md", b"text\x00with NUL bytes"),
])
def test_upload_content_is_checked_by_bytes_not_name(name, data):
    with pytest.raises(InputError, match="checked by its bytes"):
        save_upload(name, data)


def test_real_pdf_and_docx_uploads_pass_the_content_check():
    from lab.config import SAMPLE_DOCS

    for name in ("privacy-policy.pdf", "sla-and-support.docx"):
        path, source = save_upload(name, (SAMPLE_DOCS / name).read_bytes())
        assert source == name and path.exists()
