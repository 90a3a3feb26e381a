"""Command-line options built from the config dataclasses, so the command line, the pages and the defaults
cannot drift: one option per field, its help text from the field's metadata, its default from the field.

    parser = argparse.ArgumentParser()
    add_options(parser, ChunkConfig, {"size": "--chunk-size"})
    ChunkConfig(**picked(ChunkConfig, parser.parse_args(["--chunk-size", "512"])))  # ChunkConfig(size=512, ...)

Field types map to options: int/float/str take a value, `tuple[str, ...]` a comma-separated list, a bool that
defaults to False is a flag (`--merge`), one that defaults to True a negative flag (`--no-evaluate`).
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, Field, fields


def _default(f: Field):
    return f.default_factory() if f.default is MISSING else f.default


def _comma_tuple(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def add_options(parser: argparse.ArgumentParser, cls, flags: dict[str, str] | None = None,
                only: tuple[str, ...] | None = None, defaults: dict | None = None) -> None:
    """One option per field of the dataclass `cls` (all of them, or those in `only`); `flags` renames an
    option (`{"size": "--chunk-size"}`), `defaults` overrides a default for this command alone."""
    flags, defaults = flags or {}, defaults or {}
    for f in fields(cls):
        if only is not None and f.name not in only:
            continue
        default = defaults.get(f.name, _default(f))
        text = f.metadata.get("help", "")
        kind = str(f.type)
        if kind == "bool":
            flag = flags.get(f.name, f"--{'no-' if default else ''}{f.name.replace('_', '-')}")
            parser.add_argument(flag, dest=f.name, action="store_false" if default else "store_true",
                                help=f"Do not: {text[:1].lower()}{text[1:]}" if default else text)
        elif kind.startswith("tuple"):
            parser.add_argument(flags.get(f.name, f"--{f.name.replace('_', '-')}"), dest=f.name, type=_comma_tuple,
                                default=default, help=f"{text} Comma-separated (default: {','.join(default)}).")
        else:
            convert = {"int": int, "float": float}.get(kind.split(" |")[0], str)
            parser.add_argument(flags.get(f.name, f"--{f.name.replace('_', '-')}"), dest=f.name, type=convert,
                                default=default, help=f"{text} (default: {default})")


def picked(cls, args: argparse.Namespace) -> dict:
    """The values of `cls`'s fields found in `args`, ready for `cls(**picked(cls, args))`."""
    return {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
