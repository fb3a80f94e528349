"""The layers point one way: read from the source with `ast`, every import included
(those inside functions and under TYPE_CHECKING too)."""

from __future__ import annotations

import ast
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from tests.support import ROOT

PACKAGES = ("sheets", "service", "gateway", "telemetry")
# The subsystems of `service/` and which others each may import (telemetry, the bottom package,
# is open to all). Read top to bottom, the list is an order: nothing imports what comes after it.
ALLOWED: dict[str, set[str]] = {
    "contract": set(),
    "vocab": set(),
    "config": {"contract", "vocab"},
    "storage": {"contract", "vocab"},
    "filling": {"contract", "vocab", "storage"},
    "render": {"vocab", "config"},
    "sftp": {"contract"},
    "admin": {"vocab", "storage"},
    "events": {"contract", "config", "storage"},
    "api": {"contract", "vocab", "config", "storage", "filling", "render", "sftp", "events"},
    "rpc": {"contract", "api", "storage", "events"},
}
# Modules imported by path from outside their subsystem: the fonts (the command finds them) and
# the drawing code (the render workers and `sheets render` load it, lazily).
PUBLIC_MODULES = {"service.render.fonts", "service.render.draw"}
# What the generated code is: the contract module may import nothing else of ours.
GENERATED = ("opendental", "google")


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {
                f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}")
            }
            # `from package import submodule` runs the package's __init__ first, but does not need it.
            found |= submodules or {node.module}
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _subsystem(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "service" and len(parts) > 1 and parts[1] in ALLOWED else None


def _surface(subsystem: str) -> set[str]:
    """The names in a subsystem's `__all__`."""
    tree = ast.parse((ROOT / "service" / subsystem / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return {ast.literal_eval(e) for e in node.value.elts}  # type: ignore[attr-defined]
    return set()


def _within(subsystem: str) -> set[str]:
    return {m for m in _modules() if _subsystem(m) == subsystem}


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


def test_the_gateway_imports_only_the_contract_of_the_service_and_the_shape_of_a_date_culture() -> None:
    for module, path in _modules().items():
        if module.startswith("gateway"):
            used = {m for m in _imports(path) if m.split(".")[0] == "service"}
            assert used <= {"service.contract", "service.vocab", "service.vocab.DateCulture"} | {
                f"service.contract.{name}" for name in _surface("contract")
            }, module


def test_telemetry_imports_nothing_of_ours_but_generated_code() -> None:
    for module, path in _modules().items():
        if module.startswith("telemetry"):
            ours = {m.split(".")[0] for m in _imports(path)} & {"sheets", "service", "gateway"}
            assert ours == set(), module


def test_the_contract_imports_only_generated_code_and_the_stdlib() -> None:
    for module, path in _modules().items():
        if module.startswith("service.contract"):
            imported = {m.split(".")[0] for m in _imports(path)}
            theirs = imported - {*PACKAGES, "tests"}
            assert imported & {*PACKAGES, "tests"} <= {"service"}, module
            assert {_subsystem(m) for m in _imports(path) if m.startswith("service.")} <= {"contract"}, module
            assert theirs - set(sys.stdlib_module_names) <= set(GENERATED), module


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
        "from service.config.settings import Settings\n"
        "Settings()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('service.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded, ours = done.stdout.splitlines()

    assert loaded == "[]"
    assert {_subsystem(m) for m in ast.literal_eval(ours)} == {"contract", "config", "vocab"}


def test_service_is_made_of_the_subsystems_and_its_init_is_empty() -> None:
    assert (ROOT / "service" / "__init__.py").read_text() == ""
    assert {p.name for p in (ROOT / "service").iterdir() if p.suffix == ".py"} == {"__init__.py"}
    assert {p.name for p in (ROOT / "service").iterdir() if (p / "__init__.py").exists()} == set(ALLOWED)


def test_subsystems_import_only_the_subsystems_they_may() -> None:
    found: dict[str, set[str]] = {subsystem: set() for subsystem in ALLOWED}
    for module, path in _modules().items():
        if (mine := _subsystem(module)) is not None:
            for imported in _imports(path):
                theirs = _subsystem(imported)
                if theirs is not None and theirs != mine:
                    found[mine].add(theirs)
                    assert theirs in ALLOWED[mine], f"{module} imports {imported}"

    assert _cycle(found) is None
    assert _cycle(ALLOWED) is None


def test_outside_a_subsystem_only_its_surface_is_imported() -> None:
    for module, path in _modules().items():
        mine = _subsystem(module)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                theirs = _subsystem(name)
                if theirs is None or theirs == mine or name.startswith(tuple(PUBLIC_MODULES)):
                    continue
                assert name == f"service.{theirs}", f"{module} imports {name}: import service.{theirs}"
                if isinstance(node, ast.ImportFrom):
                    missing = {
                        a.name for a in node.names if f"{name}.{a.name}" not in PUBLIC_MODULES
                    } - _surface(theirs)
                    assert not missing, f"{module} imports {missing} that service.{theirs} does not export"


def test_every_surface_name_is_defined() -> None:
    import importlib

    for subsystem in ALLOWED:
        package = importlib.import_module(f"service.{subsystem}")
        assert _surface(subsystem), subsystem
        assert all(hasattr(package, name) for name in _surface(subsystem)), subsystem


def test_nothing_imports_the_conftest_and_tests_mirror_the_subsystems() -> None:
    for path in [
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "bench").rglob("*.py"),
        *(ROOT / "tools").rglob("*.py"),
    ]:
        assert not {m for m in _imports(path) if m.startswith("tests.conftest")}, path
    folders = {p.name for p in (ROOT / "tests").iterdir() if (p / "__init__.py").exists()}
    assert set(ALLOWED) | {"gateway", "telemetry", "sheets", "system", "support"} == folders
    assert sorted(p.name for p in (ROOT / "tests").glob("*.py")) == ["__init__.py", "conftest.py"]
