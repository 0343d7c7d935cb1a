"""The periodic update check (OtaService._check_loop) against a real local HTTP repository:
auto-apply of an offered update, and backoff while the repository fails.

The check's timings are injected through OtaService's constructor (a Runtime subclass builds
it), so the loop runs at test speed; nothing here measures time.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from edgetui.config import Config
from edgetui.models.serde import to_dict
from edgetui.ota.health import HealthHooks
from edgetui.ota.service import OtaService
from edgetui.runtime import Runtime
from tests.ota.test_service import running as service_running
from tests.support.http_server import FileServer, serve_directory
from tests.support.ota import OtaDevice

pytestmark = pytest.mark.timeout(60)

FIRST_CHECK_DELAY_S = 0.1
RETRY_MIN_S = 0.2
JITTER = (0.8, 1.2)  # the loop spreads each retry delay by this factor


class QuickCheckRuntime(Runtime):
    """A Runtime whose OTA service runs its periodic check at test speed."""

    def _build_ota(self) -> Any:
        self.ota = OtaService(
            self.config,
            self.state_dir,
            notify=self.notify,
            request_restart=self.restart,
            hooks=HealthHooks(inference=lambda: self.inference),
            first_check_delay_s=FIRST_CHECK_DELAY_S,
            retry_min_s=RETRY_MIN_S,
        )
        return self.ota


def running(dev: OtaDevice, cfg: Config) -> AbstractAsyncContextManager[tuple[Runtime, list]]:
    """A started QuickCheckRuntime plus the list its ota.progress notifications land in."""
    return service_running(dev, cfg, runtime=QuickCheckRuntime)


async def until(cond: Callable[[], bool], what: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def status_when(rt: Runtime, cond: Callable[[], bool], what: str) -> dict[str, Any]:
    """`ota status` taken in the same event-loop step that first sees `cond` hold.

    The periodic check runs on, and a later check may begin at any await: reading the
    status with a separate call could catch that next check.
    """
    seen: dict[str, Any] = {}

    def take() -> bool:
        if not seen and cond():
            seen.update(to_dict(rt.ota.section()))
        return bool(seen)

    await until(take, what)
    return seen


def check_failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("OTA check failed")]


@pytest.fixture
def repo_server(ota_device: OtaDevice) -> Iterator[FileServer]:
    # No golden prompts: llama.cpp on a loaded machine is not what these tests are about.
    ota_device.publish("1.1.0", seed=1, golden=False, changes="new weights")
    with serve_directory(ota_device.repo) as server:
        yield server


def closed_port_url() -> str:
    """A manifest URL on a loopback port where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/manifest.json"


async def test_auto_apply_installs_the_offered_update(
    ota_device: OtaDevice, repo_server: FileServer
) -> None:
    cfg = ota_device.config(manifest_url=repo_server.url("manifest.json"), auto_apply=True)
    async with running(ota_device, cfg) as (rt, notes):
        # Nobody calls ota.apply: the periodic check finds 1.1.0 and installs it.
        end = await _wait_terminal(notes)
        await until(lambda: rt._started, "the restarted runtime")
        st = await rt.call("ota.status")
        history = await rt.call("ota.history")
    assert end["phase"] == "done", end
    phases = [n["phase"] for n in notes]
    assert {"verify", "download", "extract", "switch", "restarting", "health"} <= set(phases)
    assert st["booted"] == "b" and st["primary"] == "b"
    assert st["slots"]["b"]["status"] == "good" and st["slots"]["b"]["version"] == "1.1.0"
    assert st["slots"]["a"]["status"] == "good"
    assert [(h["action"], h["result"]) for h in history[:2]] == [("commit", "ok"), ("update", "ok")]
    assert history[1]["to_version"] == "1.1.0"
    assert rt.restarts == 1
    assert "/edgetui-1.1.0.tar.gz" in [r.path for r in repo_server.requests]
    assert ota_device.verified_boot_slot()[0] == "b"


async def _wait_terminal(notes: list[dict], timeout: float = 45) -> dict:
    await until(
        lambda: any(n["phase"] in ("done", "rolled_back", "failed") for n in notes),
        "the update to finish",
        timeout,
    )
    return next(n for n in notes if n["phase"] in ("done", "rolled_back", "failed"))


@pytest.mark.parametrize("failure", ["404", "unreachable"])
async def test_failing_check_backs_off_and_the_device_keeps_running(
    failure: str,
    ota_device: OtaDevice,
    repo_server: FileServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="edgetui.ota")
    if failure == "404":
        repo_server.set_faults(status=404, paths=("/manifest.json",))
        url = repo_server.url("manifest.json")
    else:
        url = closed_port_url()
    cfg = ota_device.config(manifest_url=url, auto_apply=True, check_interval_s=30.0)
    async with running(ota_device, cfg) as (rt, notes):
        st = await status_when(rt, lambda: len(check_failures(caplog)) >= 3, "three failed checks")
        snapshot = await rt.status()
    records = check_failures(caplog)[:3]
    # Logged with the count and the next delay, which doubles from RETRY_MIN_S (+-jitter).
    for n, rec in enumerate(records, start=1):
        count, delay, _exc = rec.args  # type: ignore[misc]
        assert rec.levelno == logging.WARNING
        assert count == n
        base = RETRY_MIN_S * 2 ** (n - 1)
        assert JITTER[0] * base <= delay <= JITTER[1] * base, (n, delay)
    if failure == "404":
        assert "404" in records[0].getMessage()
        asked = [r for r in repo_server.requests if r.path == "/manifest.json"]
        assert len(asked) >= 3  # each failure was a real new request
        assert "404" in st["last_check"]["message"]
    # The device keeps running on what it has: slot a, nothing installed, no restart.
    assert st["last_check"]["ok"] is False
    assert st["update"]["state"] == "error"
    assert st["booted"] == "a" and st["slots"]["a"]["status"] == "good"
    assert st["slots"]["b"]["status"] == "empty" and st["slots"]["b"]["version"] is None
    assert not [n for n in notes if n["phase"] in ("verify", "download", "restarting")]
    assert rt.restarts == 0
    assert snapshot.sections["ota"].booted == "a"
    slot = {"status": "good", "version": "1.0.0", "attempts": 0}
    assert ota_device.verified_boot_slot() == ("a", slot)


async def test_check_recovers_after_failures_and_applies(
    ota_device: OtaDevice, repo_server: FileServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="edgetui.ota")
    repo_server.set_faults(status=404, paths=("/manifest.json",), limit=2)
    cfg = ota_device.config(
        manifest_url=repo_server.url("manifest.json"), auto_apply=True, check_interval_s=30.0
    )
    async with running(ota_device, cfg) as (rt, notes):
        end = await _wait_terminal(notes)
        await until(lambda: rt._started, "the restarted runtime")
        st = await rt.call("ota.status")
    assert len(check_failures(caplog)) == 2
    assert end["phase"] == "done", end
    assert st["booted"] == "b" and st["slots"]["b"]["version"] == "1.1.0"


async def test_without_auto_apply_the_check_only_reports(
    ota_device: OtaDevice, repo_server: FileServer
) -> None:
    cfg = ota_device.config(
        manifest_url=repo_server.url("manifest.json"), auto_apply=False, check_interval_s=0.2
    )

    def manifest_requests() -> int:
        return len([r for r in repo_server.requests if r.path == "/manifest.json"])

    async with running(ota_device, cfg) as (rt, notes):
        # The server logs a request before the device has read the answer: the third check
        # is over once the state has left "checking".
        st = await status_when(
            rt,
            lambda: manifest_requests() >= 3 and rt.ota.update.state != "checking",
            "three periodic checks",
        )
    assert st["update"]["state"] == "available"
    assert st["update"]["available"]["version"] == "1.1.0"
    assert st["last_check"]["ok"] is True
    assert "/edgetui-1.1.0.tar.gz" not in [r.path for r in repo_server.requests]
    assert st["booted"] == "a" and st["slots"]["b"]["status"] == "empty"
    assert not notes and rt.restarts == 0
