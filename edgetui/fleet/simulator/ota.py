"""A simulated device's side of signed commands: the real verifier, simulated A/B slots.

`SimOta.handle(payload, now)` answers a command document with the messages a real device
publishes on `devices/<id>/commands/result` (the remote-command part's record: `command_id`,
`command`, `state`, `reason`, `message`, `key_id`, `device_id`, `time`, plus `at`), and
schedules what happens later (`due`): the update installs (SUCCEEDED, booted on the new slot,
on trial), then its health check passes (the slot commits) or, for a `will_fail` device,
fails (a critical `ota_health_check` alert fires and the device rolls back).

The manifest named by `ota.apply`'s `manifest_url` is read for its `version`, `min_ram_mb`
and `min_disk_mb` (once per URL for the whole simulator); its package is never downloaded and
its signature is not checked here (the command's signature is, with the real verifier).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from edgetui.fleet.records import iso
from edgetui.models.vocabulary import JobState, Topic
from edgetui.remote import CommandRefused, Verifier, verify_command

Message = tuple[str, dict[str, Any]]  # (topic suffix, body)
SLOT_GOOD = "good"  # what a real device's telemetry says of a committed slot


@dataclass
class ManifestInfo:
    """What the simulator reads from a release manifest."""

    version: str
    min_ram_mb: int | None = None
    min_disk_mb: int | None = None


class ManifestCache:
    """Manifests by URL, read once for every simulated device (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_url: dict[str, ManifestInfo | str] = {}

    def get(self, url: str) -> ManifestInfo | str:
        """The manifest's info, or a one-line error text."""
        with self._lock:
            if url not in self._by_url:
                self._by_url[url] = _read_manifest(url)
            return self._by_url[url]


def _read_manifest(url: str) -> ManifestInfo | str:
    try:
        if url.startswith("file://"):
            data = Path(unquote(urlsplit(url).path)).read_bytes()
        else:
            with urllib.request.urlopen(url, timeout=10) as resp:
                data = resp.read(1 << 20)
        doc = json.loads(data)
    except (OSError, ValueError) as exc:
        return f"cannot read manifest {url}: {exc}"
    if not isinstance(doc, dict) or not isinstance(doc.get("version"), str):
        return f"manifest {url} has no version"

    def mb(key: str) -> int | None:
        v = doc.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    return ManifestInfo(doc["version"], mb("min_ram_mb"), mb("min_disk_mb"))


def _version_key(v: str) -> tuple[int, ...]:
    core = v.lstrip("v").split("-", 1)[0].split("+", 1)[0]
    try:
        return tuple(int(x) for x in core.split("."))
    except ValueError:
        return (0,)


@dataclass
class Slot:
    version: str | None
    status: str  # good | trial | bad | empty


@dataclass
class SimOta:
    """One device's verifier, replay window, A/B slots and pending steps."""

    device_id: str
    verifier: Verifier | None
    manifests: ManifestCache
    ram_mb: float
    disk_free_mb: float
    will_fail: bool = False
    install_s: float = 0.5
    health_s: float = 2.0
    slots: dict[str, Slot] = field(
        default_factory=lambda: {"a": Slot("0.1.0", SLOT_GOOD), "b": Slot(None, "empty")}
    )
    booted: str = "a"
    seen: set[str] = field(default_factory=set)
    busy: str | None = None  # the command id of an update in progress
    due: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    _tick: int = 0

    @property
    def version(self) -> str:
        return self.slots[self.booted].version or "0.0.0"

    @property
    def slot_status(self) -> str:
        return self.slots[self.booted].status

    def _other(self) -> str:
        return "b" if self.booted == "a" else "a"

    def _result(
        self,
        cmd: dict[str, Any],
        state: str,
        now: float,
        message: str,
        *,
        reason: str | None = None,
        result: Any = None,
    ) -> Message:
        # Each message a millisecond apart: the fleet keeps the newest state per command.
        self._tick += 1
        at = now + self._tick * 0.001
        body: dict[str, Any] = {
            "command_id": cmd.get("id") or "unknown",
            "command": cmd.get("command"),
            "state": state,
            "reason": reason,
            "message": message,
            "key_id": cmd.get("key_id"),
            "device_id": self.device_id,
            "time": iso(at),
            "at": iso(at),
        }
        if result is not None:
            body["result"] = result
        return Topic.COMMAND_RESULT, body

    # -- commands ------------------------------------------------------------------------
    def handle(self, payload: bytes, now: float) -> list[Message]:
        """Verify and start a command; the messages to publish now."""
        try:
            raw = json.loads(payload)
        except ValueError:
            raw = {}
        doc = raw if isinstance(raw, dict) else {}
        if self.verifier is None:
            return [
                self._result(
                    doc,
                    JobState.REJECTED,
                    now,
                    "this simulated device trusts no command key (fleet simulate --trusted-key)",
                    reason="unknown_key",
                )
            ]
        try:
            cmd = verify_command(payload, self.verifier)
        except CommandRefused as exc:
            return [self._result(doc, JobState.REJECTED, now, str(exc), reason=exc.code)]
        if cmd.id in self.seen:
            msg = f"command {cmd.id} was already received (replay refused)"
            return [self._result(doc, JobState.REJECTED, now, msg, reason="replayed")]
        if self.busy is not None:
            msg = f"busy with command {self.busy}"
            return [self._result(doc, JobState.REJECTED, now, msg, reason="busy")]
        self.seen.add(cmd.id)
        out = [
            self._result(doc, JobState.QUEUED, now, "accepted"),
            self._result(doc, JobState.IN_PROGRESS, now, f"running {cmd.command}"),
        ]
        if cmd.command == "ota.apply":
            out += self._apply(doc, cmd.params["manifest_url"], now)
        elif cmd.command == "ota.rollback":
            out += self._rollback(doc, now)
        else:
            out.append(self._result(doc, JobState.SUCCEEDED, now, f"{cmd.command} done", result={}))
        return out

    def _apply(self, doc: dict[str, Any], url: str, now: float) -> list[Message]:
        info = self.manifests.get(url)
        if isinstance(info, str):
            return [self._result(doc, JobState.FAILED, now, info, reason="http_error")]
        if _version_key(info.version) <= _version_key(self.version):
            msg = f"version {info.version} is not newer than installed {self.version}"
            return [self._result(doc, JobState.FAILED, now, msg, reason="downgrade")]
        # The same refusal, in the same words, as a real device (edgetui.ota check_resources).
        if info.min_ram_mb is not None and self.ram_mb < info.min_ram_mb:
            msg = (
                f"release {info.version} needs {info.min_ram_mb} MB of RAM; "
                f"this device has {self.ram_mb:.0f} MB"
            )
            return [self._result(doc, JobState.FAILED, now, msg, reason="insufficient_ram")]
        if info.min_disk_mb is not None and self.disk_free_mb < info.min_disk_mb:
            msg = (
                f"release {info.version} needs {info.min_disk_mb} MB of free disk; "
                f"this device has {self.disk_free_mb:.0f} MB free"
            )
            return [self._result(doc, JobState.FAILED, now, msg, reason="insufficient_disk")]
        self.busy = str(doc.get("id"))
        self.due.append((now + self.install_s, "installed", {"doc": doc, "version": info.version}))
        return []

    def _rollback(self, doc: dict[str, Any], now: float) -> list[Message]:
        other = self._other()
        if self.slots[other].status != SLOT_GOOD:
            msg = f"cannot roll back: slot {other} is {self.slots[other].status}"
            return [self._result(doc, JobState.FAILED, now, msg)]
        old = self.version
        if self.slot_status == "trial":
            self.slots[self.booted].status = "bad"
        self.booted = other
        msg = f"rolled back from {old} to {self.version} (slot {other})"
        return [
            self._result(doc, JobState.SUCCEEDED, now, msg, result={"version": self.version}),
            (Topic.TELEMETRY, {}),
        ]

    # -- what happens later --------------------------------------------------------------
    def next_due(self) -> float | None:
        return min((t for t, _, _ in self.due), default=None)

    def advance(self, now: float) -> list[Message]:
        """Run the steps that are due; `("telemetry", {})` asks for a telemetry message and
        `("alerts", body)` is an alert transition."""
        out: list[Message] = []
        ready = [s for s in self.due if s[0] <= now]
        self.due = [s for s in self.due if s[0] > now]
        for _, step, data in sorted(ready, key=lambda s: s[0]):
            if step == "installed":
                target = self._other()
                self.slots[target] = Slot(data["version"], "trial")
                self.booted = target
                self.busy = None
                msg = f"ota.apply done: {data['version']} on slot {target}, on trial"
                out.append(
                    self._result(
                        data["doc"],
                        JobState.SUCCEEDED,
                        now,
                        msg,
                        result={"version": data["version"], "slot": target, "status": "trial"},
                    )
                )
                out.append((Topic.TELEMETRY, {}))
                self.due.append((now + self.health_s, "health", {}))
            elif step == "health":
                out += self._health(now)
            elif step == "resolve":
                out.append((Topic.ALERTS, _health_alert(self.device_id, "resolved", now)))
        return out

    def _health(self, now: float) -> list[Message]:
        if self.slot_status != "trial":
            return []
        if not self.will_fail:
            self.slots[self.booted].status = SLOT_GOOD
            return [(Topic.TELEMETRY, {})]
        # The health check failed: the alert fires and the device boots its previous slot.
        self.slots[self.booted].status = "bad"
        self.booted = self._other()
        self.due.append((now + self.health_s, "resolve", {}))
        return [(Topic.ALERTS, _health_alert(self.device_id, "firing", now)), (Topic.TELEMETRY, {})]


def _health_alert(device_id: str, state: str, now: float) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "alertname": "ota_health_check",
        "state": state,
        "severity": "critical",
        "value": 0.0,
        "summary": "the update's health check failed; rolled back to the previous slot",
        "labels": {},
        "since": iso(now),
        "at": iso(now),
        "acknowledged": False,
        "silenced": False,
    }
