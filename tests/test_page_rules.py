"""Pages only draw: each page file is short, and pages/ imports only what the architecture allows (streamlit, the
standard library, lab/ and its own helpers), never a model, store or numeric library directly, and never a
private name of lab/. app.py is the frame and follows the same rules."""

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted((REPO / "pages").glob("*.py"))
UI = sorted((REPO / "pages").rglob("*.py"))
ALLOWED = {"streamlit", "lab", "pages", "__future__"}
# the served app (pages/ui/server.py) mounts Streamlit's ASGI app behind the gate: the one place a web framework
# is named
SERVER_ONLY = {"starlette", "uvicorn"}


def imported(path: Path) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {(a.name, "") for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {(node.module, a.name) for a in node.names}
    return found


@pytest.mark.parametrize("path", PAGES + [REPO / "app.py"], ids=lambda p: p.name)
def test_a_page_is_short(path):
    assert len(path.read_text().splitlines()) <= 150, f"{path.name}: move logic to lab/ or a section"


@pytest.mark.parametrize("path", UI + [REPO / "app.py"], ids=lambda p: str(p.relative_to(REPO)))
def test_pages_import_only_what_the_architecture_allows(path):
    stdlib = set(sys.stdlib_module_names)
    bad = []
    for module, name in imported(path):
        top = module.split(".")[0]
        if top in SERVER_ONLY and path.name == "server.py":
            continue
        if top not in ALLOWED | stdlib:
            bad.append(module)
        if top == "lab" and (name.startswith("_") or any(part.startswith("_") for part in module.split("."))):
            bad.append(f"{module}.{name} (private)")
        if top == "pages" and module.split(".")[1:2] not in (["ui"], ["sections"]):
            bad.append(f"{module} (a page imports helpers, never another page)")
    assert bad == [], f"{path.relative_to(REPO)}: {bad}"
