"""The Models page's behaviour-set builder: a golden set's questions -> prompt/completion pairs in the user's
target format, split 80/10/10 with general examples mixed in against forgetting, shown before it is saved and
offered to the training form (`python -m lab golden behaviour` is its command-line twin)."""

from __future__ import annotations

import streamlit as st

from lab.config import data_dir
from lab.errors import InputError, LabError
from pages.sections import golden_picker
from pages.ui import resources

DEFAULT_SCHEMA = '{"type": "object", "properties": {"answer": {}, "sources": {}, "confidence": {}}}'


def folder():
    """Where built behaviour sets are kept: `<data dir>/finetune/NAME/{train,validation,test}.jsonl`."""
    return data_dir() / "finetune"


def draw() -> None:
    from lab.finetune.behaviour import GENERAL_SHARE

    st.header("Build a behaviour set from your golden questions")
    st.caption("Fine-tuning teaches a format or a tone, not facts. Pick a golden set, say what the answers must "
               "look like, and the lab makes prompt/completion pairs (from the golden answers, or from the "
               "endpoint as a teacher), splits them 80/10/10 and mixes in general examples so the adapter does "
               "not forget how to answer other things.")
    chosen = golden_picker.pick("bh_golden", st.session_state.get("collection"), label="Questions from")
    form = st.radio("Target format", ["JSON schema", "Example answers (tone)"], key="bh_format", horizontal=True)
    if form == "JSON schema":
        spec = st.text_area("JSON schema of the answer", DEFAULT_SCHEMA, key="bh_schema",
                            help="Its `properties` name the fields. Without a teacher they are filled from the golden "
                                 "set: answer, sources, confidence (\"high\"), question; any other field is empty.")
    else:
        spec = st.text_area("Example answers, one a line", key="bh_examples",
                            help="The teacher imitates their tone; without a teacher the golden answers are used as "
                                 "they are.")
    left, mid, right = st.columns(3)
    share = left.slider("Share of general examples in training", 0.0, 0.45, GENERAL_SHARE, 0.05, key="bh_share",
                        help="The guide's fix for forgetting: 10-20% of general examples.")
    remote = st.session_state.get("endpoint")
    use_teacher = mid.checkbox("The endpoint writes the answers", bool(remote), key="bh_teacher",
                               disabled=not remote, help="Set an endpoint above to use it as the teacher.")
    name = right.text_input("Save as", "my-behaviour", key="bh_name")
    if st.button(f"Build the set {name.strip() or '(name it)'} from {chosen.label if chosen else '(no golden set)'}",
                 key="bh_build", help="Saved under data/finetune/ in the data directory; an existing name is refused "
                                      "unless it is a behaviour set the lab made, which it replaces."):
        try:
            st.session_state["bh_last"] = _build(chosen, form, spec, share, use_teacher and remote, name)
        except LabError as exc:
            st.error(str(exc))
    if "bh_last" in st.session_state:
        saved, built = st.session_state["bh_last"]
        st.success(f"Saved {saved}: train {len(built.train)} (of which {built.general_in_train} general), validation "
                   f"{len(built.validation)}, test {len(built.test)}; answers from {built.teacher or 'the golden set'}."
                   " Pick it as the training data below.")
        st.dataframe(built.train[:10], hide_index=True, key="bh_preview")


def _build(golden_set, form: str, spec: str, share: float, remote: dict | None, name: str):
    from lab.finetune.behaviour import make_set
    from lab.outputs import check_artefact_name

    if golden_set is None:
        raise InputError("Choose a golden set first (build or import one on the Golden sets page).")
    out = folder() / check_artefact_name(name, "Save as")
    texts = {"schema_text": spec} if form == "JSON schema" else {"examples_text": spec}
    teacher = resources.endpoint(remote["base_url"], remote["model"], remote.get("api_key_env")) if remote else None
    with st.spinner(f"{teacher.name} is writing {len(golden_set.questions)} answers..." if teacher else "Building..."):
        built, saved = make_set(golden_set.questions, share=share, teacher=teacher, out=out, **texts)
    return saved, built
