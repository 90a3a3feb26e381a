"""The Models page's behaviour-set builder: a golden set's questions -> prompt/completion pairs in the user's
target format, split 80/10/10 with general examples mixed in against forgetting, shown before it is saved and
offered to the training form (`python -m lab golden behaviour` is its command-line twin)."""

from __future__ import annotations

import json

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
    if st.button("Build the set", key="bh_build"):
        try:
            built = _build(chosen, form, spec, share, use_teacher and remote)
            if not name.strip() or not name.replace("-", "").replace("_", "").isalnum():
                raise InputError("Save as: use letters, digits, - and _ only.")
            saved = built.save(folder() / name.strip())
            st.session_state["bh_last"] = (saved, built)
        except LabError as exc:
            st.error(str(exc))
    if "bh_last" in st.session_state:
        saved, built = st.session_state["bh_last"]
        st.success(f"Saved {saved}: train {len(built.train)} (of which {built.general_in_train} general), validation "
                   f"{len(built.validation)}, test {len(built.test)}; answers from {built.teacher or 'the golden set'}."
                   " Pick it as the training data below.")
        st.dataframe(built.train[:10], hide_index=True, key="bh_preview")


def _build(golden_set, form: str, spec: str, share: float, remote: dict | None):
    from lab.evaluation.golden import load_golden
    from lab.finetune.behaviour import build
    from lab.finetune.evaluation import GENERAL_TASKS

    if golden_set is None:
        raise InputError("Choose a golden set first (build or import one on the Golden sets page).")
    schema, examples = None, []
    if form == "JSON schema":
        try:
            schema = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise InputError(f"The JSON schema is not valid JSON (line {exc.lineno}, column {exc.colno}): "
                             f"{exc.msg}.") from exc
        if not isinstance(schema, dict):
            raise InputError('The JSON schema must be an object, e.g. {"properties": {"answer": {}}}.')
    else:
        examples = [line.strip() for line in spec.splitlines() if line.strip()]
    teacher = resources.endpoint(remote["base_url"], remote["model"], remote.get("api_key_env")) if remote else None
    general = load_golden(GENERAL_TASKS) if share else []
    if teacher is not None:
        with st.spinner(f"{teacher.name} is writing {len(golden_set.questions)} answers..."):
            return build(golden_set.questions, schema, examples, general, share, teacher)
    return build(golden_set.questions, schema, examples, general, share)
