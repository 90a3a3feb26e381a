"""Cut a parsed document into overlapping chunks measured in embedder tokens.

Boundaries are chosen in order of preference: section (heading, page, CSV row), paragraph,
sentence, and only then a window of words. Each chunk is a contiguous slice of the document
text, so `doc.text[chunk.start:chunk.end] == chunk.text`, and its id is a hash of its source and
content: re-ingesting an unchanged file yields the same ids.

>>> from lab.corpus.parsing import Document, Section
>>> doc = Document("a.md", "0" * 64, [Section("One two three.\\n\\nFour five six.")])
>>> [c.text for c in chunk_document(doc, ChunkConfig(size=128, overlap=0), lambda s: len(s.split()))]
['One two three.\\n\\nFour five six.']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from lab.config import ChunkConfig
from lab.corpus.parsing import Document

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class Chunk:
    id: str
    source: str
    text: str
    start: int
    end: int
    heading: str
    page: int | None
    doc_sha256: str
    tokens: int
    title: str = ""

    @property
    def indexed_text(self) -> str:
        """What the embedder and BM25 read: the chunk with its context (document title, nearest heading) first, so
        a passage that never names its section is still found by it. The stored text stays the document's own."""
        return with_context(self.text, self.title, self.heading)


def with_context(text: str, title: str = "", heading: str = "") -> str:
    r"""`text` after a line naming its document title and heading (those it does not already start with).

    >>> with_context("Body.", "GNU Libtasn1", "2.1 ASN.1 syntax")
    'GNU Libtasn1 — 2.1 ASN.1 syntax\nBody.'
    >>> with_context("Setup\nBody.", "", "Setup")
    'Setup\nBody.'
    """
    start = text[:200].lower()
    context = [part for part in (title, heading) if part and part.lower() not in start]
    return " — ".join(context) + "\n" + text if context else text


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    heading: str
    page: int | None
    atomic: bool


_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def _spans(text: str, pattern: re.Pattern, start: int, end: int) -> list[tuple[int, int]]:
    """Non-empty (start, end) spans of text[start:end] split at `pattern`, whitespace trimmed."""
    spans, cursor = [], start
    for match in pattern.finditer(text, start, end):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


def _word_windows(text: str, start: int, end: int, size: int, count: TokenCounter) -> list[tuple[int, int, int]]:
    """Split an over-long sentence into word windows of at most `size` tokens: (start, end, tokens).

    Each window is the longest run of words from `first` that fits, found by doubling then bisecting
    (O(log n) counts per window, not one per word); a token count that grows with the words, as
    every word-piece or BPE tokenizer's does, gives the same windows as growing one word at a time.
    """
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    windows, first = [], 0
    while first < len(words):
        measured: dict[int, int] = {first: count(text[words[first][0]:words[first][1]])}

        def fits(last: int) -> bool:
            measured[last] = count(text[words[first][0]:words[last][1]])
            return measured[last] <= size

        good, step = first, 1
        while good + step < len(words) and fits(good + step):
            good, step = good + step, step * 2
        bad = min(good + step, len(words))  # the first word known not to fit (or past the end)
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if fits(middle) else (good, middle)
        windows.append((words[first][0], words[good][1], measured[good]))
        first = good + 1
    return windows


def _units(doc: Document, size: int, count: TokenCounter) -> tuple[str, list[_Unit]]:
    text, units, offset = doc.text, [], 0
    for section in doc.sections:
        s_start, s_end = offset, offset + len(section.text)
        offset = s_end + 2  # the "\n\n" joining sections
        for p_start, p_end in _spans(text, _PARAGRAPH, s_start, s_end):
            pieces = [(p_start, p_end, count(text[p_start:p_end]))]  # each piece is counted once
            if pieces[0][2] > size:
                pieces = []
                for a, b in _spans(text, _SENTENCE, p_start, p_end):
                    tokens = count(text[a:b])
                    pieces += [(a, b, tokens)] if tokens <= size else _word_windows(text, a, b, size, count)
            for a, b, tokens in pieces:
                units.append(_Unit(a, b, tokens, section.heading, section.page, section.atomic))
    return text, units


def chunk_document(doc: Document, config: ChunkConfig, count: TokenCounter) -> list[Chunk]:
    """Chunks of at most `config.size` tokens (by `count`), consecutive ones sharing ~`config.overlap`."""
    text, units = _units(doc, config.size, count)
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []

    def flush(keep_overlap: bool) -> list[_Unit]:
        if not current:
            return []
        groups.append(list(current))
        if not keep_overlap:
            return []
        tail, tokens = [], 0
        for unit in reversed(current[1:]):
            if tokens + unit.tokens > config.overlap:
                break
            tail.insert(0, unit)
            tokens += unit.tokens
        return tail

    for unit in units:
        used = sum(u.tokens for u in current)
        boundary = current and (unit.heading, unit.page) != (current[-1].heading, current[-1].page)
        if unit.atomic or (current and current[-1].atomic):
            current = flush(False)
        elif current and used + unit.tokens > config.size:
            current = flush(not boundary)
        elif boundary and used >= config.size // 2:
            current = flush(False)
        current.append(unit)
        while len(current) > 1 and sum(u.tokens for u in current) > config.size:
            current.pop(0)  # overlap carried from the last chunk must give way to new text
    flush(False)

    chunks, seen = [], {}
    for group in groups:
        start, end = group[0].start, group[-1].end
        body = text[start:end]
        key = hashlib.sha256(f"{doc.source}\0{body}".encode()).hexdigest()[:24]
        seen[key] = seen.get(key, 0) + 1
        chunk_id = key if seen[key] == 1 else f"{key}-{seen[key]}"
        chunks.append(Chunk(chunk_id, doc.source, body, start, end, group[0].heading, group[0].page,
                            doc.sha256, sum(u.tokens for u in group), doc.title))
    return chunks
