"""The rollout runner: turns of `judge` every `tick_s`, under the store's lease, until the
rollout is over (and its rollbacks answered).

Every command is signed with the operator's key and recorded in the store (execution as
SENT, command record RECORDED, with the rollout's id) BEFORE it is published, and marked
SENT once the broker acknowledged it (QoS 1). A runner killed at any point and started again
finds the records: it never makes a command twice, and it publishes again, under the same
command id, only what the broker never acknowledged. A runner killed between the broker's
acknowledgement and the mark publishes that command id a second time; the device's replay
window refuses it ("replayed", which the fleet store never lets overwrite a result), so no
device executes a command twice. Command ids are deterministic per (rollout, device,
attempt), and a new attempt is only made for a device that went offline before answering or
stayed silent past `retry_after_s`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.faults import fault_point
from edgetui.fleet.mqtt import MqttAuth, make_client, process_name
from edgetui.fleet.records import CommandRecord
from edgetui.fleet.rollouts.judge import judge
from edgetui.fleet.rollouts.records import Execution, RolloutRecord
from edgetui.fleet.rollouts.store import RolloutStore
from edgetui.keys import load_private_key
from edgetui.models.broker import BrokerAddress
from edgetui.models.vocabulary import (
    ROLLOUT_FINAL,
    CommandMark,
    ExecutionState,
    RolloutState,
    Topic,
    device_topic,
)
from edgetui.remote import sign_command

log = logging.getLogger(__name__)

MAX_VALIDITY_S = 86400.0  # a device's default [remote] max_validity_s
PUBACK_WAIT_S = 10.0  # how long a turn waits for the broker's acknowledgements


def one_line(exc: BaseException) -> str:
    """An exception as one short line: the console never shows a traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."


class RolloutRunner:
    """Runs one rollout from `store` over `broker` (see the module docstring)."""

    def __init__(
        self,
        store: RolloutStore,
        broker: BrokerAddress,
        rollout_id: str,
        *,
        owner: str = "",
        tick_s: float = 1.0,
        lease_s: float = 15.0,
        clock: Callable[[], float] = time.time,
        auth: MqttAuth | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.rollout_id = rollout_id
        self.owner = owner or process_name()
        self.tick_s = tick_s
        self.lease_s = lease_s
        self.clock = clock
        self.auth = auth
        self.published = 0
        self.holding = False  # whether this runner holds the lease now
        # The last turn's failure in one line ("" after a good turn): the console shows it,
        # the headless runner only logs it.
        self.last_error = ""
        self._key: Any = None
        self._client: Any = None
        self._connected = threading.Event()
        # Commands handed to paho and not yet acknowledged: command id -> (device, info).
        self._inflight: dict[str, tuple[str, Any]] = {}
        self.done = threading.Event()  # set when run() returns

    # -- MQTT ----------------------------------------------------------------------------
    def _connect(self) -> None:
        client = make_client(self.broker, f"edgetui-rollout-{self.owner}", auth=self.auth)
        client.on_connect = lambda c, u, f, rc, p: self._connected.set()
        client.on_disconnect = lambda c, u, f, rc, p: self._connected.clear()
        client.reconnect_delay_set(0.2, 5.0)
        client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        client.loop_start()
        self._client = client

    def _publish(self, docs: list[tuple[Execution, dict[str, Any]]]) -> list[tuple[str, str]]:
        """Publish every command at QoS 1, then wait for the broker's acknowledgements;
        returns the (command_id, device_id) pairs acknowledged since the last call."""
        import json

        for e, doc in docs:
            info = self._client.publish(
                device_topic(e.device_id, Topic.COMMANDS), json.dumps(doc), qos=1
            )
            # Handed to paho, a QoS 1 message is sent again after a reconnect until the
            # broker acknowledges it: this process never publishes it a second time.
            self._inflight[doc["id"]] = (e.device_id, info)
        # One deadline for the whole turn: a broker that stopped acknowledging must not
        # cost 10 s per command.
        deadline = time.monotonic() + PUBACK_WAIT_S
        for cid, (_, info) in list(self._inflight.items()):
            try:
                info.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))
            except ValueError:  # paho's queue was full: not taken, published again next turn
                del self._inflight[cid]
            except RuntimeError as exc:  # no connection: paho keeps it queued
                log.warning("rollout %s: commands not sent yet: %s", self.rollout_id, exc)
                break
        acked = [
            (cid, device_id)
            for cid, (device_id, info) in self._inflight.items()
            if info.is_published()
        ]
        for cid, _ in acked:
            del self._inflight[cid]
        self.published += len(acked)
        return acked

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

    # -- the lease: the only way in or out of it ------------------------------------------
    def claim(self, now: float | None = None) -> bool:
        """Take or renew the rollout's lease (the store's conditional UPDATE: taken only when
        free, expired or ours, so two fleet processes never run one rollout); whether this
        runner holds it now."""
        now = self.clock() if now is None else now
        self.holding = self.store.claim_rollout(
            self.rollout_id, self.owner, now=now, lease_s=self.lease_s
        )
        return self.holding

    def release(self) -> None:
        """Give the lease back, if held (a no-op otherwise). Raises what the store raises;
        `holding` stays True until the store took it back."""
        if self.holding:
            self.store.release_rollout(self.rollout_id, self.owner)
            self.holding = False

    def turn(self) -> RolloutRecord | None:
        """One turn under the lease; None when the rollout does not exist."""
        now = self.clock()
        self.claim(now)
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
        docs = [(e, self._sign(r, e, cmd, cid, now)) for e, cmd, cid in outgoing]
        if docs:
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
            fault_point("fleet.rollout.recorded")
        docs += self._unacknowledged(r, execs, results, {e.device_id for e, _, _ in outgoing}, now)
        if docs or self._inflight:
            acked = self._publish(docs)
            fault_point("fleet.rollout.published")
            self.store.mark_published(acked)
        return r

    def _unacknowledged(
        self,
        r: RolloutRecord,
        execs: list[Execution],
        results: dict[str, tuple[str | None, str | None]],
        skip: set[str],
        now: float,
    ) -> list[tuple[Execution, dict[str, Any]]]:
        """Commands recorded by a runner that died (or whose publish failed before paho took
        it) that the broker never acknowledged: signed again under the same id, for the same
        device."""

        def lost(cid: str | None) -> bool:
            return (
                bool(cid)
                and cid not in self._inflight
                and (results.get(cid or "", (None, None))[0] == CommandMark.RECORDED)
            )

        again: list[tuple[Execution, dict[str, Any]]] = []
        for e in execs:
            if e.device_id in skip:
                continue
            if e.state == ExecutionState.SENT and lost(e.command_id):
                again.append((e, self._sign(r, e, "ota.apply", e.command_id or "", now)))
            if e.rollback_state == CommandMark.SENT and lost(e.rollback_id):
                again.append((e, self._sign(r, e, "ota.rollback", e.rollback_id or "", now)))
        return again

    def finished(self, r: RolloutRecord | None) -> bool:
        if r is None:
            return True
        if r.state not in ROLLOUT_FINAL:
            return False
        # A halted rollout waits for the answers to its rollbacks, and with auto-rollback for
        # the updates still under way at the halt (until its timeout).
        execs = self.store.executions(r.rollout_id)
        pending = any(e.rollback_state == CommandMark.SENT for e in execs)
        if r.state == RolloutState.HALTED and r.spec.auto_rollback:
            pending = pending or any(
                e.state == ExecutionState.SENT
                or (e.state == ExecutionState.INSTALLED and not e.rollback_id)
                for e in execs
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
                    self.last_error = one_line(exc)
                else:
                    self.last_error = ""
                    if self.holding and self.finished(r):
                        break
                stop.wait(self.tick_s)
        finally:
            try:
                self.release()
            except Exception as exc:
                log.warning("rollout %s: lease not released: %s", self.rollout_id, exc)
            self._client.loop_stop()
            self._client.disconnect()
            self.done.set()
        return r
