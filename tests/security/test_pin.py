"""The kiosk PIN: a scrypt hash (never the PIN), backoff after a wrong PIN, lockout after
too many, counters that survive a restart, and the plain-text PIN's migration warning."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from edgetui.api import APIError
from edgetui.config import ConfigError, UIConfig, parse_config
from edgetui.kiosk import KioskPin, PinError, PinGuard, PinHash, hash_pin

FAST = 10  # scrypt ln for tests that make many hashes (the default is 15)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_hash_is_scrypt_and_verifies() -> None:
    text = hash_pin("482913")
    assert text.startswith("$scrypt$ln=15,r=8,p=1$") and "482913" not in text
    h = PinHash.parse(text)
    assert h.verify("482913") and not h.verify("482914")
    assert str(h) == text
    assert hash_pin("482913") != text  # a fresh salt each time


@pytest.mark.parametrize("pin", ["123", "12345678901234567", "12a4", " 1234", ""])
def test_pin_format(pin: str) -> None:
    with pytest.raises(PinError, match="4 to 16 digits"):
        hash_pin(pin)


@pytest.mark.parametrize(
    "text",
    [
        "0000",
        "$scrypt$ln=15,r=8,p=1$c2FsdA$x",
        "$scrypt$ln=40,r=8,p=1$" + "A" * 22 + "$" + "B" * 43,
    ],
)
def test_malformed_hash(text: str) -> None:
    with pytest.raises(PinError):
        PinHash.parse(text)


def guard(tmp_path: Path, clock: Clock, **kw) -> PinGuard:
    return PinGuard(tmp_path / "counters.json", clock=clock, **kw)


def test_backoff_doubles_then_locks_out(tmp_path: Path) -> None:
    clock = Clock()
    g = guard(tmp_path, clock, max_attempts=5, backoff_s=1.0, lockout_s=300.0)
    delays = []
    for _ in range(4):
        assert g.gate() is None
        r = g.record(False)
        assert r.reason == "wrong"
        delays.append(r.retry_in_s)
        refused = g.gate()  # too soon: refused without a check
        assert refused is not None and refused.reason == "backoff"
        clock.now += r.retry_in_s
    assert delays == [1.0, 2.0, 4.0, 8.0]
    assert g.gate() is None
    r = g.record(False)
    assert r.reason == "locked" and "locked for 5 min" in r.message and r.failures == 5
    clock.now += 299
    locked = g.gate()
    assert locked is not None and locked.reason == "locked" and locked.retry_in_s == 1.0
    clock.now += 1
    assert g.gate() is None  # the lockout is over: a fresh series
    assert g.record(False).failures == 1
    assert g.state()["lockouts"] == 1


def test_success_resets_and_counters_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    g = guard(tmp_path, clock, max_attempts=3)
    g.record(False)
    g.record(False)
    again = guard(tmp_path, clock, max_attempts=3)  # a restarted dashboard or daemon
    assert again.counters.failures == 2 and again.gate() is not None
    assert stat.S_IMODE((tmp_path / "counters.json").stat().st_mode) == 0o600
    clock.now += 60
    assert again.gate() is None and again.record(True).ok
    assert guard(tmp_path, clock).counters.failures == 0


def test_damaged_counters_fail_closed(tmp_path: Path) -> None:
    (tmp_path / "counters.json").write_text("{not json")
    r = guard(tmp_path, Clock()).gate()
    assert r is not None and r.reason == "locked"


async def test_plain_text_pin_loads_with_a_migration_warning(tmp_path: Path, caplog) -> None:
    kiosk = KioskPin(UIConfig(kiosk_pin="2468"), tmp_path, config_file=Path("/etc/e.toml"))
    with caplog.at_level(logging.WARNING):
        await kiosk.start()
    assert "edgetui kiosk set-pin" in caplog.text and "/etc/e.toml" in caplog.text
    assert kiosk.section().pin == "plain" and "kiosk_pin" in str(kiosk.section().warning)
    assert (await kiosk.unlock("2468")).ok


async def test_set_pin_stores_only_the_hash_and_replaces_the_plain_pin(tmp_path: Path) -> None:
    kiosk = KioskPin(UIConfig(kiosk_pin="2468"), tmp_path)
    await kiosk.start()
    set_pin = kiosk.methods()["kiosk.set_pin"]
    result = await set_pin({"pin_hash": hash_pin("97531", ln=FAST)})
    stored = (tmp_path / "kiosk-pin").read_text()
    assert result["pin"] == "hash" and "97531" not in stored and stored.startswith("$scrypt$")
    assert stat.S_IMODE((tmp_path / "kiosk-pin").stat().st_mode) == 0o600
    # The config still has a plain PIN: it no longer works, and the warning says to drop it.
    assert "delete the plain-text" in result["warning"]
    unlock = kiosk.methods()["kiosk.unlock"]
    assert (await unlock({"pin": "97531"}))["ok"]
    assert (await unlock({"pin": "2468"}))["reason"] == "wrong"
    with pytest.raises(APIError, match="not a kiosk PIN hash"):
        await set_pin({"pin_hash": "97531"})  # a PIN instead of a hash is refused
    # A new runtime (restart) reads the hash.
    again = KioskPin(UIConfig(), tmp_path)
    await again.start()
    assert again.pin_hash is not None and again.warning is None


async def test_wrong_pins_reach_the_monitor_hook_and_notify(tmp_path: Path) -> None:
    notes: list[tuple[str, dict]] = []
    clock = Clock()
    kiosk = KioskPin(
        UIConfig(kiosk_pin="1357", kiosk_max_attempts=2),
        tmp_path,
        notify=lambda k, d: notes.append((k, d)),
        clock=clock,
    )
    seen: list[dict] = []
    kiosk.on_wrong_pin = seen.append
    await kiosk.start()
    assert (await kiosk.unlock("0000")).reason == "wrong"
    assert (await kiosk.unlock("1357")).reason == "backoff"  # right PIN, but too soon
    clock.now += 1
    assert (await kiosk.unlock("0000")).reason == "locked"
    clock.now += 1
    assert (await kiosk.unlock("1357")).reason == "locked"  # locked: not even checked
    assert [s["reason"] for s in seen] == ["wrong", "backoff", "locked", "locked"]
    assert notes[0][0] == "security" and notes[0][1]["event"] == "kiosk_pin_refused"
    assert kiosk.section().locked is True


async def test_a_damaged_hash_file_refuses_every_pin(tmp_path: Path) -> None:
    (tmp_path / "kiosk-pin").write_text("garbage\n")
    kiosk = KioskPin(UIConfig(kiosk_pin="0000"), tmp_path)
    await kiosk.start()
    r = await kiosk.unlock("0000")  # no silent fallback to the plain PIN
    assert not r.ok and r.reason == "unavailable" and "set-pin" in r.message


def test_config_keys_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"\[ui\] kiosk_max_attempts"):
        parse_config({"ui": {"kiosk_max_attempts": 0}}, "c.toml")
    with pytest.raises(ConfigError, match=r"\[ui\] kiosk_lockout_s"):
        parse_config({"ui": {"kiosk_lockout_s": -1}}, "c.toml")
    cfg = parse_config({"ui": {"kiosk_backoff_s": 2, "kiosk_lockout_s": 600}})
    assert cfg.ui.kiosk_backoff_s == 2.0 and json.dumps(cfg.ui.kiosk_lockout_s) == "600.0"
