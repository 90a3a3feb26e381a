"""BM25 over a collection's chunks with `bm25s` (sparse-matrix BM25, fast on CPU).

The index is built in memory from the chunks stored in Chroma, so it always matches the
collection; `BM25Index.search` returns (chunk id, score) pairs with a positive score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STOPWORDS = "en"
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s.tokenize's pattern (lower-cased text, no stemmer)


@dataclass
class BM25Index:
    ids: list[str]
    texts: list[str]
    meta: list[dict]
    _retriever: object = None
    _positions: dict | None = None

    def row(self, chunk_id: str) -> tuple[str, dict] | None:
        """(text, metadata) of a chunk the index holds, None if it was added after the index was built."""
        if self._positions is None:
            self._positions = {i: pos for pos, i in enumerate(self.ids)}
        pos = self._positions.get(chunk_id)
        return None if pos is None else (self.texts[pos], self.meta[pos])

    @classmethod
    def build(cls, ids: list[str], texts: list[str], meta: list[dict]) -> "BM25Index":
        """An index of the chunks as the embedder reads them too: each with its title and heading first."""
        import bm25s

        from lab.corpus.chunking import with_context

        index = cls(list(ids), list(texts), list(meta))
        if ids:
            retriever = bm25s.BM25()
            indexed = [with_context(t, m.get("title", ""), m.get("heading", "")) for t, m in zip(index.texts, index.meta)]
            retriever.index(bm25s.tokenize(indexed, stopwords=STOPWORDS, show_progress=False),
                            show_progress=False)
            index._retriever = retriever
        return index

    _stopwords: frozenset | None = None

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(position in `ids`, score) of the top `k` chunks that share a term with the query, best first.

        Tokens as `bm25s.tokenize` makes them, scored from bm25s's matrix directly: its `tokenize` and
        `retrieve` wrap every call in progress-bar plumbing that cost a third of a query."""
        import numpy as np

        if self._retriever is None or k <= 0:
            return []
        if self._stopwords is None:
            from bm25s.tokenization import _infer_stopwords

            self._stopwords = frozenset(_infer_stopwords(STOPWORDS))
        vocab = self._retriever.vocab_dict
        token_ids = [vocab[t] for t in _TOKEN.findall(query.lower()) if t not in self._stopwords and t in vocab]
        if not token_ids:
            return []
        scores = self._retriever.get_scores_from_ids(token_ids)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties in index order
        return [(int(d), float(scores[d])) for d in top if scores[d] > 0]
