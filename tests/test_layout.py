"""The house rules that code review keeps asking for, checked: data flows one way (no import
circle between our modules, counting imports inside functions), only the UI imports Gradio, and
the rooms stay small (a module at most 500 lines, a function at most 80)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "frameprophet"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """Every frameprophet module `path` imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != "frameprophet":        # the package root only re-exports lazily
                found.add(name)
    return found


def test_our_modules_import_each_other_without_a_circle():
    found = modules()
    graph = {name: imports(path, set(found)) - {name} for name, path in found.items()}
    # submodules of a package may use their package's siblings; the package re-exports them
    graph = {name: {d for d in deps if not name.startswith(d + ".")}
             for name, deps in graph.items()}
    state: dict[str, str] = {}

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                cycle = stack[stack.index(dep):] + [dep]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*stack, dep])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert "frameprophet.hub" not in graph["frameprophet.saving"]
    assert "frameprophet.predict" not in graph["frameprophet.hub"]


def test_modules_and_functions_stay_small():
    too_big = []
    for name, path in modules().items():
        source = path.read_text()
        if len(source.splitlines()) > 500:
            too_big.append(f"{name}: {len(source.splitlines())} lines")
        too_big += [f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
                    for node in ast.walk(ast.parse(source))
                    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    and node.end_lineno - node.lineno + 1 > 80]
    assert not too_big, "split these (500 lines a module, 80 a function): " + "; ".join(too_big)


def test_only_the_gradio_layer_imports_gradio():
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        uses = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in (node.names if isinstance(node, ast.Import)
                              else [ast.alias(node.module or "")])}
        if name != "frameprophet.ui" and not name.startswith("frameprophet.ui."):  # Gradio's
            assert "gradio" not in uses, f"{name} imports gradio"


def test_the_page_loads_without_keras():
    """The app's server starts before TensorFlow is imported (the page within seconds of
    launch), so building the page must not import Keras (models load on first use) nor
    matplotlib (the first plot imports it)."""
    import subprocess
    import sys

    code = ("import sys, frameprophet.ui as ui; ui.build_demo(); "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', 'matplotlib') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PACKAGE.parent, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
