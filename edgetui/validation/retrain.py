"""The retraining trigger, device half: the llm agent's recent decision inputs, kept in a
bounded ring, sent to the fleet when a drift or confidence alert fires, and only when the
owner opted in (`[retrain] share_inputs = true`).

The drift part hands every DECISION it takes in to `observe` (with the trigger event's data
and the context the agent decided in); the runtime hands every alert transition to
`alert_changed`. When one of `[retrain] rules` turns firing, the samples not sent before are
queued in the outbox as class `retrain` (the lowest: dropped first when the queue is full),
which the uplink publishes on `devices/<id>/retrain`, sealed at rest like any row.

Bounds: the ring holds `max_samples` decisions (so one firing sends at most that many), and
`max_per_day` samples leave per UTC day over all alerts; the day's count is kept in
`<state>/validation/retrain.json` (written temp -> fsync -> rename), so a restart does not
reset it. A sample is sent once, even when a second alert fires while it is still in the ring.

What leaves the device, and nothing else (no reason text, which may name files or engine
errors; no raw model output; no bus source or event ids; no configuration):

    message: device_id, alert, alert_key, fired_at, samples
    sample:  id, at, model_version, event_type,
             data     the trigger event's scalar fields (at most 16; text cut to 200 chars),
             context  hour, time_of_day, expected_visitors, recent_events (lists cut to 20
                      entries of 200 chars), sound_alert_db, temperature_alert_c,
             decision action, message, source (model | fallback), confidence
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgetui.cancel import cancel_and_wait
from edgetui.config import RetrainConfig
from edgetui.durable import atomic_write
from edgetui.models.clock import rfc3339
from edgetui.models.drift import RetrainLast, RetrainSection
from edgetui.models.ids import new_id

log = logging.getLogger(__name__)

KIND = "retrain"  # the outbox class (edgetui.store.KINDS), topic devices/<id>/retrain
FIRING = "firing"  # the alert engine's transition name
TEXT_MAX = 200  # characters of any text that leaves the device
LIST_MAX = 20  # entries of a context list
DATA_KEYS_MAX = 16
MESSAGE_BYTES = 48 * 1024  # samples per message are cut here (the fleet refuses > 256 KiB)
CONTEXT_TEXT = ("time_of_day",)
CONTEXT_NUMBERS = ("hour", "sound_alert_db", "temperature_alert_c")
CONTEXT_LISTS = ("expected_visitors", "recent_events")
DECISION_KEYS = ("action", "message", "source", "confidence")


def _text(value: Any) -> str:
    return str(value)[:TEXT_MAX]


def _scalar(value: Any) -> Any:
    """A JSON scalar as it may leave the device (text cut), or None for anything else."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return _text(value)
    return None


def clean_data(data: dict[str, Any]) -> dict[str, Any]:
    """The trigger event's scalar fields only: a sensor plugin's nested objects stay home."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if len(out) >= DATA_KEYS_MAX:
            break
        if isinstance(value, bool | int | float | str) and isinstance(key, str):
            out[key[:TEXT_MAX]] = _scalar(value)
    return out


def clean_context(context: dict[str, Any]) -> dict[str, Any]:
    """The context keys the prompt and the rule policy read, and no others."""
    out: dict[str, Any] = {}
    for key in CONTEXT_NUMBERS:
        value = context.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = value
    for key in CONTEXT_TEXT:
        if isinstance(context.get(key), str):
            out[key] = _text(context[key])
    for key in CONTEXT_LISTS:
        value = context.get(key)
        if isinstance(value, list):
            out[key] = [_text(v) for v in value[-LIST_MAX:]]
    return out


def clean_decision(decision: dict[str, Any]) -> dict[str, Any]:
    out = {k: _scalar(decision.get(k)) for k in DECISION_KEYS}
    conf = out["confidence"]
    out["confidence"] = float(conf) if isinstance(conf, int | float) else None
    return out


def _today(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).strftime("%Y-%m-%d")


class RetrainSampler:
    """The ring of recent decision inputs and the sharing of them (see the module doc)."""

    def __init__(
        self,
        config: RetrainConfig,
        state_dir: Path,
        *,
        device_id: str,
        outbox: Callable[[], Any],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.path = Path(state_dir) / "validation" / "retrain.json"
        self.device_id = device_id
        self.outbox = outbox  # -> the running Outbox (enqueue_many) or None
        self.clock = clock
        self.ring: deque[dict[str, Any]] = deque(maxlen=config.max_samples)
        self.shared: set[str] = set()  # ids of samples in the ring already sent
        self.day: str | None = None  # the UTC day `sent_today` counts (loaded lazily)
        self.sent_today = 0
        self.sent_total = 0  # since start
        self.capped = 0  # samples held back by max_per_day since start
        self.last: RetrainLast | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[int]] = set()

    # -- taking in ------------------------------------------------------------------------
    def observe(
        self,
        event_type: str,
        data: dict[str, Any],
        context: Any,
        decision: dict[str, Any],
        version: str | None,
    ) -> None:
        """Keep one decision's inputs. Kept even while sharing is off: the ring is small and
        memory only, and turning sharing on should not wait for a new window."""
        if not isinstance(context, dict):
            return  # an older llm agent (a slot's own) sends no context: no usable sample
        if len(self.ring) == self.ring.maxlen and self.ring:
            self.shared.discard(self.ring[0]["id"])
        self.ring.append(
            {
                "id": new_id(),
                "at": str(decision.get("at") or rfc3339()),
                "event_type": _text(event_type),
                "data": clean_data(data),
                "context": clean_context(context),
                "decision": clean_decision(decision),
                "model_version": version,
            }
        )

    # -- alerts -----------------------------------------------------------------------------
    def alert_changed(self, name: str, transition: str, key: str = "", drill: bool = False) -> None:
        """An alert transition (the runtime's listener on the alert engine; sync, on the
        event loop). A firing rule of `[retrain] rules` queues the samples when opted in;
        a fire drill's alert never does (it says nothing about the model's inputs)."""
        if transition != FIRING or name not in self.config.rules or drill:
            return
        if not self.config.share_inputs:
            log.debug("retrain: %s fired; [retrain] share_inputs is off, nothing sent", name)
            return
        task = asyncio.get_running_loop().create_task(self.share(name, key or name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def share(self, alert: str, key: str) -> int:
        """Queue the unsent samples for `alert`; returns how many were queued."""
        async with self._lock:
            return await self._share(alert, key)

    async def _share(self, alert: str, key: str) -> int:
        outbox = self.outbox()
        if outbox is None:
            log.warning("retrain: %s fired but the outbox is not running: nothing sent", alert)
            return 0
        await self._load_day()
        pending = [s for s in self.ring if s["id"] not in self.shared]
        room = max(0, self.config.max_per_day - self.sent_today)
        if len(pending) > room:
            self.capped += len(pending) - room
            log.info(
                "retrain: %s: %d samples held back by [retrain] max_per_day (%d)",
                alert,
                len(pending) - room,
                self.config.max_per_day,
            )
            pending = pending[len(pending) - room :] if room else []  # the newest ones
        if not pending:
            return 0
        fired_at = rfc3339()
        messages = [
            {
                "device_id": self.device_id,
                "alert": alert,
                "alert_key": key,
                "fired_at": fired_at,
                "samples": chunk,
            }
            for chunk in _chunks(pending)
        ]
        try:
            await outbox.enqueue_many([(KIND, m) for m in messages])
        except Exception as exc:  # StoreError / OutboxFull: say so, keep them for next time
            log.warning("retrain: cannot queue %d samples for %s: %s", len(pending), alert, exc)
            return 0
        self.shared.update(s["id"] for s in pending)
        self.sent_today += len(pending)
        self.sent_total += len(pending)
        self.last = RetrainLast(alert=alert, at=fired_at, samples=len(pending))
        await asyncio.to_thread(self._save_day)
        log.info("retrain: %s fired: %d samples queued for the fleet", alert, len(pending))
        return len(pending)

    # -- the day's count ------------------------------------------------------------------
    async def _load_day(self) -> None:
        today = _today(self.clock)
        if self.day is None:
            self.day, self.sent_today = await asyncio.to_thread(self._read_day)
        if self.day != today:
            self.day, self.sent_today = today, 0

    def _read_day(self) -> tuple[str | None, int]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            return str(data["day"]), int(data["sent"])
        except FileNotFoundError:
            return None, 0
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Unreadable: count the day as spent rather than risk sending past the cap.
            log.warning("retrain: %s unreadable (%s): no samples sent today", self.path, exc)
            return _today(self.clock), self.config.max_per_day

    def _save_day(self) -> None:
        body = json.dumps({"day": self.day, "sent": self.sent_today}) + "\n"
        try:
            atomic_write(self.path, body.encode())
        except OSError as exc:
            log.warning("retrain: cannot write %s: %s", self.path, exc)

    # -- reporting and stopping -----------------------------------------------------------
    def section(self) -> RetrainSection:
        """`drift.retrain` in the status."""
        return RetrainSection(
            share_inputs=self.config.share_inputs,
            kept=len(self.ring),
            max_samples=self.config.max_samples,
            sent_today=self.sent_today,
            max_per_day=self.config.max_per_day,
            sent=self.sent_total,
            held_back=self.capped,
            last=self.last,
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await cancel_and_wait(task)


def _chunks(samples: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Samples cut into messages of at most MESSAGE_BYTES of JSON each."""
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for s in samples:
        n = len(json.dumps(s, separators=(",", ":"), ensure_ascii=False).encode()) + 1
        if out[-1] and size + n > MESSAGE_BYTES:
            out.append([])
            size = 0
        out[-1].append(s)
        size += n
    return out
