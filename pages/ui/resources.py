"""Heavy things the pages share, each a cached two-line call into lab/ (kept across reruns, pages and sessions).

`PageResources` hands them to `lab.session`, the one wiring that the command line uses too.
"""

from __future__ import annotations

import streamlit as st


@st.cache_resource(show_spinner="Loading the embedder...", max_entries=4)
def embedder(spec=None):
    """The lab's embedder, or the one a collection records (`lab.index.embeddings.EmbedderSpec`)."""
    from lab.index.embeddings import EmbedderSpec
    return (spec or EmbedderSpec()).load()


def generator(name: str | None = None, backend: str | None = None):
    """The local model on `backend` (None: this machine's default), one per model and backend."""
    from lab.generation.models import default_backend
    return _generator(name, backend or default_backend())


@st.cache_resource(show_spinner="Loading the generator (the first start converts it once, ~30 s)...")
def _generator(name: str | None, backend: str):
    from lab.generation.models import LocalGenerator
    return LocalGenerator(name, backend)


def endpoint(base_url: str, model: str, api_key_env: str | None = None, concurrency: int = 8):
    """An endpoint a visitor chose, within the operator's policy (checked at every use, not only the first)."""
    from lab.endpoint_policy import EndpointPolicy
    EndpointPolicy.from_env().check(base_url, api_key_env)
    return _endpoint(base_url, model, api_key_env, concurrency)


@st.cache_resource(show_spinner=False, max_entries=4)
def _endpoint(base_url: str, model: str, api_key_env: str | None, concurrency: int):
    from lab.generation.endpoint import EndpointGenerator
    from lab.endpoint_policy import EndpointPolicy
    return EndpointGenerator(base_url, model, api_key_env, policy=EndpointPolicy.from_env(), concurrency=concurrency)


@st.cache_resource(show_spinner=False)
def _store(data: str, host: str):
    from lab.index.store import Store
    return Store(host or None)


def store():
    """The Chroma store of the current data directory (or LAB_CHROMA_HOST's server)."""
    from lab.config import chroma_host, data_dir
    return _store(str(data_dir()), chroma_host() or "")


@st.cache_resource(show_spinner="Building the BM25 index...", max_entries=8)
def _bm25(collection: str, chunks: int):
    """One BM25 index per collection version (`chunks` changes when the collection does)."""
    from lab.index.retrieval import bm25_index
    return bm25_index(store(), collection)


def bm25(collection: str):
    return _bm25(collection, store().info(collection).chunks)


@st.cache_resource(show_spinner="Loading the cross-encoder...", max_entries=2)
def reranker(path: str):
    from lab.index.rerank import CrossEncoderReranker
    return CrossEncoderReranker(path)


@st.cache_resource(show_spinner=False)
def _run_store(path: str):
    from lab.experiments.run_store import RunStore
    return RunStore(path)


def run_store():
    """The run store of the current data directory."""
    from lab.config import data_dir
    return _run_store(str(data_dir() / "runs.sqlite"))


def forget_run_store() -> None:
    """Drop the cached run store (it was found damaged: the next call opens the file afresh)."""
    _run_store.clear()


@st.cache_resource(show_spinner=False)
def jobs() -> dict:
    """Background jobs (`lab.jobs.BackgroundJob`) of this server process by id: they outlive page changes and reruns."""
    return {}


class PageResources:
    """`lab.session.Resources` backed by the cached loaders above (looked up at call time, so tests can swap them)."""

    @staticmethod
    def store():
        return store()

    @staticmethod
    def embedder(spec=None):
        return embedder(spec)

    @staticmethod
    def bm25(collection: str):
        return bm25(collection)

    @staticmethod
    def reranker(name_or_path: str):
        return reranker(name_or_path)

    @staticmethod
    def generator(name: str | None, backend: str | None = None):
        return generator(name, backend)

    @staticmethod
    def endpoint(settings):
        return endpoint(settings.base_url, settings.model, settings.api_key_env, settings.concurrency)
