"""LoRA adapter folders: where they live, what their manifest says, and the checks before loading one.

An adapter folder (written by `lab.finetune.job`) holds peft's `adapter_config.json` and
`adapter_model.safetensors`, plus `manifest.json` (base model, data sha256, hyperparameters, split sizes,
metrics, wall time, date) and `training_status.json`. Adapters trained elsewhere (no manifest) load too.

>>> base_matches("SmolLM2-135M-Instruct", ["SmolLM2-135M-Instruct", "/models/SmolLM2-135M-Instruct"])
True
>>> base_matches("HuggingFaceTB/SmolLM2-360M-Instruct", ["SmolLM2-135M-Instruct"])
False
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from lab.config import data_dir, read_json
from lab.errors import ModelError, LabError, NotFoundError

_MANIFEST_ADVICE = ("Restore it from where the adapter came from, or delete manifest.json (the adapter still loads; "
                    "its training figures are lost).")


def adapters_dir() -> Path:
    path = data_dir() / "adapters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def adapter_folder(name: str) -> Path:
    """The folder an adapter trained under `name` goes to; InputError for a name that is no folder name."""
    from lab.outputs import check_artefact_name

    return adapters_dir() / check_artefact_name(name, "Adapter name")


@dataclass
class AdapterInfo:
    name: str
    folder: str
    base_model: str | None
    manifest: dict = field(default_factory=dict)


def read_manifest(folder: str | Path) -> dict:
    path = Path(folder) / "manifest.json"
    return read_json(path, _MANIFEST_ADVICE) if path.is_file() else {}


def adapter_base(folder: str | Path) -> str | None:
    """The base model an adapter was trained on: the manifest's, else peft's base_model_name_or_path."""
    manifest = read_manifest(folder)
    if manifest.get("base_model"):
        return manifest["base_model"]
    config = Path(folder) / "adapter_config.json"
    if not config.is_file():
        return None
    return read_json(config, "Save the adapter again with peft's save_pretrained.").get("base_model_name_or_path")


def list_adapters(root: str | Path | None = None) -> list[AdapterInfo]:
    """Adapter folders under `<data dir>/adapters/` (or `root`), newest first; without `root`, the sample's own
    behaviour adapter after them (shipped with the lab)."""
    from lab.config import SAMPLE_ADAPTER

    found = _listed(Path(root) if root else adapters_dir())
    if root is None and (SAMPLE_ADAPTER / "adapter_config.json").is_file():
        found.append(AdapterInfo("sample behaviour (shipped)", str(SAMPLE_ADAPTER), adapter_base(SAMPLE_ADAPTER),
                                 read_manifest(SAMPLE_ADAPTER)))
    return found


def _listed(root: Path) -> list[AdapterInfo]:
    found = []
    for p in sorted(root.iterdir()):
        if p.is_dir() and (p / "adapter_config.json").is_file():
            try:
                found.append(AdapterInfo(p.name, str(p), adapter_base(p), read_manifest(p)))
            except LabError as exc:  # one damaged adapter is listed with its problem; the others stay usable
                found.append(AdapterInfo(p.name, str(p), None, {"error": str(exc)}))
    return sorted(found, key=lambda a: str(a.manifest.get("date", "")), reverse=True)


def check_adapter_folder(folder: str | Path) -> Path:
    from lab.model_paths import check_weights, confine

    folder = confine(folder, "The adapter folder")  # inside the allowed folders, symlinks followed
    if not (folder / "adapter_config.json").is_file():
        raise NotFoundError(f"{folder} is not a LoRA adapter folder (no adapter_config.json). Give a folder "
                            "written by `python -m lab train` or peft's save_pretrained.")
    folder = check_weights(folder, "The adapter folder", "adapter_model*.safetensors")  # by content, links confined
    from lab.model_paths import tensor_shapes

    shapes = {n: s for path in sorted(folder.glob("adapter_model*.safetensors")) for n, s in tensor_shapes(path).items()}
    if not any("lora_" in n for n in shapes):
        raise ModelError(f"The adapter folder {folder} holds no LoRA tensors ({len(shapes)} tensors, none named "
                         "lora_A/lora_B): loaded, it would answer as the base model under the adapter's name. "
                         "Train it again, or give the folder peft saved.")
    problem = config_mismatch(read_json(folder / "adapter_config.json", "Save the adapter again with peft's "
                                        "save_pretrained."), shapes)
    if problem:
        raise ModelError(f"The adapter folder {folder} does not match its adapter_config.json: {problem}. Loaded, "
                         "peft would skip or misread those weights; train it again, or give the folder peft saved.")
    return folder


def config_mismatch(config: dict, shapes: dict[str, list[int]]) -> str | None:
    """Why LoRA tensors do not fit the adapter's config (rank, target modules), or None.

    >>> A, B = "model.layers.0.self_attn.q_proj.lora_A.weight", "model.layers.0.self_attn.q_proj.lora_B.weight"
    >>> config_mismatch({"r": 8, "target_modules": ["q_proj", "v_proj"]}, {A: [8, 576], B: [576, 8]})
    >>> config_mismatch({"r": 16, "target_modules": ["q_proj"]}, {A: [8, 576], B: [576, 8]})
    'its rank r is 16, but model.layers.0.self_attn.q_proj.lora_A.weight has rank 8'
    >>> config_mismatch({"r": 8, "target_modules": ["k_proj"]}, {A: [8, 576], B: [576, 8]})
    'q_proj has LoRA weights but is not among its target_modules (k_proj)'
    """
    rank, targets = config.get("r"), config.get("target_modules")
    for name, shape in sorted(shapes.items()):
        if ".lora_A." in name and isinstance(rank, int) and not config.get("rank_pattern") and shape and shape[0] != rank:
            return f"its rank r is {rank}, but {name} has rank {shape[0]}"
        if ".lora_B." in name and isinstance(rank, int) and not config.get("rank_pattern") and len(shape) > 1 \
                and shape[1] != rank:
            return f"its rank r is {rank}, but {name} has rank {shape[1]}"
        if "lora_" in name and isinstance(targets, list) and targets:
            module = name.split(".lora_")[0].rsplit(".", 1)[-1]
            if module not in targets:
                return f"{module} has LoRA weights but is not among its target_modules ({', '.join(map(str, targets))})"
    return None


def base_matches(claimed: str | None, loaded: list[str]) -> bool:
    """Same model if the names are equal or name the same folder / hub repo (compared by last path part)."""
    if not claimed:
        return True  # nothing recorded: peft still refuses an adapter whose shapes do not fit
    tail = claimed.rstrip("/").split("/")[-1].lower()
    return any(claimed == name or tail == str(name).rstrip("/").split("/")[-1].lower() for name in loaded)


def weights_sha256(folder: str | Path, pattern: str = "adapter_model*.safetensors") -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob(pattern)):
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def serve_commands(folder: str | Path, base_model: str | None = None) -> dict[str, str]:
    """How to serve an adapter the lab trained on your own server (its folder is already in the layout vLLM
    loads: adapter_config.json and adapter_model.safetensors), by server: the command, and the names to give the
    lab (`--endpoint-model`, `--endpoint-adapter`).

    >>> serve_commands("/data/adapters/halyard", "Qwen/Qwen2.5-7B-Instruct")["vllm"]
    'vllm serve Qwen/Qwen2.5-7B-Instruct --enable-lora --max-lora-rank 64 --lora-modules halyard=/data/adapters/halyard'
    """
    folder = Path(folder)
    base = base_model or "BASE_MODEL"
    commands = {"vllm": f"vllm serve {base} --enable-lora --max-lora-rank 64 --lora-modules {folder.name}={folder}",
                "lab": f"--endpoint-model {base} --endpoint-adapter {folder.name}"}
    if (folder / "merged").is_dir():
        commands["transformers serve"] = (f"transformers serve --host 127.0.0.1 --port 8000  # then "
                                          f"--endpoint-adapter {folder / 'merged'}")
    return commands
