"""Roles on the control socket: the peer's uid/gid from SO_PEERCRED mapped by `[access]`;
refused calls are JSON-RPC errors naming the role, audited and counted as security events."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetui.access import FORBIDDEN, AccessPolicy, allows, required_role
from edgetui.api import APIError
from edgetui.bench.broker import stop_process
from edgetui.config import AccessConfig, Config, ConfigError, parse_config
from edgetui.control import socket_path
from edgetui.runtime import Runtime
from tests.security.peer import NOBODY, call_as_user, need_root, open_to_all
from tests.support.cli import daemon_log, run_cli, start_daemon


def test_method_roles() -> None:
    for method in ("status", "subscribe", "bus.history", "ota.status", "agents.status"):
        assert required_role(method) == "viewer", method
    for method in (
        "ota.check",
        "ota.apply",
        "ota.rollback",
        "ota.commit",
        "buffer.flush",
        "agents.restart",
        "alerts.ack",
        "alerts.silence",
        "validate",
        "bus.publish",
    ):
        assert required_role(method) == "operator", method
    assert required_role("no.such.thing") == "admin"  # deny by default
    assert required_role("buffer.export", {"out": "x"}) == "operator"
    assert required_role("buffer.export", {"out": "x", "decrypt": True}) == "admin"
    assert allows("admin", "ota.apply") and not allows("viewer", "ota.apply")
    assert not allows("none", "status")


def test_policy_maps_users_groups_and_default() -> None:
    policy = AccessPolicy(AccessConfig())
    assert policy.role_of(0, 0) == "admin"  # root
    assert policy.role_of(NOBODY, NOBODY) == "viewer"  # anyone else who can open the socket
    cfg = AccessConfig(operator_groups=["nogroup"], admin_users=["root", "1234"])
    policy = AccessPolicy(cfg)
    assert policy.role_of(NOBODY, 100, [NOBODY]) == "operator"  # a supplementary group
    assert policy.role_of(1234, 1234) == "admin"  # a numeric uid
    assert AccessPolicy(AccessConfig(default_role="none")).role_of(NOBODY, NOBODY) == "none"


def test_access_config_is_validated() -> None:
    cfg = parse_config({"access": {"operator_users": ["ann"], "default_role": "viewer"}})
    assert cfg.access.operator_users == ["ann"]
    with pytest.raises(ConfigError, match=r"\[access\] default_role: expected one of"):
        parse_config({"access": {"default_role": "superuser"}}, "c.toml")
    with pytest.raises(ConfigError, match=r"\[access\] admin_users: expected a list of strings"):
        parse_config({"access": {"admin_users": "root"}}, "c.toml")


async def test_standalone_runs_with_the_invoking_users_role(
    config: Config, state_dir: Path
) -> None:
    # Root is only a viewer here: standalone mode must refuse it what a viewer may not do.
    config.agents.enabled = []
    config.access = AccessConfig(admin_users=[], operator_groups=[])
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        me = await rt.call("access.whoami")
        assert me["user"] == "root" and me["role"] == "viewer"
        assert "buffer.flush" not in me["allowed"] and "status" in me["allowed"]
        with pytest.raises(APIError) as err:
            await rt.call("buffer.flush", {"timeout": 0})
        assert err.value.code == FORBIDDEN
        assert str(err.value).startswith("buffer.flush needs the operator role; root (uid 0)")
        assert err.value.data == {
            "method": "buffer.flush",
            "needed_role": "operator",
            "role": "viewer",
        }
        sec = rt.security.section()
        assert sec.counts["refused_call"] == 1
        assert sec.events[0].kind == "refused_call"
        assert sec.audit is not None
        assert sec.audit.last[0].method == "buffer.flush"
        assert sec.audit.last[0].ok is False
        await rt.call("status")  # viewer: fine, and not audited
        assert rt.security.log.last_seq == 1
    finally:
        await rt.stop()
    rec = json.loads((state_dir / "audit" / "audit.log").read_text().splitlines()[0])
    assert rec["result"]["refused"] is True and rec["result"]["needed_role"] == "operator"
    assert rec["who"]["uid"] == 0 and rec["who"]["role"] == "viewer"


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A state dir another user can reach (pytest's tmp dirs are root-only)."""
    need_root()
    base = Path(tempfile.mkdtemp(prefix="edgetui-access-"))
    yield base / "state"
    import shutil

    shutil.rmtree(base, ignore_errors=True)


def _daemon(state: Path, access: str) -> object:
    cfg = state.parent / "config.toml"
    # No alert engine: its built-in rules judge this (busy) machine and would queue messages.
    cfg.write_text(
        '[device]\nid = "test-device"\n[agents]\nenabled = []\n[alerts]\nenabled = false\n'
        f"[access]\n{access}\n"
    )
    state.mkdir(parents=True, exist_ok=True)
    proc = start_daemon(state, config=cfg)
    open_to_all(state, socket_path(state))
    return proc


def _audit(state: Path) -> list[dict]:
    return [json.loads(x) for x in (state / "audit" / "audit.log").read_text().splitlines()]


def test_daemon_gives_another_user_the_viewer_role(shared_dir: Path) -> None:
    proc = _daemon(shared_dir, "")
    try:
        sock = socket_path(shared_dir)
        who, status, flush, apply_ = call_as_user(
            sock,
            [
                ("access.whoami", {"via": "cli"}),
                ("status", {}),
                ("buffer.flush", {"timeout": 0}),
                ("ota.apply", {"manifest": "/tmp/x.json"}),
            ],
        )
        me = who["result"]
        assert (me["uid"], me["user"], me["role"], me["via"]) == (NOBODY, "nobody", "viewer", "cli")
        assert me["pid"] > 0
        assert status["result"]["device_id"] == "test-device"
        for reply, method in ((flush, "buffer.flush"), (apply_, "ota.apply")):
            err = reply["error"]
            assert err["code"] == FORBIDDEN
            assert err["message"].startswith(f"{method} needs the operator role; nobody")
            assert err["data"]["needed_role"] == "operator"
        refused = [r for r in _audit(shared_dir) if r["result"].get("refused")]
        assert [r["what"]["method"] for r in refused] == ["buffer.flush", "ota.apply"]
        assert all(r["who"]["uid"] == NOBODY and r["who"]["via"] == "cli" for r in refused)
        # root, through the real CLI, is admin on the same daemon and sees the events
        deadline = time.monotonic() + 30  # the next snapshot carries them
        while True:
            out = run_cli("--state-dir", str(shared_dir), "status", "--json")
            counts = json.loads(out.stdout)["security"]["counts"]
            if counts["refused_call"] == 2 or time.monotonic() > deadline:
                break
        assert counts["refused_call"] == 2
        # (exit 1: nothing drains without a broker; the call itself was allowed and audited)
        flush = run_cli("--state-dir", str(shared_dir), "buffer", "flush", "--timeout", "0")
        assert "not flushed" in flush.stdout, flush.stderr
        last = _audit(shared_dir)[-1]
        assert last["what"]["method"] == "buffer.flush"
        assert (last["who"]["uid"], last["who"]["via"], last["who"]["role"]) == (0, "cli", "admin")
    finally:
        stop_process(proc)
    assert "Traceback" not in daemon_log(shared_dir)


def test_daemon_operator_by_config_and_none_by_default(shared_dir: Path) -> None:
    proc = _daemon(shared_dir, 'operator_users = ["nobody"]')
    try:
        sock = socket_path(shared_dir)
        (flush,) = call_as_user(sock, [("buffer.flush", {"timeout": 0})])
        assert "error" not in flush, flush  # allowed (whether the outbox empties is not the point)
        rec = _audit(shared_dir)[-1]
        assert rec["what"] == {"method": "buffer.flush", "params": {"timeout": 0}}
        assert rec["who"]["user"] == "nobody" and rec["who"]["role"] == "operator"
        assert not rec["result"].get("refused")
    finally:
        stop_process(proc)
    proc = _daemon(shared_dir, 'default_role = "none"')
    try:
        status, sub = call_as_user(socket_path(shared_dir), [("status", {}), ("subscribe", {})])
        assert (
            status["error"]["code"] == FORBIDDEN
            and "needs the viewer role" in status["error"]["message"]
        )
        assert sub["error"]["code"] == FORBIDDEN
    finally:
        stop_process(proc)


def test_cli_whoami_as_root(tmp_path: Path) -> None:
    proc = run_cli("--state-dir", str(tmp_path / "s"), "whoami", "--json")
    assert proc.returncode == 0, proc.stderr
    me = json.loads(proc.stdout)
    assert me["user"] == "root" and me["role"] == "admin" and me["via"] == "cli"
    assert "ota.apply" in me["allowed"]


def test_the_demo_device_makes_its_maker_admin(tmp_path: Path) -> None:
    from edgetui.demo import _access_step

    config: dict = {}
    _access_step(tmp_path, config)
    assert config["access"]["admin_users"] == ["root"]  # the tests run as root
    config = {"access": {"admin_users": ["ann"]}}
    _access_step(tmp_path, config)
    assert config["access"]["admin_users"] == ["ann", "root"]


def test_a_peer_without_credentials_gets_no_role() -> None:
    import socket

    policy = AccessPolicy(AccessConfig())
    a, b = socket.socketpair(socket.AF_UNIX)
    try:
        assert policy.peer(a).uid == 0  # a real peer: this process
    finally:
        a.close()
        b.close()
    tcp = socket.socket(socket.AF_INET)
    try:
        assert policy.peer(tcp).role == "none"  # no SO_PEERCRED on an unconnected TCP socket
    finally:
        tcp.close()
