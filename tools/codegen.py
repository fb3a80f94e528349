"""Generate the Python, gRPC and typing modules from protos/ (one command).

    python tools/codegen.py            # writes gen/
    python tools/codegen.py --check    # fails when gen/ differs from protos/

Also lays out the Google protos we import (from the googleapis-common-protos and
grpcio-tools packages, never from the network) under build/protodeps for buf.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.resources
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
GEN = ROOT / "gen"
PROTODEPS = ROOT / "build" / "protodeps"
GOOGLE_DEPS = (
    "google/api/annotations.proto",
    "google/api/http.proto",
    "google/api/httpbody.proto",
    "google/type/datetime.proto",
)


def _googleapis_root() -> Path:
    import google.api  # googleapis-common-protos ships the .proto files beside the modules

    return Path(next(iter(google.api.__path__))).parent.parent


def _protobuf_include() -> Path:
    return Path(str(importlib.resources.files("grpc_tools") / "_proto"))


def generate(out: Path) -> None:
    _bin = Path(sys.executable).parent
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{_googleapis_root()}",
        f"-I{_protobuf_include()}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--plugin=protoc-gen-mypy={_bin / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={_bin / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *sources,
    ]
    out.mkdir(parents=True, exist_ok=True)
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for pkg in {p.parent for p in out.rglob("*.py")} | {out / "opendental", out / "opendental" / "sheets"}:
        (pkg / "__init__.py").touch()
        (pkg / "py.typed").touch()


def copy_protodeps() -> None:
    root = _googleapis_root()
    for rel in GOOGLE_DEPS:
        target = PROTODEPS / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, target)


def _differences(a: Path, b: Path) -> list[str]:
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    diff = sorted(str(p) for p in files_a ^ files_b)
    diff += sorted(str(p) for p in files_a & files_b if not filecmp.cmp(a / p, b / p, shallow=False))
    return diff


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when gen/ is stale")
    args = parser.parse_args()
    copy_protodeps()
    if not args.check:
        shutil.rmtree(GEN, ignore_errors=True)
        generate(GEN)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        stale = _differences(Path(tmp), GEN)
    if stale:
        print("gen/ is stale; run `make gen`. Differs:", *stale, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
