"""The layers point one way: read from the source with `ast`, every import included
(those inside functions and under TYPE_CHECKING too)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sheets", "service", "gateway", "telemetry")
# What the generated code is: the contract module may import nothing else of ours.
GENERATED = ("opendental", "google")


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        return list(error.args[1])
    return None


def test_the_module_import_graph_has_no_cycle() -> None:
    graph = _graph()

    assert len(graph) > 20
    assert _cycle(graph) is None


def test_the_package_import_graph_has_no_cycle() -> None:
    packages: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for module, imported in _graph().items():
        packages[module.split(".")[0]] |= {m.split(".")[0] for m in imported} - {module.split(".")[0]}

    assert _cycle(packages) is None
    assert packages == {
        "sheets": {"service", "gateway", "telemetry"},
        "gateway": {"service", "telemetry"},
        "service": {"telemetry"},
        "telemetry": set(),
    }


def test_service_never_imports_gateway_or_the_command() -> None:
    for module, path in _modules().items():
        if module.startswith("service"):
            assert not {m for m in _imports(path) if m.split(".")[0] in ("gateway", "sheets")}, module


def test_the_gateway_imports_only_the_contract_and_the_error_tree_of_the_service() -> None:
    allowed = ("service.contract", "service.errors")
    for module, path in _modules().items():
        if module.startswith("gateway"):
            used = {m for m in _imports(path) if m.split(".")[0] == "service"}
            assert all(m in allowed or m.startswith(tuple(f"{a}." for a in allowed)) for m in used), module


def test_telemetry_imports_nothing_of_ours_but_generated_code() -> None:
    for module, path in _modules().items():
        if module.startswith("telemetry"):
            ours = {m.split(".")[0] for m in _imports(path)} & {"sheets", "service", "gateway"}
            assert ours == set(), module


def test_the_contract_imports_only_generated_code() -> None:
    imported = _imports(_modules()["service.contract"])

    ours = {m for m in imported if m.split(".")[0] in (*PACKAGES, "tests")}
    assert ours == set()
    assert {m.split(".")[0] for m in imported} - {"__future__", "dataclasses", "functools"} <= set(GENERATED)


def test_a_cycle_is_found_where_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None


def test_the_remote_gateway_loads_no_orm_renderer_or_sftp() -> None:
    import subprocess
    import sys

    heavy = (
        "sqlalchemy",
        "sqlmodel",
        "aiosqlite",
        "asyncmy",
        "asyncpg",
        "asyncssh",
        "reportlab",
        "xhtml2pdf",
        "PIL",
    )
    probe = (
        "import sys, sheets.remote\n"
        "from service.settings import Settings\n"
        "Settings()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('service.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded, ours = done.stdout.splitlines()

    assert loaded == "[]"
    assert set(ast.literal_eval(ours)) <= {
        "service.auth",
        "service.contract",
        "service.culture",
        "service.errors",
        "service.settings",
        "service.tls",
    }
