"""A real LoRA on the embedded model: train a few steps, save atomically, reload, switch, compare to base."""

import json
import shutil
from pathlib import Path

import pytest

from lab.config import DecodingConfig
from lab.errors import InputError, ModelError, NotFoundError
from lab.generation.prompts import chat
from lab.finetune.config import LoraTrainConfig
from lab.finetune.job import TrainingJob, read_status

pytestmark = [pytest.mark.slow, pytest.mark.model]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """20 short knowledge examples -> 16 train / 2 validation / 2 test; 4 steps at max_length 128."""
    root = tmp_path_factory.mktemp("adapters")
    data = root / "small.jsonl"
    data.write_text("\n".join((REPO / "sample_corpus" / "finetune_knowledge.jsonl").read_text().splitlines()[:20]))
    config = LoraTrainConfig(rank=4, alpha=8, epochs=1, lr=2e-3, max_length=128, batch_size=4, general_limit=2)
    job = TrainingJob(data, root / "knowledge-small", config).start()
    status = job.wait(timeout=600)
    assert status.state == "done", status.message
    return job


def test_training_saves_a_complete_adapter_with_its_manifest(trained):
    folder = trained.out
    names = {p.name for p in folder.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "manifest.json", "training_status.json"} <= names
    assert not list(folder.parent.glob(".*partial*")), "no temporary folder left behind"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["base_model"] == "SmolLM2-135M-Instruct" and len(manifest["data_sha256"]) == 64
    assert manifest["split"] == {"train": 16, "validation": 2, "test": 2} and manifest["steps"] == 4
    assert manifest["hyperparameters"]["rank"] == 4 and manifest["tokens_per_second"] > 0
    metrics = manifest["metrics"]
    assert metrics["format"] == "text" and metrics["general_questions"] == 2
    for side in ("base", "adapter"):
        assert metrics[side]["test_loss"] > 0 and 0 <= metrics[side]["general_accuracy"] <= 1
    status = read_status(folder)
    assert status.state == "done" and len(status.train_losses) == 4 and len(status.val_losses) >= 2
    assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] == "SmolLM2-135M-Instruct"
    with pytest.raises(InputError, match="already holds an adapter"):
        TrainingJob(REPO / "sample_corpus" / "finetune_knowledge.jsonl", folder)


def _logits(generator, adapter):
    import torch

    batch = generator.tokenizer(["<|im_start|>user\nWhen did Halyard 4.0 ship?<|im_end|>\n"], return_tensors="pt")
    with torch.no_grad(), generator._adapter_context(adapter):
        return generator.model(**batch).logits[0, -1]


def test_reload_switch_and_compare_with_the_base(trained, tmp_path):
    import torch

    from lab.generation.models import LocalGenerator

    generator = LocalGenerator()
    decoding = DecodingConfig(max_new_tokens=12)
    conversations = [chat("When did Marrowlake ship Halyard 4.0?"), chat("What is the capital of France?")]
    before = generator.generate(conversations, decoding)
    with pytest.raises(NotFoundError):
        generator.generate(conversations, decoding, adapter="nope")
    base_logits = _logits(generator, None)

    name = generator.load_adapter(trained.out)
    assert name == "knowledge-small" and generator.load_adapter(trained.out) == name  # second load: no-op
    copy = tmp_path / "copy"
    shutil.copytree(trained.out, copy)
    assert generator.load_adapter(copy) == "copy" and set(generator.adapters) == {name, "copy"}
    assert len(generator.adapter_hashes[name]) == 64

    assert [g.text for g in generator.generate(conversations, decoding)] == [g.text for g in before]  # base intact
    assert torch.allclose(_logits(generator, None), base_logits, atol=1e-5)
    tuned = _logits(generator, name)
    assert not torch.allclose(tuned, base_logits, atol=1e-3), "the adapter changes the logits"
    assert torch.allclose(_logits(generator, "copy"), tuned, atol=1e-5)
    assert len(generator.generate(conversations, decoding, adapter=name)) == 2  # batched, left padded
    assert generator.generate(conversations[:1], decoding, adapter=str(trained.out))[0].text  # by folder too


def test_an_adapter_for_another_base_model_is_refused(trained, tmp_path, real_generator):
    other = tmp_path / "other-base"
    shutil.copytree(trained.out, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["base_model"] = "Qwen/Qwen2.5-0.5B-Instruct"
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="trained on Qwen/Qwen2.5-0.5B-Instruct.*loaded base model is SmolLM2"):
        real_generator.load_adapter(other)
    assert real_generator.adapters == {}
