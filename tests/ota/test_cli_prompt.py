"""`edgetui ota apply` asks before installing when stdin is a terminal: a real pseudo-terminal
(pty) is the child's stdin, the test answers the question through the pty's master side."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.support.cli import ROOT, env, run_cli
from tests.support.ota import OtaDevice

pytestmark = pytest.mark.timeout(120)

QUESTION = "Install 1.1.0 (installed: 1.0.0) and restart into it? [y/N] "


def apply_on_a_tty(dev: OtaDevice, answer: str) -> tuple[int, str, str]:
    """Run `ota apply` with a pty as stdin, answer its question; (exit code, stdout, stderr).

    Fails if the question does not appear: the answer is typed only once it is asked."""
    master, slave = pty.openpty()
    err_path = dev.root / "prompt-stderr.log"  # a file: an unread pipe could block the child
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edgetui",
                "--config",
                str(dev.write_config()),
                "--state-dir",
                str(dev.state_dir),
                "ota",
                "apply",
            ],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env(),
            cwd=ROOT,
        )
    os.close(slave)
    try:
        out = _read_until(proc, QUESTION.encode(), timeout=60)
        os.write(master, answer.encode() + b"\n")
        rest, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, (out + rest).decode(), err_path.read_text(errors="replace")


def _read_until(proc: subprocess.Popen[bytes], marker: bytes, timeout: float) -> bytes:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    got = b""
    deadline = time.monotonic() + timeout
    while marker not in got:
        left = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(0.0, min(left, 0.5)))[0]
        chunk = os.read(fd, 4096) if ready else b""
        if (ready and not chunk) or left <= 0:  # EOF (the child exited) or out of time
            raise AssertionError(f"no question on stdout; got {got!r}")
        got += chunk
    return got


def status(dev: OtaDevice) -> dict:
    proc = run_cli(
        "--config", str(dev.write_config()), "--state-dir", str(dev.state_dir), "ota", "status",
        "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_answer_yes_applies(ota_device: OtaDevice) -> None:
    code, out, err = apply_on_a_tty(ota_device, "y")
    assert code == 0, err
    assert out.startswith(QUESTION)
    assert "result: done: 1.1.0 committed: slot b is good" in out
    st = status(ota_device)
    assert st["booted"] == "b" and st["slots"]["b"]["status"] == "good"
    assert st["slots"]["b"]["version"] == "1.1.0"


@pytest.mark.parametrize("answer", ["n", ""], ids=["no", "empty"])
def test_answer_no_or_nothing_cancels(ota_device: OtaDevice, answer: str) -> None:
    code, out, err = apply_on_a_tty(ota_device, answer)
    assert code == 1  # CommandError("cancelled", EXIT_ERROR)
    assert out == QUESTION  # asked, then nothing else on stdout
    assert "cancelled" in err
    st = status(ota_device)
    assert st["booted"] == "a" and st["slots"]["a"]["version"] == "1.0.0"
    assert st["slots"]["b"]["status"] == "empty" and st["slots"]["b"]["version"] is None
    history = json.loads(
        run_cli(
            "--config", str(ota_device.write_config()), "--state-dir", str(ota_device.state_dir),
            "ota", "history", "--json",
        ).stdout
    )  # fmt: skip
    assert [h["action"] for h in history] == ["update"]  # only the factory install
