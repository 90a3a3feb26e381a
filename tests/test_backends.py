"""The bf16 and int8 backends: a bfloat16 copy of the weights, or int8 matrix multiplies on CPU. Each answers,
switches LoRA adapters like the reference backend, is recorded in the run manifest, and runs on different backends
are flagged as not comparable. (Its speed and how often it agrees with the reference are measured by `python -m lab bench`, not here.)"""

import pytest

from lab.config import DecodingConfig, data_dir
from lab.errors import ModelError
from lab.experiments.batch import differences, manifest_for
from lab.experiments.answer_paths import PathContext
from lab.generation.models import BACKENDS, LocalGenerator, default_backend
from lab.generation.prompts import chat

DECODING = DecodingConfig(max_new_tokens=12)
QUESTIONS = [chat("What is the capital of France?"), chat("Name a primary colour."),
             chat("What does the GPL let you do?", [("GPL-3", "You may copy and distribute verbatim copies.")])]


def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ModelError, match="transformers or bf16 or int8"):
        LocalGenerator(backend="fp4")
    assert BACKENDS[0] == "transformers"  # the reference comes first
    assert default_backend() in ("transformers", "bf16")  # never the experimental int8

def test_runs_on_different_backends_are_not_comparable_and_old_runs_count_as_transformers():
    old = {"model": "SmolLM2-135M-Instruct", "k": 4}
    assert differences(old, {**old, "backend": "transformers"}) == []
    assert differences(old, {**old, "backend": "int8"}) == ["generation backend"]


@pytest.fixture(scope="module")
def random_adapter():
    """A LoRA adapter with random (not zero) weights on the embedded model, saved as peft does."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from lab.generation.embedded import default_model_folder

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(default_model_folder())
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    folder = data_dir() / "adapters" / "random-int8-check"
    peft_model.save_pretrained(folder)
    return folder


@pytest.mark.model
@pytest.mark.parametrize("backend", ["int8", "bf16"])
def test_a_fast_backend_answers_and_switches_adapters_like_the_reference(random_adapter, backend):
    fast = LocalGenerator(backend=backend)
    base_before = [g.text for g in fast.generate(QUESTIONS, DECODING)]
    assert all(base_before) and fast.backend == backend
    name = fast.load_adapter(random_adapter)
    tuned = [g.text for g in fast.generate(QUESTIONS, DECODING, adapter=name)]
    assert tuned != base_before, "the adapter's weights are used on the copy"
    assert [g.text for g in fast.generate(QUESTIONS, DECODING)] == base_before, "adapter=None is the base again"
    manifest = manifest_for(PathContext(fast, None, None, 4, DECODING, name), None, "q")
    assert manifest.backend == backend and manifest.adapter_hash
    reference = LocalGenerator(backend="transformers")
    assert manifest_for(PathContext(reference, None, None, 4, DECODING), None, "q").backend == "transformers"
    assert differences(manifest, manifest_for(PathContext(reference, None, None, 4, DECODING, name), None, "q"))


@pytest.mark.model
def test_packed_weights_give_the_plain_bfloat16_logits_bit_for_bit_with_and_without_an_adapter(random_adapter,
                                                                                                 monkeypatch):
    """The bf16 copy's linear layers are packed for oneDNN once (`lab.generation.packing`): the same kernel on the
    same numbers, on a real licence passage, for a prefill and a few-row step, base model and adapter alike."""
    from pathlib import Path

    import torch

    from lab.generation import packing
    from lab.generation.models import runnable_copy

    fast = LocalGenerator(backend="bf16")
    name = fast.load_adapter(random_adapter)
    kinds = {type(module).__name__ for module in fast.model.modules()}
    if not packing.available(fast.model):  # a CPU where oneDNN refuses bfloat16: the copy keeps plain layers
        assert "PackedLinear" not in kinds and "Linear" in kinds
        return
    assert "Linear" in kinds  # LoRA's own matrices
    monkeypatch.setattr(packing, "available", lambda model: False)
    packed, plain = fast.model, runnable_copy(fast.float_model, "bf16")  # the same copy, its weights not packed
    layer = packed.base_model.model.model.layers[0]
    assert type(layer.mlp.up_proj).__name__ == type(layer.self_attn.q_proj.base_layer).__name__ == "PackedLinear"
    text = Path("/usr/share/common-licenses/GPL-3").read_text()[:3000]
    ids = torch.tensor([fast.tokenizer(text)["input_ids"][:400]])
    last = {}
    with torch.inference_mode():
        for adapter in (None, name):
            for model in (packed, plain):
                if adapter is None:
                    model.base_model.disable_adapter_layers()
                else:
                    model.base_model.enable_adapter_layers()
                    model.set_adapter(adapter)
            prefill = [m(input_ids=ids[:, :397], use_cache=True) for m in (packed, plain)]
            assert torch.equal(prefill[0].logits, prefill[1].logits)
            step = [m(input_ids=ids[:, 397:], past_key_values=p.past_key_values).logits
                    for m, p in zip((packed, plain), prefill)]
            assert torch.equal(step[0], step[1])
            last[adapter] = step[0]
    assert not torch.equal(last[None], last[name]), "the adapter's matrices are used on the packed copy"


@pytest.mark.slow
def test_the_single_question_figure_times_both_backends_and_splits_a_rag_answer(sample_collection):
    """The figure's plumbing on one question (the speed itself is claimed by `python -m lab bench`)."""
    from lab.bench.models import SINGLE_PATHS, bench_single_question
    from lab.session import Loader, Settings, path_context

    def make_context(backend):
        return path_context(Settings(collection=sample_collection, backend=backend), Loader(), SINGLE_PATHS)

    result = bench_single_question(data_dir(), make_context, ["Who is the Data Protection Officer?"])
    assert result.name == "single_question_speedup" and result.lab > 0 and result.baseline > 0
    assert result.detail["answers"] == len(SINGLE_PATHS)
    assert set(result.detail["seconds"]) == {"transformers", "bf16", "bf16 path after path with prompt lookup"}
    split = result.detail["rag_answer_split"]["bf16"]
    assert split["prompt_tokens"] > 100 and split["prefill_ms"] > 0 and split["prefill_floor_ms_at_fp32_peak"] > 0


def test_the_default_backend_follows_the_cpus_native_bfloat16():
    import doctest

    import lab.generation.models

    assert doctest.testmod(lab.generation.models).failed == 0
