"""nginx from the distribution in front of replicas, with deploy/'s config rendered
for the test's ports, as a non-daemon child with its own pid, log and temp paths."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT
from tests.support.requires import unavailable
from tests.support.sftp_servers import free_port

TEMPLATE = ROOT / "deploy" / "nginx" / "sheets.conf.in"


@dataclass(frozen=True)
class Balancer:
    grpc_target: str
    rest_url: str
    error_log: Path


def _nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        reason = "nginx is not installed: no load balancer to put in front of the replicas"
        unavailable(reason)
    return found


def render_config(grpc_listen: str, rest_listen: str, grpc: Sequence[str], rest: Sequence[str]) -> str:
    """deploy/'s template with these listeners and upstream servers."""

    def servers(addresses: Sequence[str]) -> str:
        return " ".join(f"server {a} max_fails=1 fail_timeout=5s;" for a in addresses)

    text = TEMPLATE.read_text()
    for marker, value in {
        "@GRPC_LISTEN@": grpc_listen,
        "@REST_LISTEN@": rest_listen,
        "@GRPC_SERVERS@": servers(grpc),
        "@REST_SERVERS@": servers(rest),
    }.items():
        assert marker in text, marker
        text = text.replace(marker, value)
    return text


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {log.read_text(errors='replace')[-1000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nginx did not listen within 10 s")


@contextmanager
def nginx_balancer(root: Path, grpc: Sequence[str], rest: Sequence[str]) -> Iterator[Balancer]:
    """nginx on two free loopback ports, balancing over the given upstreams."""
    binary = _nginx()
    root.mkdir(parents=True, exist_ok=True)
    grpc_port, rest_port = free_port(), free_port()
    (root / "sheets.conf").write_text(
        render_config(f"127.0.0.1:{grpc_port}", f"127.0.0.1:{rest_port}", grpc, rest)
    )
    error_log = root / "error.log"
    temp = {name: root / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
        # Workers run as nobody when the master is root.
        path.chmod(0o777)
    (root / "nginx.conf").write_text(
        f"""
daemon off;
worker_processes 1;
pid {root / "nginx.pid"};
error_log {error_log} warn;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {root / "sheets.conf"};
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(error_log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(grpc_port, process, error_log)
        _wait_listening(rest_port, process, error_log)
        yield Balancer(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{rest_port}", error_log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
