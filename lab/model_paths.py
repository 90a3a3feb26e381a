"""Where local model, adapter and cross-encoder folders may be loaded from.

A folder typed into the app or the CLI is resolved (`~` expanded, symlinks followed) and must lie inside an
allowed folder: the lab's models directory (`LAB_MODELS_DIR`), its data directory (`LAB_DATA_DIR`, which
holds `adapters/`), or one listed in `LAB_ALLOWED_MODEL_DIRS` (separated by `os.pathsep`, ':' on Linux and
macOS). So a shared demo cannot be pointed at arbitrary files on the server, and a symlink cannot lead out.
Hugging Face hub ids (not existing paths) are not folders and pass through unchanged.

    LAB_ALLOWED_MODEL_DIRS=/opt/models   confine("/opt/models/qwen/../qwen", "The model folder") -> /opt/models/qwen
                                         confine("/etc", "The model folder") -> InputError naming the variable
"""

from __future__ import annotations

import os
from pathlib import Path

from lab.config import data_dir, models_dir
from lab.errors import InputError

ENV = "LAB_ALLOWED_MODEL_DIRS"


def allowed_dirs() -> list[Path]:
    extra = [Path(p).expanduser().resolve() for p in os.environ.get(ENV, "").split(os.pathsep) if p.strip()]
    return [models_dir(), data_dir(), *extra]


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
