"""Training with merge: the merged folder loads as a plain safetensors model and answers like base + adapter;
too-long examples are skipped, counted and explained (never silently)."""

import json
from pathlib import Path

import pytest

from lab.config import DecodingConfig
from lab.finetune.loop import skipped_note
from lab.generation.prompts import chat
from lab.finetune.config import LoraTrainConfig
from lab.finetune.job import TrainingJob, read_status

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


def test_the_skip_note_says_how_many_why_and_what_to_do():
    assert skipped_note(0, 10, 256, 200) == ""
    note = skipped_note(196, 361, 256, 456)
    assert note.startswith("196 of 361 training/validation examples were skipped: longer than max_length=256")
    assert "set max_length to 456" in note


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    """20 knowledge examples (18 for training + validation, 83-101 tokens) at max_length 95: 8 are skipped."""
    root = tmp_path_factory.mktemp("merge")
    data = root / "small.jsonl"
    data.write_text("\n".join((REPO / "sample_corpus" / "finetune_knowledge.jsonl").read_text().splitlines()[:20]))
    config = LoraTrainConfig(rank=4, alpha=16, epochs=1, lr=5e-3, max_length=95, batch_size=4, max_steps=2,
                             merge=True, evaluate=False)
    job = TrainingJob(data, root / "merged-adapter", config).start()
    status = job.wait(timeout=600)
    assert status.state == "done", status.message
    return job


@pytest.mark.model
def test_skipped_examples_are_counted_and_explained(merged):
    manifest = json.loads((merged.out / "manifest.json").read_text())
    skipped, longest = manifest["skipped_too_long"], manifest["longest_example_tokens"]
    assert skipped == 8 and longest == 101
    assert manifest["skipped_note"].startswith(f"{skipped} of 18 training/validation examples were skipped")
    status = read_status(merged.out)
    assert status.skipped_too_long == skipped and f"set max_length to {longest}" in status.message


@pytest.mark.model
def test_the_merged_model_loads_and_answers_like_base_plus_adapter(merged):
    import torch

    from lab.generation.models import LocalGenerator

    folder = merged.out / "merged"
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))
    assert json.loads((merged.out / "manifest.json").read_text())["merged_model"] == "merged"
    # the merge's arithmetic is checked in float32 (the reference backend): a bfloat16 copy rounds the merged weights
    # and base + adapter differently, so their logits agree only to bfloat16's precision
    full = LocalGenerator(str(folder), backend="transformers")
    base = LocalGenerator(backend="transformers")
    name = base.load_adapter(merged.out)
    conversation = chat("When did Marrowlake ship Halyard 4.0?")
    decoding = DecodingConfig(max_new_tokens=16)
    merged_text = full.generate([conversation], decoding)[0].text
    assert merged_text == base.generate([conversation], decoding, adapter=name)[0].text

    def last_logits(generator, adapter=None):
        prompt = generator.tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
        batch = generator.tokenizer([prompt], return_tensors="pt", add_special_tokens=False)
        with torch.no_grad(), generator._adapter_context(adapter):
            return generator.model(**batch).logits[0, -1]

    tuned, plain = last_logits(base, name), last_logits(base, None)
    assert torch.allclose(last_logits(full), tuned, atol=1e-3), "merged = base + adapter"
    assert not torch.allclose(tuned, plain, atol=1e-3), "the adapter (and so the merge) changed the model"
