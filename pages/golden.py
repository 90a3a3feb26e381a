"""Golden sets: list, import (JSONL/CSV with column mapping), export; write questions with gold passages from a
search; draft questions with a model and review them; coverage; the chunk-size sweep. Pages draw; lab/ works."""

import streamlit as st

from lab.errors import LabError
from lab.display import as_text, count
from lab.evaluation.golden_store import GoldenStore
from pages.sections import golden_builder, sweep_view
from pages.ui import frame, resources, state

frame.login_gate()  # here too: before anything opens `/`, Streamlit may run a pages/ file on its own
st.title("Golden sets")
st.caption("Questions with gold answers and gold passages, tied to a collection and versioned: every save is a new "
           "version, and runs record which one they used. The sample corpus's set is one among others.")
golden = GoldenStore()
collection = state.active_collection()

st.header("Stored sets")
infos = golden.list()
for name, problem in golden.damaged().items():  # a damaged set hides only itself, and can be restored
    st.warning(as_text(problem))
    if st.button(f"Restore {name}", key=f"golden_restore_{name}"):
        try:
            restored = golden.restore(name)
        except LabError as exc:
            st.error(as_text(exc))
        else:
            state.done(f"{restored.name}: restored {len(restored.versions)} version(s) from their files.", "restore")
state.show_done("restore")
st.dataframe([{"name": i.name, "version": i.latest.version, "questions": i.latest.questions,
               "collection": i.collection, "fingerprint": i.fingerprint, "saved": i.latest.created,
               "note": i.latest.note} for i in infos], hide_index=True, key="golden_sets_table")
if infos:
    left, right = st.columns(2)
    chosen = left.selectbox("Set", [i.name for i in infos], key="golden_export_name")
    info = golden.info(chosen)
    version = right.selectbox("Version", [v.version for v in reversed(info.versions)], key="golden_export_version")
    from lab.evaluation.golden import to_jsonl

    st.download_button("Export as JSONL", to_jsonl(golden.get(chosen, version).questions),
                       file_name=f"{chosen}-v{version}.jsonl", mime="application/jsonl", key="golden_export")

st.header("Import")
upload = st.file_uploader("Golden set (JSONL or CSV with a header row)", type=["jsonl", "csv"], key="golden_upload")
if upload is not None:
    from lab.evaluation.golden_io import FIELDS, csv_header, guess_mapping

    data = upload.getvalue()
    mapping = None
    if upload.name.lower().endswith(".csv"):
        header = csv_header(data.decode("utf-8-sig", "replace"))
        guessed = guess_mapping(header)
        st.caption("Column mapping (guessed from the header; change any):")
        columns = st.columns(len(FIELDS))
        mapping = {}
        for column, field in zip(columns, FIELDS):
            options = ["(none)"] + header
            pick = column.selectbox(field, options, index=options.index(guessed[field]) if field in guessed else 0,
                                    key=f"golden_map_{field}")
            if pick != "(none)":
                mapping[field] = pick
    from lab.experiments.golden_sets import IMPORT_MODES, import_set

    left, right = st.columns(2)
    name = left.text_input("Save as", value=upload.name.rsplit(".", 1)[0], key="golden_import_name")
    tied = right.text_input("Collection it belongs to", value=collection or "",  # follows the active collection
                            key=f"golden_import_collection_{collection}")
    mode = None
    if name.strip() and golden.exists(name.strip()):  # never replace questions without asking
        mode = st.radio(f"{name.strip()} already exists: the import should", list(IMPORT_MODES), index=None,
                        format_func=IMPORT_MODES.get, key="golden_import_mode")
    if st.button("Import", key="golden_import", type="primary",
                 disabled=bool(name.strip()) and golden.exists(name.strip()) and mode is None):
        try:
            saved = import_set(golden, resources.store(), name.strip(), upload.name, data, mapping,
                               tied.strip() or None, mode)
            st.success(f"Imported {count(len(saved.questions), 'question')} as {saved.label}.")
        except LabError as exc:
            st.error(str(exc))

if collection is None:
    st.info("No collection yet: ingest documents on the Corpus page to build a golden set for them.")
    st.stop()
golden_builder.draw(golden, collection)
sweep_view.draw(collection)
