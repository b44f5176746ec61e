"""The house's arrows point one way: no import cycle between files, apps import only the
floors below them, and services never import tasks (HOUSE_STYLE.md, "Our layout").

Every import counts, function-local ones included, and so do `apps.get_model("app", …)`
and `import_module("…")` with a literal name: a hidden arrow is still an arrow.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# From the ground up; an app may import only the apps before it. `smarketing` is the roof.
FLOORS = (
    "core",
    "accounts",
    "personas",
    "leads",
    "sla",
    "goals",
    "reporting",
    "webhooks",
    "smarketing",
)
SKIPPED = {"tests", "bench", "scripts", "node_modules", "staticfiles", "var", "docs"}


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if parts[0] in SKIPPED or parts[0].startswith(".") or "migrations" in parts:
            continue
        if parts[0] not in FLOORS:
            continue
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, whatever the form of the import."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from pkg import module` imports the module; `from mod import name`, mod.
                candidate = f"{base}.{alias.name}"
                targets.append(candidate if candidate in modules else base)
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            literal = [
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ]
            if called == "get_model" and literal:
                targets.append(literal[0].split(".")[0])
            elif called == "import_module" and literal:
                targets.append(literal[0])
    found = set()
    for target in targets:
        resolved = _resolve(target, modules)
        if resolved and resolved != name:
            found.add(resolved)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def app_of(module: str) -> str:
    return module.split(".")[0]


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    floor = {app: level for level, app in enumerate(FLOORS)}
    wrong = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            a, b = app_of(source), app_of(target)
            if a != b and floor[b] > floor[a]:
                wrong.append(f"{source} -> {target}")
    return wrong


def services_importing_tasks(graph: dict[str, set[str]]) -> list[str]:
    def is_service(module: str) -> bool:
        return ".services" in module or module.endswith(".imports")

    def is_task(module: str) -> bool:
        return module.endswith(".tasks") or module.endswith("_tasks")

    return sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if is_service(source)
        for target in targets
        if is_task(target)
    )


def test_no_two_files_import_each_other_even_through_others():
    assert cycles(import_graph()) == []


def test_every_app_imports_only_the_floors_below_it():
    assert upward_arrows(import_graph()) == []


def test_services_never_import_tasks():
    assert services_importing_tasks(import_graph()) == []


def test_the_ground_floor_imports_no_app():
    graph = import_graph()
    assert {
        app_of(t) for source, targets in graph.items() if app_of(source) == "core" for t in targets
    } <= {"core"}


def test_every_project_app_has_a_floor():
    from django.conf import settings

    ours = {app for app in settings.INSTALLED_APPS if (ROOT / app).is_dir()}
    assert ours == set(FLOORS)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from b import c\n", {"b.c"}),
        ("from b import thing\n", {"b"}),
        ("def f():\n    import b.c\n", {"b.c"}),
        ("apps.get_model('b', 'Model')\n", {"b"}),
        ("import_module('b.c')\n", {"b.c"}),
        ("from . import c\n", {"a.c"}),
        ("from .c import thing\n", {"a.c"}),
    ],
)
def test_the_check_sees_every_form_of_import(tmp_path, source, expected):
    """The checker itself: each way of importing is an edge (so the tests above can fail)."""
    modules = {
        "a": tmp_path / "a" / "__init__.py",
        "a.x": tmp_path / "a" / "x.py",
        "a.c": tmp_path / "a" / "c.py",
        "b": tmp_path / "b.py",
        "b.c": tmp_path / "bc.py",
    }
    (tmp_path / "a").mkdir()
    modules["a.x"].write_text(source)
    assert imports_of("a.x", modules["a.x"], modules) == expected


def test_a_cycle_and_an_upward_arrow_are_found():
    graph = {"leads.x": {"sla.y"}, "sla.y": {"leads.x"}}
    assert cycles(graph) == [["leads.x", "sla.y"]]
    assert upward_arrows(graph) == ["leads.x -> sla.y"]
