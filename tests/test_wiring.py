"""One wiring: the pages, the command line and the config dataclasses agree (defaults, options, context)."""

from dataclasses import fields
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.cli import parser
from lab.config import SEARCH_K, BatchConfig, ChunkConfig, DecodingConfig, RetrievalConfig
from lab.errors import InputError
from lab.finetune.config import LoraTrainConfig
from lab.options import picked
from lab.session import EndpointSettings, Settings, path_context

REPO = Path(__file__).resolve().parent.parent


def _page(path: str) -> AppTest:
    at = AppTest.from_file(str(REPO / path), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _subparser(name: str):
    return next(a for a in parser()._subparsers._group_actions if a.dest == "command").choices[name]


def _flags(name: str) -> set[str]:
    return {flag for action in _subparser(name)._actions for flag in action.option_strings}


def test_the_compare_page_starts_from_the_config_defaults(fake_app):
    at = _page("pages/compare.py")
    assert at.number_input(key="k").value == RetrievalConfig.k
    assert at.number_input(key="max_new_tokens").value == DecodingConfig.max_new_tokens
    assert at.number_input(key="batch_size").value == BatchConfig.batch_size
    assert at.number_input(key="batch_limit").value == BatchConfig.limit
    assert at.checkbox(key="passage_context").value is RetrievalConfig.passage_context is False


def test_the_corpus_page_starts_from_the_config_defaults(fake_app):
    at = _page("pages/corpus.py")
    assert at.number_input(key="chunk_size").value == ChunkConfig.size
    assert at.number_input(key="chunk_overlap").value == ChunkConfig.overlap
    assert at.number_input(key="search_k").value == SEARCH_K == _subparser("search").get_default("k")
    assert at.number_input(key="eval_k").value == SEARCH_K == _subparser("retrieval-eval").get_default("k")


def test_the_models_page_trains_with_the_config_defaults():
    """The page once trained at lr 1e-3 while the config and the command line said 5e-4."""
    at = _page("pages/models.py")
    defaults = LoraTrainConfig()
    for name in ("rank", "alpha", "dropout", "epochs", "lr", "max_length", "batch_size", "max_steps", "pass_tokens"):
        assert at.number_input(key=f"train_{name}").value == getattr(defaults, name), name
    assert at.text_input(key="train_targets").value == ",".join(defaults.targets)
    assert at.checkbox(key="train_merge").value == defaults.merge


def test_the_models_page_and_the_command_line_run_on_this_machines_default_backend():
    """One default: the page's "Runs on" choice, `ask`/`compare` without --backend and the wiring all resolve to
    `default_backend()` (bf16 where the CPU has native bfloat16, else the float32 reference)."""
    from lab.generation.models import default_backend

    at = _page("pages/models.py")
    assert at.radio(key="backend_pick").value == default_backend()
    assert parser().parse_args(["ask", "q"]).backend is None and Settings().backend is None  # resolved on load


@pytest.mark.parametrize("command, argv, config", [
    ("ingest", ["ingest", "docs"], ChunkConfig),
    ("ask", ["ask", "q"], RetrievalConfig),
    ("ask", ["ask", "q"], DecodingConfig),
    ("compare", ["compare", "--questions", "q.jsonl", "--out", "o.csv"], RetrievalConfig),
    ("compare", ["compare", "--questions", "q.jsonl", "--out", "o.csv"], DecodingConfig),
    ("compare", ["compare", "--questions", "q.jsonl", "--out", "o.csv"], BatchConfig),
    ("train", ["train", "--data", "d.jsonl", "--out", "a"], LoraTrainConfig),
])
def test_command_line_defaults_are_the_config_defaults(command, argv, config):
    assert config(**picked(config, parser().parse_args(argv))) == config()
    assert {f.name for f in fields(config)} <= set(vars(parser().parse_args(argv)))  # every field is an option


def test_option_help_comes_from_the_field_metadata():
    help_text = _subparser("train").format_help()
    for f in fields(LoraTrainConfig):
        first_words = " ".join(f.metadata["help"].split()[:3])
        assert first_words.lower() in " ".join(help_text.split()).lower(), f.name


def test_every_setting_the_pages_offer_for_a_path_run_exists_on_ask_and_compare():
    """What the sidebar, Models and Compare pages set is a `Settings`: each of its parts is an option of both."""
    wanted = {"--collection", "--model", "--backend", "--adapter", "--endpoint-url", "--endpoint-model", "--endpoint-key-env",
              "--paths"}
    wanted |= {f"--{f.name.replace('_', '-')}" for f in fields(RetrievalConfig)}
    wanted |= {f"--{f.name.replace('_', '-')}" for f in fields(DecodingConfig)}
    assert {f.name for f in fields(Settings)} == {"collection", "model", "backend", "adapter", "endpoint", "retrieval",
                                                "decoding"}
    assert {f.name for f in fields(EndpointSettings)} == {"base_url", "model", "api_key_env", "adapter", "concurrency"}
    for command in ("ask", "compare"):
        assert wanted <= _flags(command), (command, sorted(wanted - _flags(command)))
    assert "--chroma-host" in _flags("report")


class FakeResources:
    """Counts what the wiring loads."""

    def __init__(self, store, embedder, generator):
        self._store, self._embedder, self._generator = store, embedder, generator
        self.loaded: list[str] = []

    def store(self):
        return self._store

    def embedder(self, spec=None):
        return self._embedder

    def bm25(self, collection):
        from lab.index.retrieval import bm25_index

        return bm25_index(self._store, collection)

    def reranker(self, name_or_path):
        self.loaded.append(f"reranker {name_or_path}")
        return _Reversing()

    def generator(self, name, backend="transformers"):
        self.loaded.append(f"generator {name}")
        return self._generator

    def endpoint(self, settings):
        self.loaded.append(f"endpoint {settings.model}")
        return self._generator


class _Reversing:
    def rerank(self, query, hits):
        return list(reversed(hits))


def test_the_context_loads_only_what_the_paths_need(fake_app, store, fake_embedder, fake_generator):
    res = FakeResources(store, fake_embedder, fake_generator)
    ctx = path_context(Settings(collection=fake_app, endpoint=EndpointSettings("http://x/v1", "m")), res,
                       ["rag@endpoint"])
    assert ctx.generator is None and ctx.endpoint is not None and res.loaded == ["endpoint m"]
    assert ctx.retriever is not None and ctx.hybrid is not None and ctx.k == RetrievalConfig.k
    with pytest.raises(InputError, match="endpoint"):
        path_context(Settings(collection=fake_app), res, ["prompt@endpoint"])


def test_a_reranker_setting_puts_the_rerank_stage_on_the_hybrid_paths(fake_app, store, fake_embedder, fake_generator):
    res = FakeResources(store, fake_embedder, fake_generator)
    plain = path_context(Settings(collection=fake_app), res, ["hybrid-rag"])
    reranked = path_context(Settings(collection=fake_app, retrieval=RetrievalConfig(k=3, reranker="ce")), res,
                            ["hybrid-rag"])
    assert "reranker ce" in res.loaded and reranked.k == 3
    assert plain.hybrid.reranker is None and reranked.hybrid.reranker is not None


def test_a_missing_collection_leaves_the_retrieval_paths_to_say_so(store, fake_embedder, fake_generator):
    from lab.experiments.answer_paths import run_path

    ctx = path_context(Settings(collection="no-such-collection"), FakeResources(store, fake_embedder, fake_generator),
                       ["rag"])
    assert ctx.retriever is None
    assert "needs an index" in run_path("rag", "Which port?", ctx).error
