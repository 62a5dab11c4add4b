"""The house rules a reader relies on: no module imports one that imports it back, the layers import downwards
only, and importing the core changes nothing in the process."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("stylegan_core", "editing", "training", "studio")
# Which top-level packages each may import (data flows down: DESIGN.md's layer diagram).
ALLOWED = {
    "stylegan_core": {"stylegan_core"},
    "editing": {"stylegan_core", "editing"},
    "training": {"stylegan_core", "editing", "training"},  # the dataset tool aligns faces with editing.align
    "studio": {"stylegan_core", "editing", "training", "studio"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {_module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    found["app"] = REPO / "app.py"
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every project module `name` imports, at the top or inside a function (a hidden cycle is still a cycle)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `from pkg import name`: the name may be a module or not
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_one_that_imports_it_back():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_layers_import_downwards_only():
    wrong = [
        f"{name} imports {target}"
        for name, targets in _graph().items()
        if name != "app"
        for target in targets
        if target.split(".")[0] not in ALLOWED[name.split(".")[0]]
    ]
    assert not wrong, wrong


def test_only_the_app_and_its_adapters_import_gradio():
    users = sorted(
        name
        for name, path in _modules().items()
        if any(
            isinstance(n, ast.Import | ast.ImportFrom)
            and any((a.name if isinstance(n, ast.Import) else n.module or "").startswith("gradio") for a in n.names)
            for n in ast.walk(ast.parse(path.read_text()))
        )
    )
    assert all(u == "app" or u.startswith("studio.web") for u in users), users


def test_importing_the_core_has_no_side_effects():
    """`import stylegan_core` leaves the C allocator alone: tuning it is the entry points' choice."""
    probe = (
        "import stylegan_core, stylegan_core.runtime as r, editing, training; "
        "import studio.workflows; print(r.allocator_tuned())"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


def test_the_page_is_assembled_from_small_tab_modules():
    """app.py assembles the tabs (no function of it over 60 lines); each tab is a module of studio/web; no file of
    studio/ is over 400 lines."""
    tree = ast.parse((REPO / "app.py").read_text())
    long = [f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.end_lineno - f.lineno + 1 > 60]
    assert not long, long
    tabs = {p.stem for p in (REPO / "studio" / "web").glob("*_tab.py")}
    assert tabs >= {"generate_tab", "project_tab", "edit_tab", "drag_tab", "mix_tab", "morph_tab"}
    big = [str(p) for p in (REPO / "studio").rglob("*.py") if len(p.read_text().splitlines()) > 400]
    assert not big, big
