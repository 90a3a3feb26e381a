"""Shared UI helpers (not a page): cached resources, each a thin call into lab/, and the sidebar."""

from __future__ import annotations

import streamlit as st

from lab.config import DEFAULT_COLLECTION
from lab.display import as_text
from lab.errors import LabError
from lab.evaluation.metrics import cited as cited_passages


@st.cache_resource(show_spinner="Loading the embedder...")
def embedder():
    from lab.index.embeddings import SentenceTransformerEmbedder
    return SentenceTransformerEmbedder()


@st.cache_resource(show_spinner="Loading the generator (the first start converts it once, ~30 s)...")
def generator(name: str | None = None):
    from lab.generation.models import LocalGenerator
    return LocalGenerator(name)


@st.cache_resource(show_spinner=False, max_entries=4)
def endpoint(base_url: str, model: str, api_key_env: str | None = None):
    from lab.generation.endpoint import EndpointGenerator
    return EndpointGenerator(base_url, model, api_key_env)


@st.cache_resource(show_spinner=False)
def _store(data: str, host: str):
    from lab.index.store import Store
    return Store(host or None)


def store():
    """The Chroma store of the current data directory (or LAB_CHROMA_HOST's server)."""
    from lab.config import chroma_host, data_dir
    return _store(str(data_dir()), chroma_host() or "")


@st.cache_resource(show_spinner="Building the BM25 index...", max_entries=8)
def bm25(collection: str, chunks: int):
    """One BM25 index per collection version (`chunks` changes when the collection does)."""
    from lab.index.retrieval import bm25_index
    return bm25_index(store(), collection)


@st.cache_resource(show_spinner="Loading the cross-encoder...", max_entries=2)
def reranker(path: str):
    from lab.index.rerank import CrossEncoderReranker
    return CrossEncoderReranker(path)


def retrievers(collection: str, reranker_path: str | None = None):
    """Retrieval modes of a collection (dense, bm25, hybrid, and rerank when a cross-encoder loads)."""
    from lab.index.retrieval import retrievers_for

    chunks = store().info(collection).chunks
    return retrievers_for(store(), collection, embedder(), bm25(collection, chunks),
                          reranker(reranker_path) if reranker_path else None)


@st.cache_resource(show_spinner=False)
def jobs() -> dict:
    """Background jobs of this server process by id (they outlive page changes and reruns)."""
    return {}


def path_context(collection: str | None, k: int = 4, decoding=None, paths=None):
    """The PathContext for the active collection, base model, adapter and endpoint chosen in the session
    (the local model loads only when one of `paths` needs it; all of them when `paths` is None)."""
    from lab.config import DecodingConfig
    from lab.experiments.answer_paths import PathContext, is_endpoint_path

    modes = retrievers(collection) if collection else {}
    model = adapter = None
    if paths is None or not all(is_endpoint_path(p) for p in paths):
        model = generator(st.session_state.get("model_name"))
        adapter_dir = st.session_state.get("adapter_dir")
        adapter = model.load_adapter(adapter_dir) if adapter_dir else None
    settings = st.session_state.get("endpoint")
    remote = endpoint(**settings) if settings else None
    return PathContext(model, modes.get("dense"), modes.get("hybrid"), k, decoding or DecodingConfig(), adapter,
                       remote)


@st.cache_resource(show_spinner=False)
def _run_store(path: str):
    from lab.experiments.run_store import RunStore
    return RunStore(path)


def run_store():
    """The run store of the current data directory."""
    from lab.config import data_dir
    return _run_store(str(data_dir() / "runs.sqlite"))


def start_compare(questions, questions_name: str, paths, k: int, max_new_tokens: int, batch_size: int,
                  extra_manifest: dict | None = None) -> str:
    """Start a background batch run; returns its run id (the job is kept in `jobs()`)."""
    from lab.experiments.batch import CompareJob, collection_manifest, manifest_for
    from lab.config import DecodingConfig

    collection = active_collection()
    ctx = path_context(collection, k, DecodingConfig(max_new_tokens), paths)
    extra = {**(collection_manifest(store(), collection) if collection else {}), **(extra_manifest or {})}
    job = CompareJob(questions, paths, ctx, run_store(), manifest_for(ctx, collection, questions_name, extra),
                     embedder(), batch_size=batch_size).start()
    jobs()[job.run_id] = job
    return job.run_id


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


def login_gate() -> None:
    """Before any page draws: an OIDC sign-in when [auth] is in secrets.toml, the LAB_PASSWORD password when set
    (lab.auth); st.stop() until this browser session has passed each configured one. Nothing when neither is."""
    import time

    from streamlit.runtime.pages_manager import PagesManager

    from lab.auth import AUTHLIB_MISSING, configured_password, failure_delay, password_matches

    if not PagesManager.uses_pages_directory:
        st.session_state["lab_framed"] = True  # this session has run through app.py's navigation
    elif not st.session_state.get("lab_framed"):
        # A fresh server answers its very first request in Streamlit's old pages/-folder mode, running a page
        # file without app.py (no navigation, helper modules listed as pages). Go through the frame once;
        # app.py's st.navigation switches the server to the lab's own navigation for good.
        st.session_state["lab_framed"] = True
        st.switch_page("app.py")
    try:
        oidc = "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml
        oidc = False
    if oidc and not st.user.get("is_logged_in", False):
        from streamlit.auth_util import is_authlib_installed

        st.title("Sign in")
        if not is_authlib_installed():
            st.error(AUTHLIB_MISSING)
        else:
            st.button("Sign in with your identity provider", key="lab_login_oidc", type="primary", on_click=st.login)
        st.stop()
    try:
        expected = configured_password()
    except LabError as exc:
        st.error(str(exc))
        st.stop()
    if expected is None or st.session_state.get("lab_password_ok"):
        return
    st.title("Sign in")
    with st.form("lab_login"):
        given = st.text_input("Password", type="password", key="lab_login_password")
        submitted = st.form_submit_button("Enter", type="primary", key="lab_login_submit")
    if submitted and password_matches(given, expected):
        st.session_state["lab_password_ok"] = True
        st.rerun()
    if submitted:
        failures = st.session_state["lab_login_failures"] = st.session_state.get("lab_login_failures", 0) + 1
        time.sleep(failure_delay(failures))
        st.error("Wrong password. Ask whoever shared the lab for it.")
    st.stop()


def sidebar() -> None:
    with st.sidebar:
        names = collection_names()
        if names:
            active_collection()
            st.selectbox("Active collection", names, key="collection")
        else:
            st.caption("No collection yet: ingest a corpus on the Corpus page.")
        st.caption(f"Base model: {st.session_state.get('model_name') or 'SmolLM2-135M-Instruct (embedded)'}")
        if st.session_state.get("endpoint"):
            st.caption(f"Endpoint: {st.session_state['endpoint']['model']} (the ...@endpoint paths)")
        st.caption("Embedder: all-MiniLM-L6-v2 (embedded)")


def ingest_with_progress(paths, collection: str, config, names=None):
    """Run lab.index.ingest with a progress bar; returns the report, or None after showing the error."""
    from lab.index.ingest import ingest

    bar = st.progress(0.0, text="Starting...")

    def progress(done: int, total: int, name: str) -> None:
        bar.progress(done / total, text=f"{done}/{total} files - {name}")

    try:
        report = ingest(paths, collection, embedder(), store(), config, progress, names)
    except LabError as exc:
        bar.empty()
        st.error(as_text(exc))  # it may name an uploaded file
        return None
    bar.progress(1.0, text=f"Done in {report.seconds['total']:.1f} s")
    st.session_state["collection"] = collection
    return report


def show_ingest_report(report) -> None:
    cols = st.columns(4)
    cols[0].metric("Documents ingested", report.documents)
    cols[1].metric("Unchanged (skipped)", len(report.unchanged))
    cols[2].metric("Chunks written", report.chunks_added)
    cols[3].metric("Chunks in collection", report.chunks_total)
    st.caption("Seconds by stage: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))
    if getattr(report, "resumed", None):
        st.info(f"{len(report.resumed)} file(s) had been embedded by an interrupted ingest: reused, not embedded "
                "again.")
    if report.skipped:
        st.warning(f"{len(report.skipped)} file(s) skipped:")
        st.dataframe([{"file": s.path, "reason": s.reason} for s in report.skipped], hide_index=True,
                     key=f"skipped_{id(report)}")


def show_answers(answers, gold: str | None = None, key: str = "answers") -> None:
    """Answers side by side: text (never rendered as HTML/Markdown), latency by stage, retrieved chunks."""
    if gold:
        st.caption(f"Gold answer: {as_text(gold)}")
    columns = st.columns(len(answers))
    for column, answer in zip(columns, answers):
        with column:
            st.subheader(answer.path)
            if answer.error:
                st.error(f"Could not run: {as_text(answer.error)}")
                continue
            st.code(answer.text or "(empty answer)", language=None, wrap_lines=True)
            cited = cited_passages(answer.text)
            if cited:
                st.caption("Cites: " + "; ".join(
                    f"[{n}] {as_text(answer.hits[n - 1].source)}" if 1 <= n <= len(answer.hits)
                    else f"[{n}] (no such chunk)"
                    for n in cited))
            stages = ", ".join(f"{k} {v:.0f} ms" for k, v in answer.latency_ms.items() if k != "total")
            st.metric("Latency", f"{answer.latency_ms.get('total', 0):.0f} ms", help=stages)
            estimated = " (estimated: the endpoint reported no usage)" if answer.tokens_estimated else ""
            st.caption(f"{answer.model} | {stages} | tokens in {answer.tokens_in}, out {answer.tokens_out}{estimated}")
            for i, hit in enumerate(answer.hits, 1):
                where = f" p.{hit.page}" if hit.page else (f" - {hit.heading}" if hit.heading else "")
                with st.expander(f"[{i}] {as_text(hit.source + where, one_line=True)} - score {hit.score:.3f}"):
                    st.code(hit.text, language=None, wrap_lines=True)
