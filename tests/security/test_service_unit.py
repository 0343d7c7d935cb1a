"""The shipped systemd unit: rated OK (exposure <= 2.0) by systemd's own analyzer, and set up
for readiness and the watchdog the daemon speaks (tests/security/test_sd_notify.py)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.support.cli import ROOT

UNIT = ROOT / "data" / "edgetui.service"


def _settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_exposure_is_ok() -> None:
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for edgetui\.service: (\d+\.\d+) (\w+)", proc.stdout)
    assert found, proc.stdout + proc.stderr
    assert float(found[1]) <= 2.0 and found[2] == "OK", found[0]


def test_notify_and_watchdog() -> None:
    s = _settings()
    assert s["Type"] == ["notify"] and s["NotifyAccess"] == ["main"]
    assert s["WatchdogSec"] and s["Restart"] == ["on-failure"]
    assert s["User"] == ["edgetui"] and s["NoNewPrivileges"] == ["yes"]
    assert s["ReadWritePaths"] == ["/var/lib/edgetui"]
    # PrivateUsers would remap the peer uids the control socket's roles are read from.
    assert "PrivateUsers" not in s
