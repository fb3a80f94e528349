"""A small filesystem a test mounts itself (tmpfs), grows or shrinks, and unmounts.

Mounting needs root (or CAP_SYS_ADMIN); where the machine does not allow it the
test skips saying so, or fails where `SHEETS_TEST_REQUIRE_SERVICES` makes every
outside piece mandatory (`tests.support.requires`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.support.requires import unavailable


class SmallFilesystem:
    """A tmpfs mounted at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def resize(self, size: int) -> None:
        """Make the filesystem `size` bytes (never below what it holds: tmpfs refuses that)."""
        _mount("-o", f"remount,size={size}", str(self.path))

    @property
    def used(self) -> int:
        stat = os.statvfs(self.path)
        return (stat.f_blocks - stat.f_bfree) * stat.f_frsize

    @property
    def free(self) -> int:
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def small_filesystem(
    path: Path, size: int, *, owner: tuple[int, int] | None = None
) -> Iterator[SmallFilesystem]:
    """A tmpfs of `size` bytes at `path` (made if missing, owned by `owner`: uid, gid), then unmounted."""
    if os.geteuid() != 0:
        unavailable("mounting a small filesystem (tmpfs) needs root")
    if shutil.which("mount") is None or shutil.which("umount") is None:
        unavailable("mount/umount are not installed")
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755"
    if owner is not None:
        options += f",uid={owner[0]},gid={owner[1]},mode=0700"
    try:
        _mount("-t", "tmpfs", "-o", options, "tmpfs", str(path))
    except subprocess.CalledProcessError as exc:
        said = exc.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {exc.returncode}"]
        unavailable(f"cannot mount a tmpfs here: {said[0]}")
    try:
        yield SmallFilesystem(path)
    finally:
        done = subprocess.run(["umount", str(path)], capture_output=True, timeout=30, check=False)
        if done.returncode != 0:  # still busy (a server that has not let go): detach it
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)
