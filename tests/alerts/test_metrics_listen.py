"""A taken `[metrics] listen` port: the exporter keeps running and retries with backoff,
says so in its section, the built-in `metrics_listen_failed` alert fires, and once the port
is free `/metrics` is served and the alert resolves."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.config import AlertRuleConfig, Config
from edgetui.runtime import Runtime
from edgetui.tui.header import metrics_down


async def until(
    rt: Runtime, pred: Callable[[dict[str, Any]], bool], timeout: float = 60
) -> dict[str, Any]:
    """The first snapshot for which `pred` holds (polled; fails after `timeout`)."""
    async with asyncio.timeout(timeout):
        while True:
            snap = (await rt.status()).to_dict(with_history=False)
            if pred(snap):
                return snap
            await asyncio.sleep(0.05)


def listen_state(snap: dict[str, Any]) -> str | None:
    return ((snap.get("metrics") or {}).get("listen") or {}).get("state")


def alert_state(snap: dict[str, Any], name: str) -> str | None:
    alerts = (snap.get("alerts") or {}).get("alerts") or []
    return next((a["state"] for a in alerts if a["name"] == name), None)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


async def test_taken_port_retries_alerts_then_serves(config: Config, state_dir: Path) -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    config.agents.enabled = []
    config.alerts.enabled = True
    config.metrics.listen = f"127.0.0.1:{port}"
    # The built-in waits 30 s before firing; here it fires as soon as it is seen.
    config.alerts.rules = [AlertRuleConfig(name="metrics_listen_failed", for_s=0.0)]
    rt = Runtime(config, state_dir, mode="attached")
    await rt.start()
    try:
        assert rt.metrics is not None  # started anyway, not dropped for the runtime's life
        snap = await until(rt, lambda s: alert_state(s, "metrics_listen_failed") == "firing")
        listen = snap["metrics"]["listen"]
        assert listen["state"] == "retrying" and listen["error"] == "address in use"
        assert listen["address"] == f"127.0.0.1:{port}" and listen["attempts"] >= 1
        assert listen["next_retry_s"] is not None
        alert = next(a for a in snap["alerts"]["alerts"] if a["name"] == "metrics_listen_failed")
        assert alert["severity"] == "warning" and "/metrics not served" in alert["summary"]
        assert metrics_down(snap["metrics"]) == "/metrics retrying (address in use)"

        await until(rt, lambda s: (s["metrics"]["listen"]["attempts"] or 0) >= 2)  # it retries
        holder.close()
        snap = await until(rt, lambda s: listen_state(s) == "serving")
        assert (
            snap["metrics"]["listen"]["attempts"] == 0
            and snap["metrics"]["listen"]["error"] is None
        )
        assert metrics_down(snap["metrics"]) is None
        body = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/metrics")
        assert "edgetui_" in body
        await until(rt, lambda s: alert_state(s, "metrics_listen_failed") is None)
        history = await rt.call("alerts.history", {"limit": 10})
        states = [h["state"] for h in history if h["name"] == "metrics_listen_failed"]
        assert states[:2] == ["resolved", "firing"]  # newest first
    finally:
        holder.close()
        await rt.stop()


async def test_no_listen_address_no_alert(config: Config, state_dir: Path) -> None:
    config.agents.enabled = []
    config.alerts.enabled = True
    config.metrics.textfile = str(state_dir / "edgetui.prom")
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        snap = (await rt.status()).to_dict(with_history=False)
        assert snap["metrics"] == {"listen": None, "textfile": config.metrics.textfile}
        assert alert_state(snap, "metrics_listen_failed") is None
        assert metrics_down(snap["metrics"]) is None
    finally:
        await rt.stop()
