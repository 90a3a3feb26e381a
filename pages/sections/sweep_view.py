"""The chunk-size sweep (a UI helper, not a page): the collection rebuilt at several sizes from its parsed text,
retrieval per size and mode with CIs, index time and chunk count, and a verdict. Work: `lab.experiments.sweep`."""

from __future__ import annotations

import streamlit as st

from lab.display import as_text
from lab.errors import LabError
from pages.sections import golden_picker
from pages.ui import resources, state


def _start(collection: str, golden_set, sizes: str, k: int, folders: str = "") -> None:
    from lab.experiments.sweep import SweepJob, settings_for
    from lab.index.embeddings import EmbedderSpec
    from lab.session import collection_embedder

    configs = settings_for(sizes)
    embedder = collection_embedder(resources.store(), collection, resources.PageResources)
    others = [resources.embedder(EmbedderSpec.parse(folder.strip())) for folder in folders.split(",")
              if folder.strip()]
    job = SweepJob(resources.store(), embedder, collection, golden_set, configs, k,
                   embedders=[embedder, *[e for e in others if e.name != embedder.name]]).start()
    resources.jobs()[job.id] = job
    state.keep_for(collection, "sweep_job", job.id)


def draw(collection: str) -> None:
    st.header("Chunk-size sweep")
    st.caption("The guide says to test chunking empirically: this builds the collection at each size (overlap = "
               "size / 8) from the text parsed at ingest, and scores every retrieval mode on the golden set.")
    golden_set = golden_picker.pick("sweep_golden", collection)
    a, b = st.columns(2)
    sizes = a.text_input("Chunk sizes (tokens)", value="256,512,1024", key="sweep_sizes")
    k = b.number_input("k", 1, 20, 5, key="sweep_k")
    folders = st.text_input("Also compare embedders (sentence-transformers folders, comma-separated; optional)",
                            key="sweep_embedders", help="Each is compared with the collection's own embedder at "
                                                        "every chunk size, the same way sizes are compared.")
    if st.button("Run the sweep", key="sweep_start", disabled=golden_set is None):
        try:
            _start(collection, golden_set, sizes, int(k), folders)
        except LabError as exc:
            st.error(str(exc))

    @st.fragment(run_every=2)
    def progress():
        job = resources.jobs().get(state.kept_for(collection, "sweep_job"))  # this collection's sweep only
        if job is None:
            return
        st.progress(job.progress.fraction, text=f"{job.state}: {job.progress.message}")
        if job.running:
            st.button("Cancel the sweep", key="sweep_cancel", on_click=job.cancel)
        elif job.error:
            st.error(as_text(job.error))
        elif job.result is not None:
            from lab.decision.charts import sweep_chart

            result = job.result
            st.plotly_chart(sweep_chart(result.rows()), key="sweep_chart")
            st.dataframe(result.rows(), hide_index=True, key="sweep_table")
            for line in result.verdicts + result.notes:
                st.write(as_text(line))

    progress()
