"""Item 4 of the hardening issue: only safetensors, no remote code, model and adapter folders confined."""

import json
import os
import re
from pathlib import Path

import pytest

from lab.errors import InputError, ModelError
from lab.model_paths import ENV, allowed_dirs, confine, local_or_hub

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def outside(tmp_path_factory, monkeypatch):
    """A folder outside every allowed folder (the session allows pytest's tmp root; narrow it to one folder)."""
    allowed = tmp_path_factory.mktemp("allowed")
    monkeypatch.setenv(ENV, str(allowed))
    return allowed, tmp_path_factory.mktemp("outside")


def test_folders_inside_the_data_models_or_listed_dirs_are_allowed(outside):
    from lab.generation.adapters import adapters_dir
    from lab.config import models_dir

    allowed, _ = outside
    for folder in (adapters_dir() / "behaviour", models_dir() / "SmolLM2-135M-Instruct", allowed / "qwen"):
        assert confine(folder, "The model folder") == folder.resolve()
    assert confine(str(allowed / "a" / ".." / "b"), "x") == allowed / "b"
    assert allowed in allowed_dirs()


def test_a_folder_outside_is_refused_naming_the_env_var(outside):
    _, elsewhere = outside
    for path in (elsewhere, "/etc", "/"):
        with pytest.raises(InputError, match=f"outside the folders the lab loads models from.*{ENV}"):
            confine(path, "The model folder")


def test_a_symlink_inside_that_leads_outside_is_refused(outside):
    from lab.generation.adapters import adapters_dir

    _, elsewhere = outside
    link = adapters_dir() / "sneaky"
    link.symlink_to(elsewhere, target_is_directory=True)
    try:
        with pytest.raises(InputError, match=str(elsewhere)):
            confine(link, "The adapter folder")
    finally:
        link.unlink()


def test_models_adapters_and_cross_encoders_are_confined(outside):
    from lab.generation.adapters import check_adapter_folder
    from lab.generation.embedded import resolve_model
    from lab.index.rerank import CrossEncoderReranker

    _, elsewhere = outside
    (elsewhere / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "x"}))
    (elsewhere / "adapter_model.safetensors").write_bytes(b"")
    (elsewhere / "model.safetensors").write_bytes(b"")
    with pytest.raises(InputError, match="The model folder .* is outside"):
        resolve_model(str(elsewhere))
    with pytest.raises(InputError, match="The adapter folder .* is outside"):
        check_adapter_folder(elsewhere)
    with pytest.raises(InputError, match="The cross-encoder folder .* is outside"):
        CrossEncoderReranker(str(elsewhere))
    assert resolve_model("HuggingFaceTB/SmolLM2-360M-Instruct") == "HuggingFaceTB/SmolLM2-360M-Instruct"  # hub id
    assert local_or_hub("cross-encoder/ms-marco-MiniLM-L-6-v2", "x") == "cross-encoder/ms-marco-MiniLM-L-6-v2"


def test_a_folder_with_only_pickle_weights_is_refused(outside):
    from lab.generation.embedded import resolve_model

    allowed, _ = outside
    folder = allowed / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x02")
    with pytest.raises(ModelError, match="only pickle weights"):
        resolve_model(str(folder))


def test_no_code_in_lab_trusts_remote_code():
    offenders = [f"{path.name}:{n}" for path in sorted((REPO / "lab").rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"trust_remote_code\s*=\s*True", line)]
    assert offenders == []
    source = (REPO / "lab" / "generation" / "models.py").read_text()
    assert "trust_remote_code=False" in source and "use_safetensors=True" in source


def test_the_env_var_accepts_several_folders(monkeypatch, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv(ENV, os.pathsep.join([str(a), "", str(b)]))
    assert {a, b} <= set(allowed_dirs())


# --- weights checked by content -----------------------------------------------------------


def _real_safetensors(path: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    save_file({"lora_A": np.ones((4, 8), dtype=np.float32), "lora_B": np.zeros((8, 4), dtype=np.float32)}, str(path))


def _adapter(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "x"}))
    _real_safetensors(folder / "adapter_model.safetensors")
    return folder


def _model(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    _real_safetensors(folder / "model.safetensors")
    return folder


def _loaders():
    from lab.generation.adapters import check_adapter_folder
    from lab.generation.embedded import resolve_model
    from lab.index.rerank import CrossEncoderReranker

    return {"adapter": (_adapter, check_adapter_folder, "adapter_model.safetensors"),
            "model": (_model, resolve_model, "model.safetensors"),
            "reranker": (_model, CrossEncoderReranker, "model.safetensors")}


TRICKS = {  # name -> (what it does to a valid folder, words of the refusal)
    "empty-safetensors-beside-real-pickle": (lambda f, w: ((f / w).write_bytes(b""),
                                                           (f / "adapter_model.bin").write_bytes(b"\x80\x04K\x01."),
                                                           (f / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")),
                                             "pickle weights"),
    "pickle-beside-valid-safetensors": (lambda f, w: (f / "training_args.bin").write_bytes(b"\x80\x04K\x01."),
                                        "pickle weights"),
    "empty-safetensors": (lambda f, w: (f / w).write_bytes(b""), "not a safetensors file"),
    "pickle-renamed-safetensors": (lambda f, w: (f / w).write_bytes(b"\x80\x04\x95" + b"\x00" * 64),
                                   "not a safetensors file"),
    "truncated-safetensors": (lambda f, w: os.truncate(f / w, (f / w).stat().st_size - 7), "not a safetensors file"),
    "weights-linked-outside": (None, "outside the folders the lab loads models from"),
    "config-linked-outside": (None, "outside the folders the lab loads models from"),
}


@pytest.mark.parametrize("trick", list(TRICKS))
@pytest.mark.parametrize("kind", ["adapter", "model", "reranker"])
def test_weights_are_checked_by_content_and_links_confined(kind, trick, outside):
    allowed, elsewhere = outside
    make, load, weights = _loaders()[kind]
    folder = make(allowed / f"{kind}-{trick}")
    change, words = TRICKS[trick]
    if trick == "weights-linked-outside":
        _real_safetensors(elsewhere / f"{kind}.safetensors")
        (folder / weights).unlink()
        (folder / weights).symlink_to(elsewhere / f"{kind}.safetensors")
    elif trick == "config-linked-outside":
        (folder / "tokenizer.json").symlink_to("/etc/passwd")
    else:
        change(folder, weights)
    with pytest.raises((ModelError, InputError), match=words):
        load(str(folder))


def test_a_valid_folder_passes_and_links_inside_are_followed(outside):
    from lab.model_paths import check_weights, safetensors_problem

    allowed, _ = outside
    folder = _adapter(allowed / "ok")
    assert safetensors_problem(folder / "adapter_model.safetensors") is None
    assert check_weights(folder, "x", "adapter_model*.safetensors") == folder
    shared = allowed / "shared.safetensors"
    _real_safetensors(shared)
    (folder / "adapter_model.safetensors").unlink()
    (folder / "adapter_model.safetensors").symlink_to(shared)  # a link inside the allowed folders is fine
    assert check_weights(folder, "x", "adapter_model*.safetensors") == folder


# --- shard indexes and empty adapters -------------------------------------------------------------------------


def test_a_shard_index_naming_a_file_outside_the_folder_is_refused(outside):
    from lab.generation.embedded import resolve_model

    allowed, elsewhere = outside
    folder = _model(allowed / "sharded")
    _real_safetensors(elsewhere / "stolen.safetensors")
    for shard, words in ((f"../../{elsewhere.name}/stolen.safetensors", "outside the folder"),
                         (str(elsewhere / "stolen.safetensors"), "outside the folder"),
                         ("missing.safetensors", "not a safetensors file in the folder")):
        (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": shard}}))
        with pytest.raises(ModelError, match=words):
            resolve_model(str(folder))
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": "model.safetensors"}}))
    assert resolve_model(str(folder)) == folder.resolve()


def test_an_adapter_without_lora_tensors_is_refused(outside):
    import numpy as np
    from safetensors.numpy import save_file

    from lab.generation.adapters import check_adapter_folder

    folder = _adapter(outside[0] / "empty-adapter")
    save_file({"model.embed_tokens.weight": np.ones((4, 4), dtype=np.float32)}, str(folder / "adapter_model.safetensors"))
    with pytest.raises(ModelError, match="holds no LoRA tensors"):
        check_adapter_folder(folder)


@pytest.mark.parametrize("config,words", [
    ({"r": 8, "target_modules": ["q_proj", "v_proj"]}, None),
    ({"r": 16, "target_modules": ["q_proj", "v_proj"]}, "its rank r is 16"),
    ({"r": 8, "target_modules": ["k_proj"]}, "q_proj has LoRA weights but is not among its target_modules"),
], ids=["matching", "rank-differs", "targets-differ"])
def test_an_adapter_whose_tensors_do_not_match_its_config_is_refused(outside, config, words):
    import numpy as np
    from safetensors.numpy import save_file

    from lab.generation.adapters import check_adapter_folder

    folder = _adapter(outside[0] / "adapter")
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "x", **config}))
    prefix = "base_model.model.model.layers.0.self_attn"
    save_file({f"{prefix}.{m}.lora_{ab}.weight": np.zeros(shape, dtype=np.float32)
               for m in ("q_proj", "v_proj") for ab, shape in (("A", (8, 64)), ("B", (64, 8)))},
              str(folder / "adapter_model.safetensors"))
    if words is None:
        assert check_adapter_folder(folder) == folder.resolve()
    else:
        with pytest.raises(ModelError, match=words):
            check_adapter_folder(folder)
