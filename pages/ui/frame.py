"""The frame every page shares: the sign-in gate (before anything draws) and the sidebar."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lab.errors import LabError
from pages.ui.state import active_collection, apply_requests, collection_names


def login_gate() -> None:
    """Before any page draws: an OIDC sign-in when [auth] is in secrets.toml, the LAB_PASSWORD password when set
    (lab.auth); st.stop() until this browser session has passed each configured one. Nothing when neither is."""
    import time

    from streamlit.runtime.pages_manager import PagesManager

    apply_requests()  # values pages asked for in the last run, before any widget is drawn

    from lab.auth import AUTHLIB_MISSING, configured_password, failure_delay, password_matches

    if not PagesManager.uses_pages_directory:
        st.session_state["lab_framed"] = True  # this browser session has run through app.py's navigation
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
    from lab.gate import VOUCH, vouched

    if vouched(st.context.headers.get(VOUCH.decode())):  # `make run`'s gate checked the password already
        st.session_state["lab_password_ok"] = True
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


def _follow_collection() -> None:
    """A switch of the active collection: the Corpus page's target follows it, and an ingest waiting for
    confirmation into the collection left behind is dropped (a callback: before widgets draw)."""
    st.session_state["corpus_target"] = "active"
    st.session_state.pop("ingest_pending", None)


def sidebar() -> None:
    """What the paths will run with: collection, base model, adapter, endpoint (always current: pages that
    change them rerun)."""
    restore_from_url()
    with st.sidebar:
        names = collection_names()
        if names:
            st.session_state["collection"] = active_collection(names)  # no widget drawn yet in this run
            apply_requests()
            st.selectbox("Active collection", names, key="collection", on_change=_follow_collection)
        else:
            st.caption("No collection yet: ingest a corpus on the Corpus page.")
        st.caption(f"Base model: {st.session_state.get('model_name') or 'SmolLM2-135M-Instruct (embedded)'}")
        adapter = st.session_state.get("adapter_dir")
        st.caption(f"Adapter: {Path(adapter).name if adapter else 'none (finetuned and hybrid need one)'}")
        if st.session_state.get("endpoint"):
            st.caption(f"Endpoint: {st.session_state['endpoint']['model']} (the ...@endpoint paths)")
        st.caption(f"Embedder: {_embedder_of(st.session_state.get('collection')) if names else 'all-MiniLM-L6-v2'}")
    keep_in_url()


# What survives a refresh (F5) and can be shared as a link: the active collection and the loaded adapter live in
# the page's URL; the Decide page keeps its wizard's answers there too.
URL_KEYS = {"collection": "collection", "adapter": "adapter_dir"}


def restore_from_url() -> None:
    """A fresh session (a refresh, a second tab, a shared link) takes its choices from the URL, once."""
    if st.session_state.get("_lab_url_read"):
        return
    st.session_state["_lab_url_read"] = True
    for param, key in URL_KEYS.items():
        value = st.query_params.get(param)
        if value and key not in st.session_state:
            st.session_state[key] = value


def keep_in_url() -> None:
    """Write the session's current choices into the URL (only what changed: setting a parameter reruns nothing)."""
    for param, key in URL_KEYS.items():
        value = st.session_state.get(key)
        if value and st.query_params.get(param) != str(value):
            st.query_params[param] = str(value)
        elif not value and param in st.query_params:
            del st.query_params[param]


def _embedder_of(collection: str | None) -> str:
    from pages.ui.resources import store

    try:
        return store().info(collection).embedder if collection else "all-MiniLM-L6-v2 (embedded)"
    except LabError:
        return "?"
