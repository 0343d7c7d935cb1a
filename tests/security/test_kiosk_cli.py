"""`edgetui kiosk set-pin|status` for real: standalone, and attached to a daemon that
then checks the new PIN at once."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from edgetui.control import RuntimeClient, socket_path
from tests.support.cli import daemon_log, run_cli, start_daemon

CONFIG = '[ui]\nkiosk_pin = "1111"\n[agents]\nenabled = []\n[telemetry]\ninterval_s = 0.5\n'


def _paths(tmp_path: Path) -> tuple[Path, Path]:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    return cfg, tmp_path / "state"


def test_set_pin_standalone(tmp_path: Path) -> None:
    cfg, state = _paths(tmp_path)
    base = ("--config", str(cfg), "--state-dir", str(state), "kiosk")
    before = run_cli(*base, "status", "--json")
    assert before.returncode == 0, before.stderr
    kiosk = json.loads(before.stdout)["kiosk"]
    assert kiosk["pin"] == "plain" and "edgetui kiosk set-pin" in kiosk["warning"]
    assert "kiosk" not in before.stderr  # a standalone command does not nag on stderr

    proc = run_cli(*base, "set-pin", "--pin-stdin", input="86420\n")
    assert proc.returncode == 0, proc.stderr
    assert "scrypt hash in" in proc.stdout
    assert "delete the plain-text [ui] kiosk_pin" in proc.stdout
    stored = (state / "kiosk-pin").read_text()
    assert stored.startswith("$scrypt$") and "86420" not in stored

    after = run_cli(*base, "status")
    assert after.returncode == 0 and "scrypt hash" in after.stdout


def test_bad_pins_are_usage_errors(tmp_path: Path) -> None:
    cfg, state = _paths(tmp_path)
    base = ("--config", str(cfg), "--state-dir", str(state), "kiosk", "set-pin")
    short = run_cli(*base, "--pin-stdin", input="12\n")
    assert short.returncode == 2 and "4 to 16 digits" in short.stderr
    assert short.stderr.count("\n") == 1
    no_tty = run_cli(*base, input="")
    assert no_tty.returncode == 2 and "--pin-stdin" in no_tty.stderr
    assert not (state / "kiosk-pin").exists()


async def test_set_pin_through_the_daemon(tmp_path: Path) -> None:
    cfg, state = _paths(tmp_path)
    daemon = start_daemon(state, config=cfg)
    try:
        assert "run `edgetui kiosk set-pin`" in daemon_log(state)  # the daemon's log warns
        proc = run_cli(
            "--config", str(cfg), "--state-dir", str(state), "kiosk", "set-pin", "--pin-stdin",
            "--json", input="97531\n",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["pin"] == "hash"
        client = await RuntimeClient.connect(socket_path(state))
        try:
            assert (await client.call("kiosk.unlock", {"pin": "97531"}))["ok"]
            wrong = await client.call("kiosk.unlock", {"pin": "1111"})
            assert wrong["reason"] == "wrong" and "1 of 5" in wrong["message"]
        finally:
            await client.close()
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
