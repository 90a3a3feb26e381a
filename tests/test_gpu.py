"""The CUDA path, where a GPU is present: the local model generates on it and LoRA training runs on it in bf16.
Skipped on a machine without CUDA (CI's is one; the lab's figures are CPU figures)."""

from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]
REPO = Path(__file__).resolve().parent.parent


def _cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    return torch


def test_the_local_model_generates_on_cuda():
    _cuda()
    from lab.config import DecodingConfig
    from lab.generation.models import LocalGenerator
    from lab.generation.prompts import chat

    generator = LocalGenerator(backend="transformers")
    assert generator.device == "cuda" and next(generator.model.parameters()).device.type == "cuda"
    out = generator.generate([chat("What is 2+2?"), chat("Name a colour.")], DecodingConfig(max_new_tokens=16))
    assert all(g.text and g.tokens_out > 0 for g in out)


def test_lora_training_runs_on_cuda_in_bf16(tmp_path):
    torch = _cuda()
    import json

    from lab.finetune.config import LoraTrainConfig
    from lab.finetune.job import TrainingJob

    config = LoraTrainConfig(rank=4, alpha=16, epochs=1, max_steps=3, batch_size=4, evaluate=False)
    job = TrainingJob(REPO / "sample_corpus" / "finetune_behaviour.jsonl", tmp_path / "gpu-adapter", config).start()
    assert job.wait(timeout=900).status.state == "done", job.status.message
    manifest = json.loads((job.out / "manifest.json").read_text())
    assert manifest["device"] == "cuda" and torch.cuda.is_available()
