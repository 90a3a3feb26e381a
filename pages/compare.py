"""Compare: one question through the paths side by side, or a golden set as a background batch run."""

import streamlit as st

from lab.config import SAMPLE_GOLDEN, DecodingConfig
from lab.errors import LabError
from lab.golden import load_golden, parse_golden
from lab.paths import PATHS, run_path
from pages import common

st.title("Compare")
adapter_dir = st.session_state.get("adapter_dir")
default_paths = list(PATHS) if adapter_dir else ["prompt", "rag", "hybrid-rag"]
st.caption(f"Adapter: {adapter_dir or 'none loaded (finetuned and hybrid need one: Models page)'}")

left, mid, right = st.columns([3, 1, 1])
paths = left.multiselect("Paths", list(PATHS), default=default_paths, key="paths")
k = mid.number_input("Chunks (k)", 1, 20, 4, key="k")
max_new = right.number_input("Max new tokens", 8, 512, DecodingConfig.max_new_tokens, key="max_new_tokens")

single, batch = st.tabs(["One question", "Golden set (batch)"])

with single:
    golden = {f"{q.id}: {q.question}": q for q in load_golden(SAMPLE_GOLDEN)}
    pick = st.selectbox("Sample golden question", ["(type your own)"] + list(golden), key="golden_pick")
    chosen = golden.get(pick)
    question = st.text_area("Question", value=chosen.question if chosen else "", key=f"question_{pick}")
    if st.button("Ask", key="ask", type="primary"):
        try:
            if not question.strip():
                raise LabError("Type a question or pick a golden one.")
            if not paths:
                raise LabError("Choose at least one path.")
            ctx = common.path_context(common.active_collection(), int(k), DecodingConfig(int(max_new)))
            answers = []
            progress = st.progress(0.0, text="Answering...")
            for i, path in enumerate(paths):
                progress.progress(i / len(paths), text=f"Answering through {path}...")
                answers.append(run_path(path, question, ctx))
            progress.empty()
            st.session_state["compare_answers"] = (answers, chosen.answer if chosen else None)
        except LabError as exc:
            st.error(str(exc))
    if "compare_answers" in st.session_state:
        answers, gold = st.session_state["compare_answers"]
        common.show_answers(answers, gold=gold, key="compare")

with batch:
    source = st.radio("Questions", ["Sample golden set", "Upload a golden set (JSONL)"], horizontal=True,
                      key="batch_source")
    upload = st.file_uploader("Golden set", type=["jsonl"], key="batch_upload") if source != "Sample golden set" \
        else None
    a, b = st.columns(2)
    limit = a.number_input("Questions (0 = all)", 0, 10_000, 0, key="batch_limit")
    batch_size = b.number_input("Generation batch size", 1, 64, 8, key="batch_size")
    if st.button("Start batch run", key="batch_start", type="primary"):
        try:
            if not paths:
                raise LabError("Choose at least one path.")
            if upload is not None:
                questions, name = parse_golden(upload.getvalue().decode("utf-8", "replace"), upload.name), upload.name
            elif source == "Sample golden set":
                questions, name = load_golden(SAMPLE_GOLDEN), SAMPLE_GOLDEN.name
            else:
                raise LabError("Upload a golden set first (one JSON object a line with question and answer).")
            questions = questions[: int(limit) or None]
            st.session_state["batch_job"] = common.start_compare(questions, name, paths, int(k), int(max_new),
                                                                 int(batch_size))
        except LabError as exc:
            st.error(str(exc))

    @st.fragment(run_every=2)
    def show_progress():
        run_id = st.session_state.get("batch_job")
        job = common.jobs().get(run_id)
        if job is None:
            return
        p = job.progress
        eta = f", about {p.eta_seconds:.0f} s left" if p.eta_seconds is not None and job.running else ""
        state = "running" if job.running else common.run_store().get(run_id).status
        st.progress(p.done / max(p.total, 1), text=f"Run {run_id}: {state}, {p.done}/{p.total} answers{eta}")
        if job.error:
            st.error(f"The run failed: {job.error}")
        if job.running:
            if st.button("Cancel run", key="batch_cancel"):
                job.cancel()
        else:
            st.page_link("pages/results.py", label="See the results", icon=":material/bar_chart:")

    show_progress()
