"""BM25 over a collection's chunks with `bm25s` (sparse-matrix BM25, fast on CPU).

The index is built in memory from the chunks stored in Chroma, so it always matches the
collection; `BM25Index.search` returns (chunk id, score) pairs with a positive score.
"""

from __future__ import annotations

from dataclasses import dataclass

STOPWORDS = "en"


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
        import bm25s

        index = cls(list(ids), list(texts), list(meta))
        if ids:
            retriever = bm25s.BM25()
            retriever.index(bm25s.tokenize(index.texts, stopwords=STOPWORDS, show_progress=False),
                            show_progress=False)
            index._retriever = retriever
        return index

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(position in `ids`, score) of the top `k` chunks that share a term with the query."""
        import bm25s

        if self._retriever is None or k <= 0:
            return []
        tokens = bm25s.tokenize([query], stopwords=STOPWORDS, return_ids=False, show_progress=False)
        if not tokens[0]:
            return []
        docs, scores = self._retriever.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
