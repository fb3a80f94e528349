"""The lock: every dependency at one exact version, with its hashes, for every Python the project claims.

    python tools/lock.py --uv .uv/bin/uv     # `make lock`: re-lock to the newest releases the ranges allow
    python tools/lock.py --check             # `make check-lock`: does the lock still match pyproject.toml?

Writes, from pyproject.toml's ranges (runtime, every extra):
- requirements/lock.txt: the whole lock, one universal resolution (markers where Pythons or platforms differ),
  `name==version --hash=...` lines with no index address, so installs go through the machine's own index;
- requirements/build.txt: the locked setuptools and wheel, installed first, which build this project and
  the one dependency published only as a source archive;
- requirements/uv.txt: uv itself, pinned with its hashes (pip installs it before anything else).

The lock's header records the ranges it was made from; `--check` compares them with pyproject.toml (standard
library only, offline, well under a second) and names `make lock` when they differ.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
REQUIREMENTS = ROOT / "requirements"
LOCK = REQUIREMENTS / "lock.txt"
BUILD = REQUIREMENTS / "build.txt"
UV_PIN = REQUIREMENTS / "uv.txt"
BUILD_TOOLS = ("setuptools", "wheel")
INPUTS_MARK = "# Locked from pyproject.toml:"
OLDEST_PYTHON = "3.11"


def inputs(pyproject: Path = PYPROJECT) -> list[str]:
    """What the lock answers for: requires-python, the dependencies and each extra's, as written."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = [f"requires-python {project['requires-python']}"]
    lines += sorted(project.get("dependencies", []))
    for extra, requirements in sorted(project.get("optional-dependencies", {}).items()):
        lines += [f"[{extra}] {requirement}" for requirement in sorted(requirements)]
    return lines


def recorded_inputs(lock: Path = LOCK) -> list[str] | None:
    if not lock.exists():
        return None
    text = lock.read_text()
    if INPUTS_MARK not in text:
        return None
    block = text.split(INPUTS_MARK, 1)[1]
    recorded = []
    for line in block.splitlines()[1:]:
        if not line.startswith("#   "):
            break
        recorded.append(line[4:])
    return recorded


def check() -> int:
    wanted, recorded = inputs(), recorded_inputs()
    if recorded == wanted:
        return 0
    if recorded is None:
        print(
            f"{LOCK.relative_to(ROOT)} is missing or has no record of what it was locked from.",
            file=sys.stderr,
        )
    else:
        for line in sorted(set(wanted) - set(recorded)):
            print(f"pyproject.toml asks for   {line}", file=sys.stderr)
        for line in sorted(set(recorded) - set(wanted)):
            print(f"the lock was made for     {line}", file=sys.stderr)
    print(
        "pyproject.toml and requirements/lock.txt disagree: run 'make lock' (it re-locks and regenerates "
        "gen/), then commit requirements/ and gen/ with pyproject.toml.",
        file=sys.stderr,
    )
    return 1


def _stanza(lock_text: str, name: str) -> str:
    """`name==version ... --hash=...` as the lock has it, continuation lines included."""
    found = re.search(rf"^{re.escape(name)}==.*?(?=^\S|\Z)", lock_text, flags=re.MULTILINE | re.DOTALL)
    if not found:
        raise SystemExit(f"{name} is not in the lock: it must stay a dev dependency")
    return "\n".join(line for line in found.group(0).splitlines() if not line.lstrip().startswith("#")) + "\n"


def relock(uv: str, *, upgrade: bool) -> None:
    compile_ = [uv, "pip", "compile", "--quiet", "--universal", "--generate-hashes"]
    compile_ += ["--python-version", OLDEST_PYTHON, "--custom-compile-command", "make lock"]
    compile_ += ["--upgrade"] if upgrade else []
    REQUIREMENTS.mkdir(exist_ok=True)
    # The only program run is the uv given on the command line, with arguments built here.
    subprocess.run([*compile_, "--all-extras", str(PYPROJECT), "-o", str(LOCK)], check=True, cwd=ROOT)  # noqa: S603
    text = LOCK.read_text()
    header = "\n".join([INPUTS_MARK, *(f"#   {line}" for line in inputs())]) + "\n"
    first_package = re.search(r"^\S", text, flags=re.MULTILINE)
    at = first_package.start() if first_package else len(text)
    LOCK.write_text(text[:at] + header + text[at:])
    BUILD.write_text(
        "# The build tools from requirements/lock.txt (written by `make lock`): installed before the rest.\n"
        + "".join(_stanza(text, name) for name in BUILD_TOOLS)
    )
    uv_pin = [*compile_, "--no-header", "-", "-o", str(UV_PIN)]
    subprocess.run(uv_pin, input="uv\n", text=True, check=True, cwd=ROOT)  # noqa: S603


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check the lock against pyproject.toml")
    parser.add_argument("--uv", default="uv", help="the uv to lock with")
    parser.add_argument(
        "--keep", action="store_true", help="keep locked versions that still fit (no upgrade)"
    )
    args = parser.parse_args()
    if args.check:
        return check()
    relock(args.uv, upgrade=not args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
