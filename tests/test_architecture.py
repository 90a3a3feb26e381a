"""The code's shape: lab/ is layered, has no import cycles, never imports streamlit, and `import lab` stays light.

The layers, lowest first (a module may import from its own layer's package and from any layer below):

    base         lab/errors, config, model_paths, jobs, display, auth (small top-level modules)
    corpus       parsing, untrusted checks, the parse worker, uploads, chunking
    index        embeddings, the Chroma store, ingest, BM25, fusion, rerank, retrievers
    generation   prompts, local models, continuous batching, the endpoint, adapters
    evaluation   golden sets, the answer record, metrics, statistics, summaries, costs, injection, retrieval evaluation
    finetune     config, data, the training loop, evaluation, the training job
    experiments  answer paths and their roles, scoring, batch runs, the run store, export, leakage, blind, update demo
    decision     the guide, Decide, cost of ownership, charts, the brief
    bench        the benchmark
    top          lab/session (settings -> context, used by pages and command line), lab/cli/ (a module a
                 command group), lab/__main__
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parent.parent / "lab"
LAYERS = ["base", "corpus", "index", "generation", "evaluation", "finetune", "experiments", "decision", "bench", "top"]
TOP = {"session", "cli", "__main__"}


def modules() -> dict[str, Path]:
    """Every module under lab/ by dotted name (`lab.index.store`), found recursively."""
    found = {}
    for path in LAB.rglob("*.py"):
        parts = path.relative_to(LAB.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:  # lab itself
        return "base"
    if parts[1] in TOP:
        return "top"
    if (LAB / parts[1]).is_dir():
        assert parts[1] in LAYERS, f"lab/{parts[1]}/ is a package the layer list does not know: add it above"
        return parts[1]
    return "base"


def imports(path: Path, module: str) -> set[str]:
    """lab modules imported anywhere in the file (function-level imports count too)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # `from lab.index import store` names a module
    known = modules()
    return {name for name in found if name in known and name != module}


GRAPH = {name: imports(path, name) for name, path in modules().items()}


def test_every_module_is_in_a_known_layer():
    assert {layer(m) for m in GRAPH} <= set(LAYERS)
    assert len(GRAPH) > 50  # rglob finds the subpackages (a bare glob of lab/ would find ten)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_only_from_its_layer_or_below(module):
    mine = LAYERS.index(layer(module))
    upward = sorted(dep for dep in GRAPH[module]
                    if LAYERS.index(layer(dep)) > mine and dep != "lab")
    assert upward == [], f"{module} ({layer(module)}) imports from a higher layer: {upward}"


def test_no_import_cycles():
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(GRAPH[node]):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(GRAPH):
        if node not in state:
            visit(node, [node])
    # a package's __init__ importing nothing is not a cycle; a module importing its own package's __init__ is
    assert [c for c in cycles if len(c) > 2 or c[0] != c[-1]] == []


def test_lab_never_imports_streamlit():
    offenders = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{name}: {n}" for n in names if n.split(".")[0] == "streamlit"]
    assert offenders == []


def test_importing_lab_modules_does_not_load_heavy_libraries():
    names = [m for m in modules() if not m.endswith("__main__")]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in names) +
            "print(sorted(m for m in ('torch', 'transformers', 'chromadb', 'sentence_transformers', 'peft') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=LAB.parent).stdout.strip()
    assert out == "[]"
