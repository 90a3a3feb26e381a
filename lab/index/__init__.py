"""The searchable index: embedders, the Chroma store, ingestion, BM25, rank fusion, cross-encoder rerank, the retrievers."""
