"""Compare: one question through the paths side by side, or a golden set as a background batch run."""

import streamlit as st

from lab.config import DecodingConfig, RetrievalConfig
from lab.errors import LabError
from lab.experiments.answer_paths import available_paths, default_paths, run_paths
from lab.endpoint_policy import host_of
from pages.sections import batch_view, blind_view, golden_picker, update_view
from pages.ui import frame, state, widgets

frame.login_gate()  # here too: before anything opens `/`, Streamlit may run a pages/ file on its own
st.title("Compare")
adapter_dir = st.session_state.get("adapter_dir")
chosen_paths = default_paths(adapter=bool(adapter_dir))
st.caption(f"Adapter: {adapter_dir or 'none loaded (finetuned and hybrid need one: Models page)'}")
remote = st.session_state.get("endpoint")
st.caption(f"Endpoint: {remote['model']} @ {host_of(remote['base_url'])} (the ...@endpoint paths; adapter: "
           f"{remote.get('adapter') or 'none named'})" if remote else "Endpoint: none (set an OpenAI-compatible one on "
           "the Models page to add every path @endpoint)")
options = available_paths(endpoint=bool(remote))
state.restore("paths", chosen_paths)
state.restore("k", RetrievalConfig.k)
state.restore("max_new_tokens", DecodingConfig.max_new_tokens)
state.restore("passage_context", RetrievalConfig.passage_context)
if any(p not in options for p in st.session_state["paths"]):  # endpoint paths need an endpoint
    st.session_state["paths"] = [p for p in st.session_state["paths"] if p in options]

left, mid, right = st.columns([3, 1, 1])
paths = left.multiselect("Paths", options, key="paths")
k = mid.number_input("Chunks (k)", 1, 20, key="k")
max_new = right.number_input("Max new tokens", 8, 512, key="max_new_tokens")
context = st.checkbox("Show each passage's document title and section to the model", key="passage_context",
                      help="As the index reads it. Off by default: it did not help the embedded model "
                           "(docs/results.md#passage-context-in-the-prompt-2026-12-02); try it on yours.")
for key in ("paths", "k", "max_new_tokens", "passage_context"):
    state.remember(key)

single, batch, update = st.tabs(["One question", "Golden set (batch)", "Knowledge update"])

with single:
    picked_set = golden_picker.pick("golden_pick_set", st.session_state.get("collection"))
    golden = {f"{q.id}: {q.question}": q for q in (picked_set.questions if picked_set else [])}
    pick = st.selectbox("Golden question", ["(type your own)"] + list(golden), key="golden_pick")
    chosen = golden.get(pick)
    question = st.text_area("Question", value=chosen.question if chosen else "", key=f"question_{pick}")
    blind = st.toggle("Blind mode (for stakeholders: answers shuffled and unlabeled; vote, then reveal)",
                      key="blind_mode")
    if st.button("Ask", key="ask", type="primary"):
        try:
            if not question.strip():
                raise LabError("Type a question or pick a golden one.")
            if not paths:
                raise LabError("Choose at least one path.")
            ctx = state.path_context(paths, retrieval=RetrievalConfig(k=int(k), passage_context=bool(context)),
                                     decoding=DecodingConfig(max_new_tokens=int(max_new)))
            progress = st.progress(0.0, text="Retrieving for every path...")
            answered: list[str] = []

            def finished(path: str, _n: int) -> None:
                answered.append(path)
                left = [p for p in paths if p not in answered]
                progress.progress(len(answered) / len(paths), text=f"{path} answered" + (
                    f"; still answering: {', '.join(left)}..." if left else "."))

            answers = run_paths(paths, question, ctx, finished)
            progress.empty()
            st.session_state["compare_answers"] = (answers, chosen.answer if chosen else None)
            if blind:
                st.session_state["blind_current"] = blind_view.store_question(answers, question, chosen, ctx)
        except LabError as exc:
            st.error(str(exc))
    if blind:
        blind_view.draw()
    elif "compare_answers" in st.session_state:
        answers, gold = st.session_state["compare_answers"]
        widgets.show_answers(answers, gold=gold, key="compare")

with batch:
    batch_view.draw(paths, int(k), int(max_new), bool(context))

with update:
    update_view.draw(paths, int(k), int(max_new))
