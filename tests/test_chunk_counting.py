"""Token counting for chunk sizes: word windows found by bisection match growing one word at a time, and the
real embedder's count is never capped by its tokenizer's truncation or padding settings."""

import re

import pytest
from hypothesis import given, settings, strategies as st

from lab.corpus.chunking import _word_windows, chunk_document
from lab.config import ChunkConfig
from lab.corpus.parsing import Document, Section


def one_word_at_a_time(text, start, end, size, count):
    """The reference: extend each window word by word while it fits."""
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    windows, first = [], 0
    while first < len(words):
        last = first
        while last + 1 < len(words) and count(text[words[first][0]:words[last + 1][1]]) <= size:
            last += 1
        a, b = words[first][0], words[last][1]
        windows.append((a, b, count(text[a:b])))
        first = last + 1
    return windows


def pieces(text: str) -> int:
    """A monotone counter like a word-piece tokenizer: long words count as several tokens."""
    return sum(1 + len(w) // 6 for w in text.split())


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghijklmnop-", min_size=1, max_size=20), min_size=1, max_size=400),
       st.integers(1, 60))
def test_bisected_windows_equal_the_word_by_word_reference(words, size):
    text = "  " + " ".join(words) + " "
    assert _word_windows(text, 0, len(text), size, pieces) == one_word_at_a_time(text, 0, len(text), size, pieces)


def test_windows_need_logarithmically_many_counts():
    calls = []

    def counting(text):
        calls.append(1)
        return len(text.split())

    text = " ".join(f"w{i}" for i in range(20_000))
    windows = _word_windows(text, 0, len(text), 200, counting)
    assert len(windows) == 100 and all(tokens == 200 for _, _, tokens in windows)
    assert len(calls) < 100 * 20  # growing word by word would take ~20,000


@pytest.mark.slow
def test_real_embedder_counts_are_not_capped_by_the_tokenizer_settings(real_embedder):
    long = "configuration " * 400
    assert real_embedder.count_tokens("hello") == 1  # no padding to 128
    assert real_embedder.count_tokens(long) == 400  # no truncation at 128 or 256
    real_embedder.encode(["a text long enough to set truncation " * 50])
    assert real_embedder.count_tokens(long) == 400  # still not, after the model tokenized with truncation


@pytest.mark.slow
def test_long_paragraphs_are_split_to_the_embedders_window(real_embedder):
    paragraph = " ".join(f"Sentence {i} describes the halctl flag number {i} in detail." for i in range(120))
    doc = Document("long.md", "0" * 64, [Section(paragraph)])
    chunks = chunk_document(doc, ChunkConfig(), real_embedder.count_tokens)
    assert len(chunks) > 4
    assert all(real_embedder.count_tokens(c.text) <= 256 for c in chunks)
