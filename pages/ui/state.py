"""The session's choices (sidebar, Models page) as `lab.session.Settings`, and the runs started from them.

Streamlit owns the session key of every widget once the widget is drawn in a run: assigning it afterwards
raises StreamlitWidgetAlreadyInstantiatedError. So a page that must change a widget-owned key after drawing
(the active collection after an ingest, a rename or a delete) *requests* it: `request(key, value)` parks the
value, `apply_requests()` (called by the frame before any widget) sets it on the next run, and the page
reruns. Streamlit also drops a widget's value when its page is left; `restore`/`remember` keep the values a
user chose (Compare's paths, k) for the session.
"""

from __future__ import annotations

import streamlit as st

from lab.config import DEFAULT_COLLECTION, BatchConfig, DecodingConfig, RetrievalConfig
from lab.errors import LabError
from pages.ui.resources import PageResources, jobs, store


_REQUESTS = "_lab_requests"
_KEPT = "_lab_kept_"


def request(key: str, value) -> None:
    """Set the widget-owned session key `key` to `value` (None: remove it) at the start of the next run."""
    st.session_state.setdefault(_REQUESTS, {})[key] = value


def apply_requests() -> None:
    """Apply the requested values; the frame calls this before any widget is drawn."""
    for key, value in st.session_state.pop(_REQUESTS, {}).items():
        if value is None:
            st.session_state.pop(key, None)
        else:
            st.session_state[key] = value


def select_collection(name: str | None) -> None:
    """Make `name` the active collection (sidebar; the Corpus page's target follows it), then rerun to show it."""
    request("collection", name)
    st.rerun()


def keep_for(collection: str | None, key: str, value) -> None:
    """Keep a result the page shows (search hits, scores, an ingest waiting for its yes) with the collection it was
    made on: `kept_for` gives it back only while that collection is the active one."""
    st.session_state[key] = (collection, value)


def kept_for(collection: str | None, key: str, default=None):
    """The value `keep_for` kept under `key` for `collection`; `default` when it was made on another collection
    (a switch never shows, or lets a click act on, what was found in the collection before)."""
    kept = st.session_state.get(key)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == collection:
        return kept[1]
    return default


def restore(key: str, default) -> None:
    """Before drawing the widget `key`: give it the value this browser session last chose, else `default`."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(_KEPT + key, default)


def remember(key: str) -> None:
    """After drawing the widget `key`: keep its value for when the user comes back to the page."""
    st.session_state[_KEPT + key] = st.session_state.get(key)


def done(message: str, where: str) -> None:
    """Finish an action that changed what the sidebar or the page shows: rerun, then say `message` at `where`."""
    st.session_state[f"_lab_done_{where}"] = message
    st.rerun()


def show_done(where: str) -> None:
    """The message of the action finished at `where` in the last run, once."""
    message = st.session_state.pop(f"_lab_done_{where}", None)
    if message:
        st.success(message)


def collection_names() -> list[str]:
    from lab.errors import DamagedStore

    try:
        names = store().names()  # (staging collections of unfinished ingests left out)
        show_done("rebuild")
        return names
    except LabError as exc:
        st.error(str(exc))
        if isinstance(exc, DamagedStore) and exc.restorable:
            offer_rebuild()
        return []


def offer_rebuild() -> None:
    """A damaged Chroma store with a catalogue: one button rebuilds every collection (`lab.index.catalogue`)."""
    if not st.button("Rebuild the collections", key="lab_rebuild_chroma", type="primary",
                     help="Moves the damaged folder aside (kept) and embeds each collection's kept texts again."):
        return
    from lab.session import rebuild_collections

    with st.status("Rebuilding the collections...", expanded=True) as box:
        try:
            result = rebuild_collections(PageResources, lambda message: box.write(message))
        except LabError as exc:
            box.update(label="Not rebuilt", state="error")
            st.error(str(exc))
            return
        box.update(label="Rebuilt", state="complete" if not result.failed else "error")
    st.session_state["_lab_done_rebuild"] = result.summary()
    st.rerun()


def active_collection(names: list[str] | None = None) -> str | None:
    """The collection chosen in the sidebar (None when there is none yet). When the chosen one is gone, the
    fallback (the sample, else the first) is requested for the sidebar and returned."""
    names = collection_names() if names is None else names
    if not names:
        return None
    current = st.session_state.get("collection")
    if current in names:
        return current
    fallback = DEFAULT_COLLECTION if DEFAULT_COLLECTION in names else names[0]
    request("collection", fallback)
    return fallback


def settings(collection: str | None = None, retrieval: RetrievalConfig | None = None,
             decoding: DecodingConfig | None = None, adapter: str | None = None):
    """The settings the paths run with: the active (or given) collection, the base model, adapter (unless one is
    given) and endpoint chosen on the Models page, and the retrieval and decoding settings of the calling page."""
    from lab.session import EndpointSettings, Settings

    remote = st.session_state.get("endpoint")
    return Settings(collection=collection or active_collection(), model=st.session_state.get("model_name"),
                    backend=st.session_state.get("backend"), adapter=adapter or st.session_state.get("adapter_dir"),
                    endpoint=EndpointSettings(**remote) if remote else None,
                    retrieval=retrieval or RetrievalConfig(), decoding=decoding or DecodingConfig())


def path_context(paths=None, collection: str | None = None, retrieval: RetrievalConfig | None = None,
                 decoding: DecodingConfig | None = None, adapter: str | None = None):
    """The PathContext of the session (the local model loads only when one of `paths` needs it)."""
    from lab.session import path_context as build

    return build(settings(collection, retrieval, decoding, adapter), PageResources, paths)


def retrievers(collection: str, reranker: str | None = None) -> tuple[dict, str | None]:
    """Retrieval modes of a collection (dense, bm25, hybrid, and rerank when a cross-encoder loads), and why
    rerank is missing when it is."""
    from lab.session import retrievers as build

    return build(settings(collection, RetrievalConfig(reranker=reranker)), PageResources)


def start_compare(questions, questions_name: str, paths, retrieval: RetrievalConfig, decoding: DecodingConfig,
                  batch: BatchConfig, extra_manifest: dict | None = None, collection: str | None = None,
                  stop=None) -> str:
    """Start a background batch run on `collection` (default: the active one); returns its run id (the job is kept
    in `jobs()`). The same request while its run is still going (a double click, a second tab, a start after a
    refresh) returns that run instead."""
    from lab.session import compare_job

    chosen = settings(collection, retrieval, decoding)
    request = ("compare", chosen, questions_name, tuple(q.id for q in questions), tuple(paths), batch, stop)
    for job in list(jobs().values()):
        if job.request == request and job.running:
            return job.id
    job = compare_job(chosen, PageResources, questions, questions_name, paths, batch, extra_manifest, stop=stop)
    job.request = request
    jobs()[job.run_id] = job.start()
    return job.run_id


def resume_compare(run_id: str) -> str:
    """Resume a stopped run in the background (`lab.session.resume_job`); a second click while it runs finds it."""
    from lab.session import resume_job

    current = jobs().get(run_id)
    if current is not None and current.running:
        return run_id
    job = resume_job(run_id, PageResources)
    jobs()[job.run_id] = job.start()
    st.session_state["batch_job"] = job.run_id
    return job.run_id
