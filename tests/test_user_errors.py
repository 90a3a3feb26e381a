"""Errors a user can cause end as a clear st.error that says what to do, never as an exception on the page."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("show_error_details")
REPO = Path(__file__).resolve().parent.parent


def _page(path: str, **state) -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _says(at: AppTest, *words: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(e.value for e in at.error).replace("\\", "").lower()  # (Markdown escapes taken out)
    assert all(w.lower() in shown for w in words), (words, [e.value for e in at.error])


def test_corpus_page_bad_inputs(fake_app):
    at = _page("pages/corpus.py")
    at.radio(key="corpus_source").set_value("Upload files").run()
    at.button(key="ingest").click().run()
    _says(at, "choose one or more files")
    at.radio(key="corpus_source").set_value("Sample corpus").run()
    at.radio(key="corpus_target").set_value("new").run()
    at.text_input(key="corpus_collection").set_value("a").run()
    at.button(key="ingest").click().run()
    _says(at, "collection name", "use 3-63 letters")
    at.text_input(key="corpus_collection").set_value("fine-name").run()
    at.number_input(key="chunk_size").set_value(128).run()
    at.number_input(key="chunk_overlap").set_value(200).run()
    at.button(key="ingest").click().run()
    _says(at, "overlap must be")


def test_compare_page_bad_inputs_missing_adapter_and_missing_collection(fake_app, store, monkeypatch):
    at = _page("pages/compare.py")
    at.button(key="ask").click().run()
    _says(at, "type a question")
    at.text_area(key="question_(type your own)").set_value("Which port?").run()
    at.multiselect(key="paths").set_value([]).run()
    at.button(key="ask").click().run()
    _says(at, "choose at least one path")
    at.multiselect(key="paths").set_value(["prompt", "finetuned", "hybrid"]).run()
    at.button(key="ask").click().run()
    _says(at, "finetuned needs a LoRA adapter: load or train one on the Models page")
    from pages.ui import state

    monkeypatch.setattr(state, "DEFAULT_COLLECTION", fake_app)  # the fallback is a collection of the fake embedder
    missing = _page("pages/compare.py", collection="no-such-collection")
    missing.text_area(key="question_(type your own)").set_value("Which port?").run()
    missing.multiselect(key="paths").set_value(["rag"]).run()
    missing.button(key="ask").click().run()
    assert not missing.exception


def test_models_page_load_failures(fake_app, tmp_path, monkeypatch):
    from lab.errors import ModelError
    from pages.ui import resources

    def failing(name=None, backend="transformers"):
        raise ModelError(f"Could not load {name}: the folder holds no safetensors weights. Give a folder with "
                         "config.json and *.safetensors.")

    monkeypatch.setattr(resources, "generator", failing)
    at = _page("pages/models.py")
    at.radio(key="model_kind").set_value("Local folder or Hugging Face id").run()
    at.button(key="load_model").click().run()
    _says(at, "type a model folder")
    at.text_input(key="model_path").set_value(str(tmp_path)).run()
    at.button(key="load_model").click().run()
    _says(at, "no safetensors weights")
    at.radio(key="model_kind").set_value("OpenAI-compatible endpoint").run()
    at.text_input(key="endpoint_url").set_value("ftp://nope").run()
    at.text_input(key="endpoint_model").set_value("m").run()
    at.button(key="use_endpoint").click().run()
    _says(at, "must start with http:// or https://")
    at.text_input(key="train_name").set_value("bad name!")
    next(b for b in at.button if b.label == "Start training").click().run()
    _says(at, "adapter name: use letters, digits")
