"""The session's choices (sidebar, Models page) as `lab.session.Settings`, and the runs started from them."""

from __future__ import annotations

import streamlit as st

from lab.config import DEFAULT_COLLECTION, BatchConfig, DecodingConfig, RetrievalConfig
from lab.errors import LabError
from pages.ui.resources import PageResources, jobs, store


def collection_names() -> list[str]:
    try:
        return store().names()  # (staging collections of unfinished ingests left out)
    except LabError as exc:
        st.error(str(exc))
        return []


def active_collection() -> str | None:
    """The collection chosen in the sidebar (None when there is none yet)."""
    names = collection_names()
    if not names:
        return None
    current = st.session_state.get("collection")
    if current not in names:
        st.session_state["collection"] = DEFAULT_COLLECTION if DEFAULT_COLLECTION in names else names[0]
    return st.session_state["collection"]


def settings(collection: str | None = None, retrieval: RetrievalConfig | None = None,
             decoding: DecodingConfig | None = None):
    """The settings the paths run with: the active (or given) collection, the base model, adapter and endpoint
    chosen on the Models page, and the retrieval and decoding settings of the calling page."""
    from lab.session import EndpointSettings, Settings

    remote = st.session_state.get("endpoint")
    return Settings(collection=collection or active_collection(), model=st.session_state.get("model_name"),
                    adapter=st.session_state.get("adapter_dir"), endpoint=EndpointSettings(**remote) if remote else None,
                    retrieval=retrieval or RetrievalConfig(), decoding=decoding or DecodingConfig())


def path_context(paths=None, collection: str | None = None, retrieval: RetrievalConfig | None = None,
                 decoding: DecodingConfig | None = None):
    """The PathContext of the session (the local model loads only when one of `paths` needs it)."""
    from lab.session import path_context as build

    return build(settings(collection, retrieval, decoding), PageResources, paths)


def retrievers(collection: str, reranker: str | None = None) -> tuple[dict, str | None]:
    """Retrieval modes of a collection (dense, bm25, hybrid, and rerank when a cross-encoder loads), and why
    rerank is missing when it is."""
    from lab.session import retrievers as build

    return build(settings(collection, RetrievalConfig(reranker=reranker)), PageResources)


def start_compare(questions, questions_name: str, paths, retrieval: RetrievalConfig, decoding: DecodingConfig,
                  batch: BatchConfig, extra_manifest: dict | None = None) -> str:
    """Start a background batch run; returns its run id (the job is kept in `jobs()`)."""
    from lab.session import compare_job

    job = compare_job(settings(None, retrieval, decoding), PageResources, questions, questions_name, paths, batch,
                      extra_manifest).start()
    jobs()[job.run_id] = job
    return job.run_id
