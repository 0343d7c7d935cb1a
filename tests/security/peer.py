"""A control-socket client running as another user (the tests run as root): a real peer
whose uid and gid the daemon reads with SO_PEERCRED."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

NOBODY = 65534
# The system Python with the standard library only: `nobody` cannot read the venv.
_CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rwb")
out = []
for i, line in enumerate(sys.stdin.read().splitlines(), 1):
    method, params = line.split(" ", 1)
    req = {"jsonrpc": "2.0", "id": i, "method": method, "params": json.loads(params)}
    f.write((json.dumps(req) + "\n").encode())
    f.flush()
    out.append(json.loads(f.readline()))
print(json.dumps(out))
"""


def need_root() -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to connect as another user")


def open_to_all(state_dir: Path, sock: Path) -> None:
    """Let another user reach the socket (the unit's group does this in production)."""
    for p in (state_dir.parent, state_dir):
        os.chmod(p, 0o755)
    os.chmod(sock, 0o666)


def call_as_user(
    sock: Path, calls: list[tuple[str, dict[str, Any]]], uid: int = NOBODY, gid: int = NOBODY
) -> list[dict[str, Any]]:
    """JSON-RPC replies to `calls`, made over one connection by a process running as uid."""
    stdin = "\n".join(f"{m} {json.dumps(p)}" for m, p in calls)
    proc = subprocess.run(
        ["/usr/bin/python3", "-c", _CLIENT, str(sock)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        user=uid,
        group=gid,
        extra_groups=[],
        cwd="/",
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
