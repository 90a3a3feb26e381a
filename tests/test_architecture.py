"""The code's shape: lab/ never imports streamlit, and `import lab` stays light."""

import ast
import subprocess
import sys
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent / "lab"


def test_lab_never_imports_streamlit():
    offenders = []
    for path in LAB.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "streamlit"]
    assert offenders == []


def test_importing_lab_modules_does_not_load_heavy_libraries():
    modules = [p.stem for p in LAB.glob("*.py") if p.stem not in ("__main__",)]
    code = ("import sys\n" + "".join(f"import lab.{m}\n" for m in modules if m != "__init__") +
            "print(sorted(m for m in ('torch', 'transformers', 'chromadb', 'sentence_transformers', 'peft') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=LAB.parent).stdout.strip()
    assert out == "[]"
