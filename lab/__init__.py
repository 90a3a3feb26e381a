"""RAG vs Fine-Tuning Lab: measure prompt-only, RAG, fine-tuned and hybrid answers on your own data.

`import lab` is cheap: heavy libraries (torch, transformers, chromadb) are imported inside the
functions that need them.
"""

__version__ = "0.1.0"
