"""What every command group shares: printing one document, the settings a command runs with, golden sets by
name or file, progress on stderr, and the parent parsers that give commands the same options."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, fields

from lab.config import DEFAULT_COLLECTION, SEARCH_K, DecodingConfig, RetrievalConfig
from lab.errors import InputError
from lab.generation.models import BACKENDS
from lab.options import add_options, picked
from lab.session import Settings, endpoint_settings


def utf8_text(value: str) -> str:
    """An argparse type for text the lab stores or sends (questions, answers, queries): valid UTF-8 without NUL.

    >>> utf8_text("What is RRF?")
    'What is RRF?'
    >>> utf8_text("bad \\udcff")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: 'bad \\udcff' is not valid UTF-8 text: retype it, or pass it from a UTF-8 file.
    """
    if "\x00" in value or any("\udc80" <= ch <= "\udcff" for ch in value):
        raise argparse.ArgumentTypeError(f"{value!r} is not valid UTF-8 text: retype it, or pass it from a UTF-8 file.")
    return value


def emit(args, document: dict, text: str) -> None:
    """One JSON document on stdout under --json, else the text."""
    print(json.dumps(document, indent=2, ensure_ascii=False) if args.json else text)


def settings_of(args) -> Settings:
    """The session settings of a command (the same dataclass the pages fill from the sidebar and widgets)."""
    return Settings(
        collection=getattr(args, "collection", DEFAULT_COLLECTION),
        model=getattr(args, "model", None), backend=getattr(args, "backend", None),
        adapter=getattr(args, "adapter", None),
        endpoint=endpoint_settings(getattr(args, "endpoint_url", None), getattr(args, "endpoint_model", None),
                                   getattr(args, "endpoint_key_env", None), getattr(args, "endpoint_adapter", None),
                                   getattr(args, "concurrency", 8)),
        retrieval=RetrievalConfig(**picked(RetrievalConfig, args)), decoding=DecodingConfig(**picked(DecodingConfig, args)))


def golden_set(spec: str):
    """A golden set: a stored set's NAME[@vN], or a JSONL/CSV file."""
    from lab.evaluation.golden_store import resolve

    return resolve(spec)


def echo_progress(advance):
    """A job's `advance` that also prints each message on stderr."""
    def wrapped(done=None, total=None, message=None):
        advance(done, total, message)
        if message:
            print(message, file=sys.stderr)
    return wrapped


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors (`--k abc`, a missing option) are InputErrors: exit 2, and one JSON document
    under --json like every other error."""

    def error(self, message: str):
        raise InputError(f"{self.prog}: {message} (see `{self.prog} --help`).")


def add_endpoint(parser: argparse.ArgumentParser, role: str) -> None:
    """--endpoint-url, --endpoint-model, --endpoint-key-env for an endpoint in `role`."""
    parser.add_argument("--endpoint-url", default=None, help=f"{role}: OpenAI-compatible base URL "
                                                             "(e.g. http://127.0.0.1:8000/v1)")
    parser.add_argument("--endpoint-model", default=None, help="the model name the endpoint serves")
    parser.add_argument("--endpoint-key-env", default=None, help="NAME of the environment variable with the API key "
                                                                 "(sent only to the URL's own host)")


@dataclass(frozen=True)
class Parents:
    """Option groups shared by several commands."""
    common: argparse.ArgumentParser      # --json, --chroma-host
    collection: argparse.ArgumentParser  # --collection
    run: argparse.ArgumentParser         # what a path run needs: model, backend, adapter, endpoint, retrieval, decoding
    retrieval: argparse.ArgumentParser   # retrieval settings without the prompt's


def parents() -> Parents:
    common = Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--chroma-host", default=None, help="host:port of a Chroma server (default: LAB_CHROMA_HOST, "
                        "else the embedded store)")
    collection = argparse.ArgumentParser(add_help=False)
    collection.add_argument("--collection", default=DEFAULT_COLLECTION,
                            help=f"collection (default: {DEFAULT_COLLECTION})")
    # What a path run needs: the same settings on `ask` and `compare` (and in the pages' sidebar and widgets).
    run = argparse.ArgumentParser(add_help=False, parents=[collection])
    run.add_argument("--model", default=None, help="local model folder or Hugging Face id (default: embedded SmolLM2)")
    run.add_argument("--backend", default=None, choices=BACKENDS,
                     help="how the local model runs: transformers (the float32 reference), bf16 (a bfloat16 copy of "
                          "the same weights; the default on CPUs with native bfloat16) or int8 (experimental: same "
                          "weights, int8 matrix multiplies on CPU). `lab bench --only comparison_speedup --backend B` "
                          "measures speed and agreement")
    run.add_argument("--adapter", default=None, help="LoRA adapter folder for the finetuned and hybrid paths")
    add_endpoint(run, "the ...@endpoint paths")
    run.add_argument("--endpoint-adapter", default=None, metavar="NAME",
                     help="the name the endpoint serves the LoRA adapter under, for finetuned@endpoint and "
                          "hybrid@endpoint (vLLM: --enable-lora --lora-modules NAME=DIR)")
    run.add_argument("--concurrency", type=int, default=8, help="requests in flight on the endpoint (default 8)")
    add_options(run, RetrievalConfig)
    add_options(run, DecodingConfig)
    retrieval = argparse.ArgumentParser(add_help=False, parents=[collection])
    add_options(retrieval, RetrievalConfig, defaults={"k": SEARCH_K},
                only=tuple(f.name for f in fields(RetrievalConfig) if f.name != "passage_context"))  # no prompt here
    return Parents(common, collection, run, retrieval)
