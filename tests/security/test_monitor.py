"""Runtime security monitoring: each kind of event is kept, counted, shown in the
`security` section and audited; the audit records go uplink on devices/<id>/audit."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from edgetui.api import APIError
from edgetui.audit import MONITOR_KINDS, verify_log
from edgetui.config import Config
from edgetui.control import RuntimeClient, socket_path
from edgetui.models.serde import to_dict
from edgetui.runtime import Runtime
from tests.support.cli import run_cli
from tests.support.mqtt_sub import Collector
from tests.support.ota import OtaDevice
from tests.uplink.helpers import wait_until


def _events(rt: Runtime, kind: str) -> list[dict]:
    assert rt.security is not None
    return [to_dict(e) for e in rt.security.section().events if e.kind == kind]


async def test_a_tampered_booted_slot_is_found_by_the_periodic_rehash(tmp_path: Path) -> None:
    dev = OtaDevice(tmp_path / "dev")
    dev.factory("1.0.0")
    cfg = dev.config()
    cfg.security.slot_check_interval_s = 0.1
    rt = Runtime(cfg, dev.state_dir)
    await rt.start()
    try:
        await wait_until(
            lambda: rt.security.monitor.checks.slot is not None, what="a first re-hash"
        )
        assert rt.security.monitor.checks.slot.ok is True
        assert rt.security.section().counts["slot_tampered"] == 0
        slot = dev.store().slot_dir(dev.store().current())
        (slot / "golden.json").write_text("[]")  # changed after install
        await wait_until(lambda: _events(rt, "slot_tampered"), what="the tamper event")
        ev = _events(rt, "slot_tampered")[0]
        assert ev["message"].startswith("slot a (1.0.0) no longer matches its recorded checksum")
        assert ev["data"]["expected"] != ev["data"]["actual"]
        await wait_until(
            lambda: any(x.method == "security.slot_tampered" for x in rt.security.last),
            what="the audit record",
        )
    finally:
        await rt.stop()


async def test_an_edited_audit_trail_raises_an_event(config: Config, state_dir: Path) -> None:
    config.agents.enabled = []
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        for i in range(3):
            await rt.call("buffer.flush", {"timeout": i})
        assert (await rt.call("audit.verify"))["ok"] is True
        path = state_dir / "audit" / "audit.log"
        path.write_bytes(path.read_bytes().replace(b'"timeout":1', b'"timeout":5'))
        result = await rt.call("security.check")
        assert result["audit"]["ok"] is False
        assert result["audit"]["problem"]["kind"] == "edited"
        (ev,) = _events(rt, "audit_chain_broken")
        assert "record 2 (line 2) was edited" in ev["message"]
        assert rt.security.section().checks.audit.ok is False
    finally:
        await rt.stop()


async def test_hooks_for_bad_signatures_and_wrong_pins(config: Config, state_dir: Path) -> None:
    """The command verifier calls runtime.report_security (from any thread); a wrong PIN
    tried through `kiosk.unlock` on the socket is reported by the kiosk PIN check itself."""
    from edgetui.control import ControlServer

    config.agents.enabled = []
    rt = Runtime(config, state_dir, mode="attached")
    server = ControlServer(rt)
    await rt.start()
    await server.start()
    try:
        caller = rt.access.remote("ab12cd34ef56ab78")
        t = threading.Thread(
            target=rt.report_security,
            args=("bad_signature", "command 7f3a: bad signature (key ab12cd34ef56ab78)"),
            kwargs={"caller": caller, "data": {"command_id": "7f3a"}},
        )
        t.start()
        t.join()
        await wait_until(lambda: _events(rt, "bad_signature"), what="the bad-signature event")
        client = await RuntimeClient.connect(socket_path(state_dir), via="kiosk")
        try:
            answer = await client.call("kiosk.unlock", {"pin": "not-the-pin"})
            assert answer["ok"] is False and answer["reason"] == "wrong"
            with pytest.raises(APIError, match="unknown method"):
                await client.call("security.report", {"kind": "wrong_pin"})
        finally:
            await client.close()
        await wait_until(lambda: _events(rt, "wrong_pin"), what="the wrong-PIN event")
        (pin,) = _events(rt, "wrong_pin")
        assert pin["who"]["via"] == "kiosk" and pin["who"]["user"] == "root"
        await wait_until(lambda: rt.security.log.last_seq >= 2, what="both audited")
    finally:
        await server.stop()
        await rt.stop()
    recs = [json.loads(x) for x in (state_dir / "audit" / "audit.log").read_text().splitlines()]
    by_method = {r["what"]["method"]: r for r in recs}
    bad = by_method["security.bad_signature"]
    assert bad["who"]["via"] == "remote" and bad["who"]["key_id"] == "ab12cd34ef56ab78"
    assert bad["result"]["ok"] is False and "bad signature" in bad["result"]["error"]
    assert by_method["security.wrong_pin"]["who"]["via"] == "kiosk"
    assert verify_log(state_dir / "audit" / "audit.log").ok
    assert set(rt.security.section().counts) == set(MONITOR_KINDS)


async def test_audit_records_go_uplink_through_the_outbox(
    config: Config, state_dir: Path, mosquitto
) -> None:
    sub = Collector(mosquitto.host, mosquitto.port, "devices/test-device/audit")
    config.agents.enabled = []
    config.uplink.url = mosquitto.url
    config.uplink.backoff_min_s = 0.1
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        await rt.call("buffer.flush", {"timeout": 5})
        await rt.call("agents.status") if "agents.status" in rt.method_names() else None
        await sub.wait_for(lambda: len(sub.rows("/audit")) >= 1)
        (msg,) = sub.rows("/audit")
        assert msg["_topic"] == "devices/test-device/audit"
        assert msg["device_id"] == "test-device"
        rec = msg["record"]
        assert rec["seq"] == 1 and rec["what"]["method"] == "buffer.flush"
        from edgetui.audit.reader import record_hash

        assert record_hash(rec) == rec["hash"]  # the receiver can check the chain
    finally:
        await rt.stop()
        sub.close()


def test_security_section_in_status_json(tmp_path: Path) -> None:
    proc = run_cli("--state-dir", str(tmp_path / "s"), "status", "--json")
    assert proc.returncode == 0, proc.stderr
    sec = json.loads(proc.stdout)["security"]
    assert set(sec) == {"events", "counts", "total", "checks", "audit"}
    assert sec["total"] == 0 and sec["events"] == []
    assert set(sec["audit"]) >= {"path", "records", "signed_seq", "key_id", "last"}


async def test_monitor_rejects_unknown_kinds(config: Config, state_dir: Path) -> None:
    from edgetui.audit.monitor import SecurityMonitor

    mon = SecurityMonitor(2)
    with pytest.raises(ValueError, match="unknown security event kind"):
        mon.report("bogus", "x")
    for i in range(3):
        mon.report("wrong_pin", f"try {i}")
    sec = mon.section()
    assert sec.counts["wrong_pin"] == 3 and len(sec.events) == 2  # counts outlive the ring
    assert sec.events[0].message == "try 2"
    await asyncio.sleep(0)


async def test_audit_list_method(config: Config, state_dir: Path) -> None:
    config.agents.enabled = []
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        for i in range(4):
            await rt.call("buffer.flush", {"timeout": i, "password": "hunter2"})
        recs = (await rt.call("audit.list", {"limit": 2}))["records"]
        assert [r["seq"] for r in recs] == [3, 4]  # the newest, oldest first
        assert recs[0]["what"]["params"] == {"timeout": 2, "password": "***"}
        assert len((await rt.call("audit.list", {"since": "1h"}))["records"]) == 4
        assert (await rt.call("audit.list", {"since": "2999-01-01"}))["records"] == []
        with pytest.raises(APIError, match="limit must be an integer"):
            await rt.call("audit.list", {"limit": 0})
        with pytest.raises(APIError, match="--since"):
            await rt.call("audit.list", {"since": "soon"})
    finally:
        await rt.stop()
    assert b"hunter2" not in (state_dir / "audit" / "audit.log").read_bytes()


async def test_the_outcome_of_an_update_is_audited_after_the_call(ota_device: OtaDevice) -> None:
    """`ota.apply` returns when the runtime restarts into the trial; the commit after the
    health check is the device's own action, audited as via daemon, caused by the caller."""
    rt = Runtime(ota_device.config(), ota_device.state_dir)
    path = ota_device.state_dir / "audit" / "audit.log"

    def records() -> list[dict]:
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    await rt.start()
    try:
        assert (await rt.call("ota.apply"))["restarting"] is True
        await wait_until(
            lambda: any(r["what"]["method"] == "ota.outcome" for r in records()),
            timeout=60,
            what="the audited outcome",
        )
    finally:
        await rt.stop()
    recs = records()
    apply_ = next(r for r in recs if r["what"]["method"] == "ota.apply")
    outcome = next(r for r in recs if r["what"]["method"] == "ota.outcome")
    assert apply_["who"]["user"] == "root" and apply_["result"]["ok"] is True
    assert outcome["who"]["via"] == "daemon" and outcome["seq"] > apply_["seq"]
    assert outcome["what"]["params"]["phase"] == "done" and outcome["result"]["ok"] is True
    assert outcome["what"]["params"]["cause"] == {"user": "root", "uid": 0, "via": "cli"}
    assert verify_log(path).ok


def test_a_flood_of_refusals_is_counted_not_written_one_by_one() -> None:
    from edgetui.audit.monitor import RateLimit

    now = [0.0]
    limit = RateLimit(rate=5.0, burst=3, clock=lambda: now[0])
    assert [limit.allow(1000) for _ in range(5)] == [True, True, True, False, False]
    assert limit.allow(1001)  # another peer has its own bucket
    now[0] += 0.2  # one token back at 5/s
    assert limit.allow(1000) and not limit.allow(1000)
    assert limit.suppressed == 3


async def test_refusals_past_the_rate_limit_are_only_counted(
    config: Config, state_dir: Path
) -> None:
    from edgetui.config import AccessConfig

    config.agents.enabled = []
    config.access = AccessConfig(admin_users=[], operator_groups=[])  # root is a viewer here
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        for _ in range(100):
            with pytest.raises(APIError):
                await rt.call("buffer.flush", {"timeout": 0})
        sec = rt.security.section()
        assert sec.counts["refused_call"] == 100
        assert sec.audit is not None and sec.audit.suppressed > 0
        assert rt.security.log.last_seq == 100 - sec.audit.suppressed
    finally:
        await rt.stop()
