"""The Corpus page's ingest form (a UI helper, not a page). Its target is shown on the button and follows the
sidebar's active collection (it is read at every run, never kept from before a switch); files from another source
into a collection that holds documents, or a same-named document from elsewhere, wait for an explicit
confirmation that names the collection and what would be replaced. Work: `lab.index.ingest`."""

from __future__ import annotations

import streamlit as st

from lab.config import DEFAULT_COLLECTION, SAMPLE_DOCS, ChunkConfig
from lab.corpus.parsing import SUPPORTED
from lab.display import as_text
from lab.errors import LabError
from pages.ui import resources, state, widgets

PENDING = "ingest_pending"


def draw(active: str | None) -> None:
    st.header("Build or update a collection")
    source = st.radio("Documents", ["Sample corpus", "Upload files"], horizontal=True, key="corpus_source")
    uploads = None
    if source == "Upload files":
        # No type filter: extension-less text (LICENSE, COPYING, README) is read, and a file the lab cannot read is
        # listed after ingest with its reason rather than silently dropped by the browser.
        uploads = st.file_uploader("Files", accept_multiple_files=True, key="corpus_uploads",
                                   help="Read: " + ", ".join(sorted(SUPPORTED)) + " and extension-less text files. "
                                        "Anything else is listed after ingest with the reason it was skipped.")
    left, mid, right = st.columns(3)
    options = ["active", "new"] if active else ["new"]
    if st.session_state.get("corpus_target") not in options:  # no collection any more (the last one deleted)
        st.session_state["corpus_target"] = options[0]
    where = left.radio("Into", options, key="corpus_target", horizontal=True,
                       format_func=lambda o: f"the active collection ({active})" if o == "active" else "a new one")
    target = active if where == "active" else \
        left.text_input("New collection's name", DEFAULT_COLLECTION if not active else "", key="corpus_collection",
                        help="One collection per corpus or tenant.").strip()
    spec = _embedder_choice(left) if where == "new" else None
    size = mid.number_input("Chunk size (embedder tokens)", 128, 1024, ChunkConfig.size, step=32, key="chunk_size")
    overlap = right.number_input("Overlap (tokens)", 0, 511, ChunkConfig.overlap, step=8, key="chunk_overlap")

    if st.button(f"Ingest into {target or '...'}", key="ingest", type="primary"):
        st.session_state.pop(PENDING, None)
        try:
            _prepare(source, uploads, target, ChunkConfig(size=int(size), overlap=int(overlap)), spec, active)
        except LabError as exc:
            st.error(str(exc))
    pending = state.kept_for(active, PENDING)  # asked before a switch: asked again, after the user sees the target
    if pending:
        st.warning(as_text(pending["plan"].warning()) + " Write them into this collection?")
        yes, no = st.columns(2)
        if yes.button(f"Yes, ingest into {pending['target']}", key="ingest_confirm"):
            st.session_state.pop(PENDING, None)
            _run(pending, replace_elsewhere=True)
        if no.button("Cancel", key="ingest_cancel"):
            st.session_state.pop(PENDING, None)
            st.rerun()
    if "last_ingest" in st.session_state:
        widgets.show_ingest_report(st.session_state["last_ingest"])


def _embedder_choice(column):
    """A new collection's embedder: the embedded default, a sentence-transformers folder, or an embeddings server
    (its key among those the lab's operator allowed). Returns the spec, or None for the default."""
    from lab.endpoint_policy import EndpointPolicy
    from lab.errors import InputError

    kind = column.selectbox("Embedder", ["all-MiniLM-L6-v2 (embedded)", "A sentence-transformers folder",
                                         "An OpenAI-compatible embeddings server"], key="corpus_embedder_kind",
                            help="Recorded with the collection: its queries always use it.")
    if kind.startswith("all-MiniLM"):
        return None
    if kind.startswith("A sentence"):
        return ("folder", column.text_input("Folder", key="corpus_embedder_folder"), None, None)
    url = column.text_input("Base URL", key="corpus_embedder_url", placeholder="http://127.0.0.1:8080/v1")
    model = column.text_input("Model name", key="corpus_embedder_model")
    try:
        keys = EndpointPolicy.from_env().key_choices()
    except InputError:
        keys = []
    key = column.selectbox("API key", [None, *keys], key="corpus_embedder_key", format_func=lambda k: k or "(none)")
    return ("server", url, model, key)


def _spec(choice):
    """The EmbedderSpec of the page's choice, checked (the server's host and key against the operator's policy)."""
    from lab.endpoint_policy import EndpointPolicy
    from lab.index.embeddings import EmbedderSpec

    if choice is None:
        return None
    kind, where, model, key = choice
    if kind == "server":
        EndpointPolicy.from_env().check(where, key)
    return EmbedderSpec.parse(where, model, key)


def _prepare(source: str, uploads, target: str, config: ChunkConfig, choice=None, active: str | None = None
             ) -> None:
    """Check the target and the files, then ingest, or park the job for confirmation when the plan asks for it."""
    from lab.index.ingest import plan_ingest
    from lab.index.store import check_name

    check_name(target)
    refused: list[tuple[str, str]] = []
    if source == "Sample corpus":
        paths, names = [SAMPLE_DOCS], None
    else:
        if not uploads:
            raise LabError("Choose one or more files to upload first.")
        from lab.corpus.uploads import save_uploads

        stored, refused = save_uploads([(f.name, f.getvalue()) for f in uploads])
        if not stored:
            raise LabError("None of the files can be ingested: " + "; ".join(r for _, r in refused))
        paths, names = [p for p, _ in stored], dict(stored)
    job = {"paths": paths, "names": names, "target": target, "config": config, "refused": refused,
           "spec": _spec(choice), "plan": plan_ingest(paths, target, resources.store(), names)}
    if job["plan"].needs_confirmation:
        state.keep_for(active, PENDING, job)
        return
    _run(job)


def _run(job: dict, replace_elsewhere: bool = False) -> None:
    report = widgets.ingest_with_progress(job["paths"], job["target"], job["config"], job["names"],
                                          replace_elsewhere=replace_elsewhere, spec=job.get("spec"))
    if report is None:
        return
    if job["refused"]:
        from lab.index.ingest import Skipped

        report.skipped[:0] = [Skipped(n, reason) for n, reason in job["refused"]]  # listed like the command line's
    st.session_state["last_ingest"] = report
    state.request("corpus_target", "active")
    state.select_collection(job["target"])
