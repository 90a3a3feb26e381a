"""Corpus: ingest the sample corpus or uploaded files into a Chroma collection; browse its chunks."""

import streamlit as st

from lab.config import SEARCH_K
from lab.display import as_text, count
from lab.errors import LabError
from pages.sections import ingest_view
from pages.ui import frame, resources, state

frame.login_gate()  # here too: before anything opens `/`, Streamlit may run a pages/ file on its own
st.title("Corpus")

collection = state.active_collection()
ingest_view.draw(collection)
if collection is None:
    st.info("No collection yet: ingest the sample corpus above.")
    st.stop()
store = resources.store()

st.header("Collections")
st.dataframe([{"collection": i.name, "chunks": i.chunks, "embedder": i.embedder,
               "chunk size": i.chunk_config.size if i.chunk_config else None,
               "overlap": i.chunk_config.overlap if i.chunk_config else None,
               "build seconds (measured)": round(i.build.estimate(i.chunks), 2) if i.build else None,
               "measured": f"{i.build.at}{'' if i.build.whole else f' ({i.build.chunks} chunks, scaled)'}"
               if i.build else None} for i in store.collections()],
             hide_index=True, key="collections_table")
left, right = st.columns(2)
with left:
    new_name = st.text_input(f"Rename {collection} to", key="rename_to")
    if st.button("Rename", key="rename"):
        try:
            store.rename(collection, new_name.strip())
            state.select_collection(new_name.strip())
        except LabError as exc:
            st.error(str(exc))
with right:
    sure = st.checkbox(f"Yes, delete {collection} and its chunks", key="delete_confirm")
    if st.button("Delete", key="delete", disabled=not sure):
        try:
            store.delete(collection)
            state.request("delete_confirm", None)  # the next collection needs its own confirmation
            state.select_collection(None)
        except LabError as exc:
            st.error(str(exc))

st.header("Search playground")
query = st.text_input("Query", key="search_query", placeholder="e.g. What does HX-3021 mean?")
top_k = st.number_input("Hits per mode", 1, 20, SEARCH_K, key="search_k")
reranker_path = st.text_input("Cross-encoder folder for rerank (optional)", key="reranker_path",
                              help="A sentence-transformers CrossEncoder folder; none ships offline.")
searched = st.button("Search", key="search")
if searched and not query.strip():
    st.warning("Type a query first: the search box is empty.")
if searched and query.strip():
    try:
        modes, _ = state.retrievers(collection, reranker_path.strip() or None)
        found = {m: r.search(query, int(top_k)) for m, r in modes.items()}
        state.keep_for(collection, "search_results", (query, found))
    except LabError as exc:
        st.error(str(exc))
searched_here = state.kept_for(collection, "search_results")  # hits of the collection in view only
if searched_here:
    shown_query, results = searched_here
    if "rerank" not in results:
        st.info("Rerank: no cross-encoder loaded, so no reranked ranking is shown. Give a CrossEncoder folder "
                "(e.g. cross-encoder/ms-marco-MiniLM-L-6-v2 saved where the hub is reachable).")
    for column, (mode, hits) in zip(st.columns(len(results)), results.items()):
        with column:
            st.subheader(mode)
            for rank, hit in enumerate(hits, 1):
                stages = ", ".join(f"{s} #{hit.ranks[s]} ({hit.scores[s]:.3f})" for s in hit.ranks)
                with st.expander(f"{rank}\\. {as_text(hit.source, one_line=True)}"):
                    st.caption(stages)
                    st.code(hit.text, language=None, wrap_lines=True)

st.header("Retrieval evaluation")
st.caption("hit@k, recall@k and MRR per mode (95% CIs) against a golden set's gold sources, and by gold passage "
           "where it names them; split by provenance (model-drafted questions are easier for retrieval).")
from pages.sections import golden_picker  # noqa: E402

eval_set = golden_picker.pick("eval_golden", collection)
eval_k = st.number_input("k", 1, 20, SEARCH_K, key="eval_k")
if st.button("Evaluate retrieval", key="retrieval_eval", disabled=eval_set is None):
    from lab.experiments.golden_sets import evaluate_set

    try:
        bar = st.progress(0.0, text="Evaluating...")
        state.keep_for(collection, "retrieval_eval_results", evaluate_set(
            state.retrievers(collection, reranker_path.strip() or None)[0], store, collection, eval_set, int(eval_k),
            lambda d, t, m: bar.progress(d / t, text=f"{m} done")))
    except LabError as exc:
        st.session_state.pop("retrieval_eval_results", None)
        st.error(str(exc))
evaluated = state.kept_for(collection, "retrieval_eval_results")  # scores of the collection in view only
if evaluated:
    from lab.decision.charts import retrieval_chart
    from lab.evaluation.retrieval import scores_table

    results, notes = evaluated
    for note in notes:
        st.info(note)
    st.plotly_chart(retrieval_chart(results), key="retrieval_chart")
    st.dataframe(scores_table(results), hide_index=True, key="retrieval_table")

st.header("Browse")
info = store.info(collection)
st.caption(f"{info.name}: {count(info.chunks, 'chunk')}, embedder {info.embedder}, {info.chunking}")
sources = sorted(store.source_hashes(collection))
picked = st.selectbox("Document", sources, key="browse_source")
if picked:
    chunks = sorted(store.chunks(collection, picked), key=lambda c: c["meta"].get("start", 0))
    st.caption(count(len(chunks), "chunk"))
    for chunk in chunks:
        meta = chunk["meta"]
        where = f"page {meta['page']}" if meta.get("page") else meta.get("heading") or ""
        with st.expander(f"{meta.get('start')}-{meta.get('end')} {as_text(where, one_line=True)} "
                         f"({meta.get('tokens')} tokens)"):
            st.code(chunk["text"], language=None, wrap_lines=True)
