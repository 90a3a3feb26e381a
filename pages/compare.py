"""Compare: one question through several paths, answers side by side with their chunks and latency."""

import streamlit as st

from lab.config import SAMPLE_GOLDEN, DecodingConfig
from lab.errors import LabError
from lab.golden import load_golden
from lab.paths import PATHS, run_path
from pages import common

st.title("Compare")

golden = {f"{q.id}: {q.question}": q for q in load_golden(SAMPLE_GOLDEN)} if SAMPLE_GOLDEN.exists() else {}
pick = st.selectbox("Sample golden question", ["(type your own)"] + list(golden), key="golden_pick")
chosen = golden.get(pick)
question = st.text_area("Question", value=chosen.question if chosen else "", key=f"question_{pick}")
left, mid, right = st.columns([3, 1, 1])
paths = left.multiselect("Paths", list(PATHS), default=list(PATHS), key="paths")
k = mid.number_input("Chunks (k)", 1, 20, 4, key="k")
max_new = right.number_input("Max new tokens", 8, 512, DecodingConfig.max_new_tokens, key="max_new_tokens")

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
