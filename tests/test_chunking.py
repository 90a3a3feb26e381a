from hypothesis import given, settings, strategies as st

from lab.corpus.chunking import chunk_document
from lab.config import ChunkConfig
from lab.corpus.parsing import Document, Section


def words(text: str) -> int:
    return len(text.split())


def doc(*sections: Section) -> Document:
    return Document("a.md", "f" * 64, list(sections))


def test_chunks_are_exact_slices_of_the_document_text():
    d = doc(Section("# Intro\n\n" + " ".join(f"word{i}." for i in range(400)), "Intro"),
            Section("Second section. " * 50, "Second"))
    chunks = chunk_document(d, ChunkConfig(size=128, overlap=16), words)
    assert len(chunks) > 3
    for c in chunks:
        assert d.text[c.start:c.end] == c.text
        assert c.tokens <= 128


def test_ids_are_stable_content_hashes():
    d = doc(Section("Alpha beta gamma.\n\nDelta epsilon."))
    first = chunk_document(d, ChunkConfig(size=128, overlap=0), words)
    again = chunk_document(doc(Section("Alpha beta gamma.\n\nDelta epsilon.")), ChunkConfig(size=128, overlap=0), words)
    assert [c.id for c in first] == [c.id for c in again]
    changed = chunk_document(doc(Section("Alpha beta gamma!\n\nDelta epsilon.")), ChunkConfig(size=128, overlap=0), words)
    assert changed[0].id != first[0].id


def test_consecutive_chunks_overlap():
    paragraphs = "\n\n".join(f"Paragraph {i} has exactly eight words in it." for i in range(60))
    chunks = chunk_document(doc(Section(paragraphs)), ChunkConfig(size=128, overlap=24), words)
    assert len(chunks) >= 4
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, "the next chunk should start inside the previous one"


def test_csv_rows_are_never_merged():
    rows = [Section(f"code: HX-{i}; message: thing {i}", f"row {i}", atomic=True) for i in range(5)]
    chunks = chunk_document(doc(*rows), ChunkConfig(size=512, overlap=0), words)
    assert [c.text for c in chunks] == [r.text for r in rows]
    assert [c.heading for c in chunks] == [f"row {i}" for i in range(5)]


def test_pdf_pages_are_kept():
    pages = [Section("Text on page one. " * 100, page=1), Section("Text on page two. " * 100, page=2)]
    chunks = chunk_document(doc(*pages), ChunkConfig(size=256, overlap=0), words)
    assert {c.page for c in chunks} == {1, 2}
    assert all(c.text.count("page two") == 0 for c in chunks if c.page == 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=400),
                min_size=1, max_size=6),
       st.integers(128, 300), st.integers(0, 60))
def test_any_text_chunks_into_in_bounds_slices(texts, size, overlap):
    sections = [Section(t) for t in texts if t.strip()]
    if not sections:
        return
    d = doc(*sections)
    chunks = chunk_document(d, ChunkConfig(size=size, overlap=min(overlap, size // 2 - 1)), words)
    for c in chunks:
        assert d.text[c.start:c.end] == c.text
        assert c.text.strip()
        assert c.tokens <= size
    covered = "".join(c.text for c in chunks)
    for word in d.text.split()[:50]:
        assert word in covered
