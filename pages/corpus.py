"""Corpus: ingest the sample corpus or uploaded files into a Chroma collection; browse its chunks."""

import streamlit as st

from lab.config import DEFAULT_COLLECTION, SAMPLE_DOCS, ChunkConfig
from lab.errors import LabError
from lab.parsing import SUPPORTED
from pages import common

st.title("Corpus")

st.header("Build or update a collection")
source = st.radio("Documents", ["Sample corpus", "Upload files"], horizontal=True, key="corpus_source")
uploads = None
if source == "Upload files":
    uploads = st.file_uploader("Files", type=[s.lstrip(".") for s in SUPPORTED], accept_multiple_files=True,
                               key="corpus_uploads")
left, mid, right = st.columns(3)
name = left.text_input("Collection", value=st.session_state.get("collection") or DEFAULT_COLLECTION,
                       key="corpus_collection", help="One collection per corpus or tenant.")
size = mid.number_input("Chunk size (embedder tokens)", 128, 1024, ChunkConfig.size, step=32, key="chunk_size")
overlap = right.number_input("Overlap (tokens)", 0, 511, ChunkConfig.overlap, step=8, key="chunk_overlap")

if st.button("Ingest", key="ingest", type="primary"):
    try:
        config = ChunkConfig(size=int(size), overlap=int(overlap))
        if source == "Sample corpus":
            paths, names = [SAMPLE_DOCS], None
        else:
            if not uploads:
                raise LabError("Choose one or more files to upload first.")
            from lab.uploads import save_upload

            stored = [save_upload(f.name, f.getvalue()) for f in uploads]
            paths, names = [p for p, _ in stored], dict(stored)
        report = common.ingest_with_progress(paths, name.strip(), config, names)
        if report is not None:
            st.session_state["last_ingest"] = report
    except LabError as exc:
        st.error(str(exc))
if "last_ingest" in st.session_state:
    common.show_ingest_report(st.session_state["last_ingest"])

st.header("Browse")
collection = common.active_collection()
if collection is None:
    st.info("No collection yet: ingest the sample corpus above.")
else:
    store = common.store()
    info = store.info(collection)
    st.caption(f"{info.name}: {info.chunks} chunks, embedder {info.embedder}, chunking {info.chunk_config}")
    sources = sorted(store.source_hashes(collection))
    picked = st.selectbox("Document", sources, key="browse_source")
    if picked:
        chunks = sorted(store.chunks(collection, picked), key=lambda c: c["meta"].get("start", 0))
        st.caption(f"{len(chunks)} chunks")
        for chunk in chunks:
            meta = chunk["meta"]
            where = f"page {meta['page']}" if meta.get("page") else meta.get("heading") or ""
            with st.expander(f"{meta.get('start')}-{meta.get('end')} {where} ({meta.get('tokens')} tokens)"):
                st.code(chunk["text"], language=None, wrap_lines=True)
