"""The sample's behaviour adapter ships with the lab: built by the lab's own `train` from the sample behaviour set
(`make sample-adapter`), its manifest naming the data's hash and the Makefile's settings, listed on the Models
page, loadable from where it ships, and answering in the sample's JSON shape."""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

import pytest

from lab.config import SAMPLE_ADAPTER, SAMPLE_CORPUS

REPO = Path(__file__).resolve().parent.parent


def test_the_shipped_adapter_was_built_from_the_shipped_data_with_the_makefiles_settings():
    from lab.generation.adapters import read_manifest

    manifest = read_manifest(SAMPLE_ADAPTER)
    data = (SAMPLE_CORPUS / "finetune_behaviour.jsonl").read_bytes()
    assert manifest["data_sha256"] == hashlib.sha256(data).hexdigest(), \
        "finetune_behaviour.jsonl changed since the adapter was built: run `make sample-adapter`"
    args = shlex.split(re.search(r"^SAMPLE_ADAPTER_ARGS := (.+)$", (REPO / "Makefile").read_text(), re.M).group(1))
    wanted = dict(zip(args[::2], args[1::2]))
    got = manifest["hyperparameters"]
    assert (got["rank"], ",".join(got["targets"]), got["epochs"], got["lr"], got["max_length"]) == (
        int(wanted["--rank"]), wanted["--targets"], int(wanted["--epochs"]), float(wanted["--lr"]),
        int(wanted["--max-length"])), "the Makefile's settings changed since: run `make sample-adapter`"
    assert manifest["skipped_too_long"] == 0 and manifest["metrics"]["adapter"]["json_format"] >= 0.8


def test_it_is_small_safe_and_listed_where_users_choose_adapters():
    from lab.generation.adapters import check_adapter_folder, list_adapters

    assert sum(p.stat().st_size for p in SAMPLE_ADAPTER.glob("adapter_model*.safetensors")) < 4 * 2**20
    assert check_adapter_folder(SAMPLE_ADAPTER) == SAMPLE_ADAPTER.resolve()  # loadable from where it ships
    shipped = [a for a in list_adapters() if a.folder == str(SAMPLE_ADAPTER)]
    assert len(shipped) == 1 and shipped[0].base_model == "SmolLM2-135M-Instruct"


@pytest.mark.model
def test_it_answers_in_the_samples_json_shape():
    from lab.config import DecodingConfig
    from lab.evaluation.answer_format import SAMPLE
    from lab.evaluation.golden import load_golden
    from lab.experiments.answer_paths import PathContext, run_path
    from lab.generation.models import LocalGenerator

    generator = LocalGenerator()
    ctx = PathContext(generator, adapter=generator.load_adapter(str(SAMPLE_ADAPTER)),
                      decoding=DecodingConfig(max_new_tokens=64))
    questions = load_golden(SAMPLE_CORPUS / "golden.jsonl")[:3]
    answers = [run_path("finetuned", q.question, ctx) for q in questions]
    assert all(a.error is None for a in answers)
    assert sum(SAMPLE.ok(a.text) for a in answers) >= 2, [a.text for a in answers]
