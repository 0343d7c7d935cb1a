"""The rollout runner: turns of `judge` every `tick_s`, under the store's lease, until the
rollout is over (and its rollbacks answered).

Every command is signed with the operator's key and recorded in the store (execution as
SENT, command record with the rollout's id) BEFORE it is published: a runner killed at any
point and started again finds the record and never publishes that command again. Command ids
are deterministic per (rollout, device, attempt), and a new attempt is only made for a
device that went offline before answering or stayed silent past `retry_after_s`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.fleet.mqtt import Broker, make_client
from edgetui.fleet.records import CommandRecord
from edgetui.fleet.rollout_records import FINAL, Execution, RolloutRecord
from edgetui.fleet.rollouts.judge import judge
from edgetui.fleet.store import FleetStore
from edgetui.security import load_private_key, sign_command

log = logging.getLogger(__name__)

MAX_VALIDITY_S = 86400.0  # a device's default [remote] max_validity_s


def default_owner() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class RolloutRunner:
    """Runs one rollout from `store` over `broker` (see the module docstring)."""

    def __init__(
        self,
        store: FleetStore,
        broker: Broker,
        rollout_id: str,
        *,
        owner: str = "",
        tick_s: float = 1.0,
        lease_s: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.broker = broker
        self.rollout_id = rollout_id
        self.owner = owner or default_owner()
        self.tick_s = tick_s
        self.lease_s = lease_s
        self.clock = clock
        self.published = 0
        self.holding = False  # whether this runner holds the lease now
        # The last turn's failure in one line ("" after a good turn): the console shows it,
        # the headless runner only logs it.
        self.last_error = ""
        self._key: Any = None
        self._client: Any = None
        self._connected = threading.Event()
        self.done = threading.Event()  # set when run() returns

    # -- MQTT ----------------------------------------------------------------------------
    def _connect(self) -> None:
        client = make_client(self.broker, f"edgetui-rollout-{self.owner}")
        client.on_connect = lambda c, u, f, rc, p: self._connected.set()
        client.on_disconnect = lambda c, u, f, rc, p: self._connected.clear()
        client.reconnect_delay_set(0.2, 5.0)
        client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        client.loop_start()
        self._client = client

    def _publish(self, device_id: str, doc: dict[str, Any]) -> None:
        import json

        info = self._client.publish(f"devices/{device_id}/commands", json.dumps(doc), qos=1)
        # QoS 1: once queued in paho it is retried until the broker acknowledges it.
        info.wait_for_publish(timeout=10)
        self.published += 1

    # -- one turn ------------------------------------------------------------------------
    def _sign(self, r: RolloutRecord, e: Execution, command: str, cid: str, now: float) -> Any:
        if self._key is None:
            self._key = load_private_key(Path(r.spec.key))
        remaining = r.created_at + r.spec.timeout_s - now
        params = {"manifest_url": r.spec.manifest_url} if command == "ota.apply" else {}
        return sign_command(
            self._key,
            command,
            targets=[e.device_id],
            params=params,
            expires_in_s=min(MAX_VALIDITY_S, max(60.0, remaining)),
            command_id=cid,
        )

    def turn(self) -> RolloutRecord | None:
        """One turn under the lease; None when the rollout does not exist."""
        now = self.clock()
        self.holding = self.store.claim_rollout(
            self.rollout_id, self.owner, now=now, lease_s=self.lease_s
        )
        r = self.store.rollout(self.rollout_id)
        if r is None or not self.holding:
            return r
        execs = self.store.executions(self.rollout_id)
        devices = {d.device_id: d for d in self.store.devices()}
        results = self.store.rollout_commands(self.rollout_id)
        t = judge(r, execs, devices, results, now)
        self.store.save_executions(list(t.changed.values()))
        if t.rollout_changed:
            self.store.update_rollout(r)
        outgoing = [(e, "ota.apply", e.command_id or "") for e in t.sends]
        outgoing += [(e, "ota.rollback", e.rollback_id or "") for e in t.rollbacks]
        if not outgoing:
            return r
        docs = [(e, self._sign(r, e, cmd, cid, now)) for e, cmd, cid in outgoing]
        self.store.record_sends(
            [
                (
                    e,
                    CommandRecord(
                        command_id=doc["id"],
                        device_id=e.device_id,
                        command=doc["command"],
                        rollout_id=r.rollout_id,
                        issued_at=now,
                    ),
                )
                for e, doc in docs
            ]
        )
        for e, doc in docs:
            self._publish(e.device_id, doc)
        return r

    def finished(self, r: RolloutRecord | None) -> bool:
        if r is None:
            return True
        if r.state not in FINAL:
            return False
        # A halted rollout waits for the answers to its rollbacks, and with auto-rollback for
        # the updates still under way at the halt (until its timeout).
        execs = self.store.executions(r.rollout_id)
        pending = any(e.rollback_state == "SENT" for e in execs)
        if r.state == "HALTED" and r.spec.auto_rollback:
            pending = pending or any(
                e.state == "SENT" or (e.state == "INSTALLED" and not e.rollback_id) for e in execs
            )
        return not pending or self.clock() >= r.created_at + r.spec.timeout_s

    def run(self, stop: threading.Event | None = None) -> RolloutRecord | None:
        """Turns until the rollout is over or `stop` is set; returns its last record."""
        stop = stop or threading.Event()
        self._connect()
        r = None
        try:
            self._connected.wait(10)
            while not stop.is_set():
                try:
                    r = self.turn()
                except Exception as exc:  # the store or broker is away: try the next turn
                    log.warning("rollout %s: turn failed: %s", self.rollout_id, exc)
                    self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                else:
                    self.last_error = ""
                    if self.holding and self.finished(r):
                        break
                stop.wait(self.tick_s)
        finally:
            if self.holding:
                try:
                    self.store.release_rollout(self.rollout_id, self.owner)
                    self.holding = False
                except Exception as exc:
                    log.warning("rollout %s: lease not released: %s", self.rollout_id, exc)
            self._client.loop_stop()
            self._client.disconnect()
            self.done.set()
        return r
