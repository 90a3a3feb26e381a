"""The LangChain peer of the lab's hybrid retrieval (a benchmark figure; see `lab.bench.suite`).

The same hybrid built the way most LangChain users build it: `EnsembleRetriever` (reciprocal rank fusion,
c=60, equal weights) over `BM25Retriever` (rank_bm25) and a `Chroma` vector store, on the same Chroma
collection, the same embedder (wrapped, not re-loaded) and the same k. LangChain is imported only here,
and only when the figure runs: `pip install -r requirements-bench.txt`.

The target is both: faster (lab p50 / LangChain p50 < 1) and recall@k not lower, on every collection.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from lab.bench.figure import Figure, figure, paired_p50_ms
from lab.evaluation.retrieval import hit_at_k, recall_at_k

INSTALL = "pip install -r requirements-bench.txt"


def langchain_embeddings(embedder):
    """The lab's `Embedder` as a `langchain_core.embeddings.Embeddings` (same model, same vectors)."""
    from langchain_core.embeddings import Embeddings

    class LabEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.encode(list(texts)).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.encode([text])[0].tolist()

    return LabEmbeddings()


def langchain_hybrid(store, collection: str, embedder, k: int):
    """EnsembleRetriever([BM25Retriever, Chroma retriever]) over the chunks of `collection`, k per retriever."""
    from langchain_chroma import Chroma
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever

    rows = store.chunks(collection)
    bm25 = BM25Retriever.from_texts([r["text"] for r in rows], metadatas=[r["meta"] for r in rows],
                                    ids=[r["id"] for r in rows], k=k)
    dense = Chroma(collection_name=collection, embedding_function=langchain_embeddings(embedder),
                   client=store.client, create_collection_if_not_exists=False).as_retriever(search_kwargs={"k": k})
    return EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])


def retrieval_quality(search: Callable[[str], Sequence[str]], questions, k: int) -> dict:
    """Mean hit@k and recall@k of `search(question) -> sources, best first` on questions with gold sources.

    >>> q = type("Q", (), {"question": "x", "sources": ["a.md", "b.md"]})
    >>> retrieval_quality(lambda _: ["a.md", "c.md"], [q], k=2)
    {'questions': 1, 'hit_at_k': 1.0, 'recall_at_k': 0.5}
    """
    scored = [q for q in questions if q.sources]
    hits, recalls = [], []
    for q in scored:
        sources = list(search(q.question))[:k]
        hits.append(hit_at_k(sources, set(q.sources)))
        recalls.append(recall_at_k(sources, set(q.sources)))
    n = max(len(scored), 1)
    return {"questions": len(scored), "hit_at_k": round(sum(hits) / n, 4), "recall_at_k": round(sum(recalls) / n, 4)}


def bench_peer_langchain(store, collections: list[str], embedder, questions, k: int, repeats: int) -> Figure:
    """Lab hybrid p50 / LangChain ensemble p50 on each collection (lab and baseline are the largest one's; met
    needs every ratio < 1), with hit@k and recall@k of both against the golden set's gold sources."""
    try:
        import langchain_chroma  # noqa: F401
        import langchain_classic  # noqa: F401
        import langchain_community  # noqa: F401
    except ImportError as exc:
        return Figure("peer_langchain", None, None, "ms/query", None, "< 1", None,
                      {"skipped": f"LangChain is not installed ({exc.name}): {INSTALL}"})
    from lab.index.retrieval import retrievers_for

    queries = [q.question for q in questions[:20]]
    per_collection = {}
    for collection in collections:
        ours = retrievers_for(store, collection, embedder)["hybrid"]
        built = time.perf_counter()
        theirs = langchain_hybrid(store, collection, embedder, k)
        build_ms = (time.perf_counter() - built) * 1000
        ours.search(queries[0], k), theirs.invoke(queries[0])  # warm-up
        lab_ms, peer_ms = paired_p50_ms(lambda q: ours.search(q, k), theirs.invoke, queries, repeats)
        per_collection[collection] = {
            "chunks": store.info(collection).chunks, "lab_p50_ms": round(lab_ms, 2), "langchain_p50_ms": round(peer_ms, 2),
            "ratio": round(lab_ms / peer_ms, 3), "langchain_build_ms": round(build_ms),
            "lab": retrieval_quality(lambda q: [h.source for h in ours.search(q, k)], questions, k),
            "langchain": retrieval_quality(lambda q: [d.metadata.get("source") for d in theirs.invoke(q)], questions, k),
        }
    largest = per_collection[collections[-1]]
    result = figure("peer_langchain", largest["lab_p50_ms"], largest["langchain_p50_ms"], "ms/query", "< 1",
                    k=k, collections=per_collection,
                    note="LangChain's ensemble returns up to 2k fused documents; recall@k scores its first k. "
                         "The lab fuses 20 candidates per retriever by chunk id; LangChain fuses k per retriever "
                         "by page text. Recall is judged on the first (real) collection: the larger one pads it "
                         "with shuffled copies of real chunks under synthetic sources, which hold the same facts, "
                         "so its recall only says which copy ranked first.")
    real = per_collection[collections[0]]  # recall is judged on the real corpus (see `note`)
    result.met = (all(c["ratio"] < 1 for c in per_collection.values())
                  and real["lab"]["recall_at_k"] >= real["langchain"]["recall_at_k"])
    result.target = "< 1 on every collection, recall@k not lower"
    return result
