"""Home: what the lab is, what is loaded, and a one-click demo on the sample corpus."""

import streamlit as st

from lab.config import DEFAULT_COLLECTION, SAMPLE_DOCS, SAMPLE_GOLDEN, ChunkConfig, data_dir
from lab.display import as_text
from lab.errors import LabError
from pages.ui import frame, resources, state, widgets

frame.login_gate()  # here too: before anything opens `/`, Streamlit may run a pages/ file on its own
st.title("RAG vs Fine-Tuning Lab")
st.markdown(
    "Prompt engineering, RAG, fine-tuning, or both? Measure it on **your** data: the same questions go "
    "through each path with the same model and decoding, and you compare answers, latency and quality."
)
st.markdown(
    "| path | model | retrieval |\n|---|---|---|\n"
    "| `prompt` | base | none |\n| `rag` | base | dense top-k |\n"
    "| `hybrid-rag` | base | dense + BM25, reciprocal rank fusion |\n"
)

st.header("What is loaded")
names = state.collection_names()
cols = st.columns(3)
cols[0].metric("Collections", len(names))
cols[1].metric("Base model", "SmolLM2-135M")
cols[2].metric("Embedder", "MiniLM-L6-v2")
if names:
    infos = [resources.store().info(n) for n in names]
    st.dataframe([{"collection": i.name, "chunks": i.chunks, "embedder": i.embedder,
                   "chunk size": i.chunk_config.size if i.chunk_config else None} for i in infos],
                 hide_index=True, key="home_collections")
st.caption(f"Data directory: {data_dir().name}/ (set LAB_DATA_DIR to move it)")

st.header("One-click demo")
st.write("Ingests the sample corpus (a fictional product's documentation no model was trained on) and asks "
         "one golden question through `prompt`, `rag` and `hybrid-rag`.")
if st.button("Run the demo", key="demo", type="primary"):
    report = widgets.ingest_with_progress([SAMPLE_DOCS], DEFAULT_COLLECTION, ChunkConfig())
    if report is not None:
        from lab.evaluation.golden import load_golden
        from lab.experiments.answer_paths import run_paths

        try:
            question = load_golden(SAMPLE_GOLDEN)[0]
            ctx = state.path_context(collection=DEFAULT_COLLECTION)
            with st.spinner("Answering through prompt, rag and hybrid-rag..."):
                st.session_state["demo_answers"] = (
                    run_paths(("prompt", "rag", "hybrid-rag"), question.question, ctx), question)
            st.session_state["demo_ingest"] = report
            state.select_collection(DEFAULT_COLLECTION)  # reruns: the counts above and the sidebar show it
        except LabError as exc:
            st.error(str(exc))
if "demo_ingest" in st.session_state:
    widgets.show_ingest_report(st.session_state["demo_ingest"])
if "demo_answers" in st.session_state:
    answers, question = st.session_state["demo_answers"]
    st.markdown(f"**Question:** {as_text(question.question)}")
    widgets.show_answers(answers, gold=question.answer, key="demo")
