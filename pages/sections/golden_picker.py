"""A selector over the stored golden sets (a UI helper, not a page): the Corpus page's retrieval evaluation and
the Compare page's picker and batch run draw it. The set of the active collection is preselected."""

from __future__ import annotations

import streamlit as st

from lab.display import count
from lab.errors import LabError


def _store():
    from lab.evaluation.golden_store import GoldenStore

    return GoldenStore()


def pick(key: str, collection: str | None = None, label: str = "Golden set"):
    """A selectbox of `name@vN (collection, n questions)`; returns the chosen `GoldenSet` (None when none)."""
    try:
        infos = _store().list()
    except LabError as exc:
        st.error(str(exc))
        return None
    if not infos:
        st.info("No golden set yet: build or import one on the Golden sets page.")
        return None
    owner = f"{key}__collection"  # a choice made for another collection does not carry over a switch
    if st.session_state.get(owner) != collection:
        st.session_state.pop(key, None)
        st.session_state[owner] = collection
    labels = {f"{i.name}@v{i.latest.version} ({count(i.latest.questions, 'question')}, collection {i.collection or '-'})": i
              for i in infos}
    names = list(labels)
    default = next((n for n, i in enumerate(labels.values()) if i.collection == collection), 0)
    chosen = st.selectbox(label, names, index=default, key=key,
                          help="Golden sets live in the data directory (Golden sets page, or `python -m lab golden`).")
    info = labels[chosen]
    try:
        return _store().get(info.name)
    except LabError as exc:
        st.error(str(exc))
        return None
