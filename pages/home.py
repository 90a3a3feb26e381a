"""Home: what the lab is, what is loaded, and a one-click demo on the sample corpus."""

import streamlit as st

from lab.config import DEFAULT_COLLECTION, SAMPLE_ADAPTER, SAMPLE_DOCS, SAMPLE_GOLDEN, ChunkConfig, data_dir
from lab.display import as_text, signed
from lab.errors import LabError
from pages.sections import decision_view
from pages.ui import frame, resources, state, widgets

DEMO_BATCH = 8  # questions answered together
DEMO_PATHS = ("prompt", "rag", "hybrid-rag")  # the background batch: every golden question, until decided
SHOWCASE_PATHS = ("prompt", "rag", "hybrid-rag", "finetuned", "hybrid")  # the first question, side by side
DEMO_RULE = (("rag", "prompt"),)  # the pair the demo keeps asking about until it is decided

frame.login_gate()  # here too: before anything opens `/`, Streamlit may run a pages/ file on its own
st.title("RAG vs Fine-Tuning Lab")
st.markdown(
    "Prompt engineering, RAG, fine-tuning, or both? Measure it on **your** data: the same questions go "
    "through each path with the same model and decoding, and you compare answers, latency and quality."
)
st.markdown(
    "| path | model | retrieval | what it shows |\n|---|---|---|---|\n"
    "| `prompt` | base | none | the prompt-engineering baseline |\n"
    "| `rag` | base | dense top-k | knowledge from the corpus, naive |\n"
    "| `hybrid-rag` | base | dense + BM25, fused (optional rerank) | production RAG |\n"
    "| `finetuned` | base + LoRA adapter | none | behaviour baked into weights |\n"
    "| `hybrid` | base + LoRA adapter | as `hybrid-rag` | both: the guide's recommended pattern |\n"
)
st.caption("finetuned and hybrid need an adapter: the sample's behaviour adapter ships with the lab (built by its own "
           "`train` from the sample behaviour set; the demo uses it unless you loaded another), or train your own on "
           "the Models page; every path also runs on your own server.")

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


def _start_batch() -> str:
    """The demo's batch: every golden question, one of each kind first, asked until `rag` vs `prompt` is decided by
    an anytime-valid interval (a double click or a second tab joins the run already going)."""
    from lab.config import BatchConfig, DecodingConfig, RetrievalConfig
    from lab.evaluation.golden import load_golden
    from lab.evaluation.sequential import StopRule
    from lab.experiments.golden_sets import spread_by_kind

    every = load_golden(SAMPLE_GOLDEN)
    return state.start_compare(spread_by_kind(every, len(every)), "sample golden set (Home demo)", DEMO_PATHS,
                               RetrievalConfig(), DecodingConfig(), BatchConfig(batch_size=DEMO_BATCH),
                               collection=DEFAULT_COLLECTION, stop=StopRule(DEMO_RULE))


def _batch_results(run_id: str, polling: bool = False) -> None:
    from lab.evaluation.summary import summarize

    runs = resources.run_store()
    try:
        run = runs.get(run_id)
    except LabError:
        return
    job = resources.jobs().get(run_id)
    done, total = (job.progress.done, job.progress.total) if job is not None else (run.done, run.total)
    if run.status == "running":
        st.progress(min(done / max(total, 1), 1.0), text=f"Asking golden questions until rag vs prompt is decided: "
                                                          f"{done}/{total} answers")
        decision_view.live(job, run_id, runs)
        return
    if polling:
        st.rerun()  # ended: draw the page once more, which stops the polling
    if run.status != "done":
        st.warning(f"The demo batch {run.status}: {as_text(run.error or 'no reason recorded')}. Run the demo again.")
        return
    decision_view.live(None, run_id, runs)
    summary = summarize(runs.answers(run_id))
    st.markdown(f"**Measured on {summary.questions} golden questions** (accuracy: the gold answer or an alias in "
                "the answer)")
    st.dataframe([{"path": p.path, "accuracy": round(p.quality["correct"].mean, 3),
                   "95% CI": f"[{p.quality['correct'].low:.2f}, {p.quality['correct'].high:.2f}]",
                   "p50 latency (ms)": round(p.latency_ms.get("total", {}).get("p50", 0))}
                  for p in summary.paths if "correct" in p.quality], hide_index=True, key="demo_batch_table")
    for t in summary.pairs:
        verdict = "separable" if t.separable else "not separable with this few questions"
        st.caption(f"{t.a} − {t.b}: {signed(t.diff.mean)} [{signed(t.diff.low)}, {signed(t.diff.high)}], p = {t.p_value:.3f}: "
                   f"{verdict}.")
    widgets.link_to("pages/compare.py", "Run all the golden questions on the Compare page", icon=":material/play_arrow:")


st.header("One-click demo")
st.write("Ingests the sample corpus (a fictional product's documentation no model was trained on), asks one "
         "golden question through all five paths (the fine-tuned ones with the sample's behaviour adapter, which "
         "answers in JSON), then keeps asking golden questions through `prompt`, `rag` and `hybrid-rag` in the "
         "background until an anytime-valid interval decides `rag` against `prompt` (or the set runs out), so the "
         "difference is measured, not one anecdote.")
if st.button("Run the demo", key="demo", type="primary"):
    report = widgets.ingest_with_progress([SAMPLE_DOCS], DEFAULT_COLLECTION, ChunkConfig())
    if report is not None:
        from lab.evaluation.golden import load_golden
        from lab.experiments.answer_paths import run_paths

        try:
            question = load_golden(SAMPLE_GOLDEN)[0]
            shipped = SAMPLE_ADAPTER if (SAMPLE_ADAPTER / "adapter_config.json").is_file() else None
            adapter = st.session_state.get("adapter_dir") or (str(shipped) if shipped else None)
            paths = SHOWCASE_PATHS if adapter else DEMO_PATHS
            ctx = state.path_context(collection=DEFAULT_COLLECTION, adapter=adapter)
            with st.spinner(f"Answering through {', '.join(paths)}..."):
                st.session_state["demo_answers"] = (run_paths(paths, question.question, ctx), question)
            st.session_state["demo_ingest"] = report
            st.session_state["demo_batch"] = _start_batch()
            state.select_collection(DEFAULT_COLLECTION)  # reruns: the counts above and the sidebar show it
        except LabError as exc:
            st.error(str(exc))


if "demo_ingest" in st.session_state:
    widgets.show_ingest_report(st.session_state["demo_ingest"])
if "demo_answers" in st.session_state:
    answers, question = st.session_state["demo_answers"]
    st.markdown(f"**Question:** {as_text(question.question)}")
    widgets.show_answers(answers, gold=question.answer, key="demo")
if st.session_state.get("demo_batch"):
    demo_run = st.session_state["demo_batch"]
    try:
        demo_polling = resources.run_store().get(demo_run).status == "running"
    except LabError:
        demo_polling = False
    st.fragment(_batch_results, run_every=2 if demo_polling else None)(demo_run, polling=demo_polling)
