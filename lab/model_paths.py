"""Where local model, adapter and cross-encoder folders may be loaded from.

A folder typed into the app or the CLI is resolved (`~` expanded, symlinks followed) and must lie inside an
allowed folder: the lab's models directory (`LAB_MODELS_DIR`), its data directory (`LAB_DATA_DIR`, which
holds `adapters/`), the sample's own adapter folder, or one listed in `LAB_ALLOWED_MODEL_DIRS` (separated by `os.pathsep`, ':' on Linux and
macOS). So a shared demo cannot be pointed at arbitrary files on the server, and a symlink cannot lead out.
Hugging Face hub ids (not existing paths) are not folders and pass through unchanged.

    LAB_ALLOWED_MODEL_DIRS=/opt/models   confine("/opt/models/qwen/../qwen", "The model folder") -> /opt/models/qwen
                                         confine("/etc", "The model folder") -> InputError naming the variable
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from lab.config import SAMPLE_ADAPTER, data_dir, models_dir
from lab.errors import InputError, ModelError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
_MAX_HEADER = 100 * 2**20  # safetensors' own limit on the JSON header
_PICKLE_ADVICE = ("the lab loads safetensors only, because a pickle file can run code when loaded (and a loader may "
                  "fall back to it). Convert it once where you trust it (load it, then save_pretrained(..., "
                  "safe_serialization=True)), then delete the pickle files.")

ENV = "LAB_ALLOWED_MODEL_DIRS"


def allowed_dirs() -> list[Path]:
    extra = [Path(p).expanduser().resolve() for p in os.environ.get(ENV, "").split(os.pathsep) if p.strip()]
    return [models_dir(), data_dir(), SAMPLE_ADAPTER.resolve(), *extra]  # (the shipped adapter is read, never written)


def confine(path: str | Path, what: str) -> Path:
    """The resolved path, if it lies inside an allowed folder; InputError (naming the env var) otherwise."""
    resolved = Path(path).expanduser().resolve()
    allowed = allowed_dirs()
    if any(resolved == root or resolved.is_relative_to(root) for root in allowed):
        return resolved
    raise InputError(f"{what} {resolved} is outside the folders the lab loads models from "
                     f"({', '.join(map(str, allowed))}). Move or link it there, or add its parent folder to "
                     f"{ENV} (separate several with '{os.pathsep}') and restart the lab.")


def local_or_hub(name_or_path: str, what: str) -> str:
    """An existing local path, confined and resolved; anything else is passed on as a hub id."""
    return str(confine(name_or_path, what)) if Path(name_or_path).expanduser().exists() else name_or_path


def safetensors_problem(path: Path) -> str | None:
    """Why `path` is not a safetensors file by its content, or None when it is one: an 8-byte little-endian header
    length, a JSON header of tensors (dtype, shape, data_offsets) and data that ends exactly at the file's end."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(8)
            if len(head) < 8:
                return f"{size} bytes: too short for a safetensors header"
            (length,) = struct.unpack("<Q", head)
            if not 2 <= length <= min(_MAX_HEADER, size - 8):
                return f"header length {length} does not fit a {size}-byte file"
            header = json.loads(handle.read(length).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"the header is not readable JSON ({exc})"
    if not isinstance(header, dict):
        return "the header is not a JSON object"
    end = 0
    for name, tensor in header.items():
        if name == "__metadata__":
            continue
        offsets = tensor.get("data_offsets") if isinstance(tensor, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                and 0 <= offsets[0] <= offsets[1] and "dtype" in tensor and "shape" in tensor):
            return f"tensor {name!r} has no valid dtype, shape and data_offsets"
        end = max(end, offsets[1])
    if not any(n != "__metadata__" for n in header):
        return "it holds no tensors"
    if 8 + length + end != size:
        return f"its tensors end at byte {8 + length + end:,}, but the file has {size:,} bytes"
    return None


def tensor_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor name -> shape from a safetensors file's header (the file checked by `safetensors_problem` first)."""
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length).decode("utf-8"))
    return {n: list(v.get("shape") or []) for n, v in header.items() if n != "__metadata__" and isinstance(v, dict)}


def tensor_names(path: Path) -> list[str]:
    """The tensor names in a safetensors file's header (the file checked by `safetensors_problem` first)."""
    return list(tensor_shapes(path))


def check_shard_index(folder: Path, index: Path, what: str) -> None:
    """Every shard a `*.index.json` names lies inside `folder` (no absolute path, no `..`, no link out), exists
    and is a safetensors file: a loader follows the index, so a shard named elsewhere would be loaded from there."""
    try:
        data = json.loads(index.read_bytes()[: 64 * 2**20].decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelError(f"{what} {folder}: {index.name} is not readable JSON ({exc}).") from exc
    mapping = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(mapping, dict):
        raise ModelError(f"{what} {folder}: {index.name} has no weight_map.")
    for shard in sorted({str(v) for v in mapping.values()}):
        target = (folder / shard).resolve()
        if Path(shard).is_absolute() or ".." in Path(shard).parts or not target.is_relative_to(folder.resolve()):
            raise ModelError(f"{what} {folder}: {index.name} names the shard {shard!r}, outside the folder; the lab "
                             "loads only files inside the model's own folder.")
        if not target.is_file() or target.suffix != ".safetensors":
            raise ModelError(f"{what} {folder}: {index.name} names {shard!r}, which is not a safetensors file in "
                             "the folder.")


def check_weights(folder: str | Path, what: str, weights: str = "*.safetensors") -> Path:
    """`folder` confined to the allowed folders, if the loader can read nothing but safetensors from it: no pickle
    file anywhere in it, at least one `weights` file, every safetensors file valid by its header, and every link
    in it resolving inside the allowed folders. ModelError (or InputError for a path outside) otherwise."""
    folder = confine(folder, what)
    entries = sorted(folder.rglob("*"))
    for entry in entries:
        if entry.is_symlink():
            confine(entry, f"{what} {folder} links {entry.name} to a file that")
    pickles = [p.relative_to(folder).as_posix() for p in entries if p.suffix.lower() in PICKLE_SUFFIXES]
    chosen = sorted(folder.glob(weights))
    if pickles:
        only = "only " if not chosen else ""
        raise ModelError(f"{what} {folder} has {only}pickle weights ({', '.join(pickles[:3])}); {_PICKLE_ADVICE}")
    if not chosen:
        raise ModelError(f"{what} {folder} has no {weights} weights file.")
    for path in sorted(p for p in entries if p.suffix == ".safetensors"):
        problem = safetensors_problem(path)
        if problem:
            raise ModelError(f"{what} {folder}: {path.relative_to(folder)} is not a safetensors file ({problem}); "
                             "the lab checks weights by content, not name. Save the weights again with "
                             "safe_serialization=True.")
    for index in sorted(p for p in entries if p.name.endswith(".index.json")):
        check_shard_index(folder, index, what)
    return folder
