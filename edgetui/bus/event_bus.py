"""The local agent event bus: CloudEvents 1.0 envelopes, fnmatch type subscriptions,
bounded per-subscriber queues (oldest dropped and counted), a recent-history ring, sinks,
and an optional MQTT bridge (`mqtt_bridge.py`, attached by `edgetui.bus.build_bus`).

Publishing is synchronous and never waits for a subscriber: a subscriber that falls behind
loses its own oldest events, nobody else's.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any, Protocol

from edgetui.api import APIError
from edgetui.bus.envelope import EnvelopeError, event_dict, event_size, validate_event
from edgetui.cancel import cancel_and_wait
from edgetui.config import BusConfig
from edgetui.models.event import Event
from edgetui.models.untrusted import clip

log = logging.getLogger(__name__)

INVALID_PARAMS = -32602
_MATCH_CACHE_MAX = 1024

Sink = Callable[[Event], Awaitable[None]]


class SubscriptionClosed(Exception):
    """get() on a closed subscription with nothing left queued."""


def _patterns(types: str | Sequence[str]) -> tuple[str, ...]:
    pats = (types,) if isinstance(types, str) else tuple(types)
    if not pats or not all(isinstance(p, str) and p for p in pats):
        raise ValueError("subscription types must be non-empty strings")
    return pats


class _Matcher:
    """fnmatch over a few patterns, with a small per-type cache (types repeat a lot)."""

    def __init__(self, types: str | Sequence[str]) -> None:
        self.patterns = _patterns(types)
        self._all = "*" in self.patterns
        self._cache: dict[str, bool] = {}

    def __call__(self, type_: str) -> bool:
        if self._all:
            return True
        hit = self._cache.get(type_)
        if hit is None:
            if len(self._cache) >= _MATCH_CACHE_MAX:
                self._cache.clear()
            hit = any(fnmatchcase(type_, p) for p in self.patterns)
            self._cache[type_] = hit
        return hit


class Subscription:
    """A bounded queue of events for one consumer: `await get()` or `async for ev in sub`."""

    def __init__(self, bus: EventBus, name: str, types: str | Sequence[str], size: int) -> None:
        self.name = name
        self.matches = _Matcher(types)
        self.maxsize = max(1, size)
        self.dropped = 0
        self.delivered = 0
        self.closed = False
        self._bus = bus
        self._queue: collections.deque[Event] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    @property
    def patterns(self) -> tuple[str, ...]:
        return self.matches.patterns

    @property
    def queued(self) -> int:
        return len(self._queue)

    def _offer(self, event: Event) -> None:
        if len(self._queue) >= self.maxsize:
            # The consumer fell behind: it loses its own oldest event, nobody waits.
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(event)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> Event | None:
        """The next queued event, or None."""
        if not self._queue:
            return None
        self.delivered += 1
        return self._queue.popleft()

    async def get(self) -> Event:
        """Wait for the next event; raises SubscriptionClosed once closed and drained."""
        while not self._queue:
            if self.closed:
                raise SubscriptionClosed(self.name)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        self.delivered += 1
        return self._queue.popleft()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            try:
                yield await self.get()
            except SubscriptionClosed:
                return

    def close(self) -> None:
        """Stop receiving; a waiting get() ends once the queue is drained."""
        if not self.closed:
            self.closed = True
            self._bus._remove(self)
            self._wake()

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pattern": ",".join(self.patterns),
            "queued": self.queued,
            "delivered": self.delivered,
            "dropped": self.dropped,
        }


class Bridge(Protocol):
    """What the bus needs of a bridge it carries (the MQTT bridge is one)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def section(self) -> dict[str, Any]: ...


class EventBus:
    """The bus service (name "bus"): publish, subscribe, history, sinks, optional bridge."""

    name = "bus"

    def __init__(
        self,
        config: BusConfig,
        device_id: str,
        notify: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.config = config
        self.device_id = device_id
        self._notify = notify
        self._subs: list[Subscription] = []
        # The history is bounded in count and in bytes; each entry keeps its size.
        self._history: collections.deque[tuple[Event, int]] = collections.deque()
        self._history_bytes = 0
        self._history_limits = (max(0, config.history_size), config.history_max_bytes)
        self._sinks: list[tuple[Sink, Subscription]] = []
        self._sink_tasks: list[asyncio.Task[None]] = []
        self._names = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self.published = 0
        self.rejected = 0
        self.sink_errors = 0
        self._gone_delivered = 0  # from subscriptions already closed
        self._gone_dropped = 0
        self.bridge: Bridge | None = None  # wired by edgetui.bus.build_bus
        self._started = False

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._started = True
        for sink, sub in self._sinks:
            self._sink_tasks.append(asyncio.create_task(self._run_sink(sink, sub)))
        if self.bridge is not None:
            await self.bridge.start()

    async def stop(self) -> None:
        self._started = False
        if self.bridge is not None:
            await self.bridge.stop()
        await cancel_and_wait(*self._sink_tasks)
        self._sink_tasks.clear()
        for sub in list(self._subs):
            sub.close()

    # -- publishing -------------------------------------------------------------------
    def source_for(self, agent: str) -> str:
        """The CloudEvents source of a local agent: edgetui://<device>/<agent>."""
        return f"edgetui://{self.device_id}/{agent}"

    def publish(self, type: str, data: dict[str, Any] | None = None, *, source: str) -> Event:
        """Publish a new event (synchronous, never blocks); raises EnvelopeError if invalid."""
        event = Event(type=type, source=source, data={} if data is None else data)
        self.publish_event(event)
        return event

    def publish_event(self, event: Event) -> None:
        """Validate and fan out an event to history, subscribers, sinks and notify."""
        try:
            validate_event(event)
            size = event_size(event)
            if size > self.config.max_event_bytes:
                raise EnvelopeError(
                    "too_large",
                    f"event {clip(event.type)} is {size} bytes, above the bus limit of "
                    f"{self.config.max_event_bytes} ([bus] max_event_bytes)",
                )
        except EnvelopeError:
            self.rejected += 1
            raise
        if self._thread is not None and threading.get_ident() != self._thread:
            # Called from another thread (a C callback, a worker): hop onto the loop.
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._fan_out, event, size)
            return
        self._fan_out(event, size)

    def _fan_out(self, event: Event, size: int) -> None:
        self.published += 1
        # The history: the oldest go past history_size events or history_max_bytes bytes.
        history = self._history
        history.append((event, size))
        total = self._history_bytes + size
        limit_n, limit_b = self._history_limits
        while len(history) > limit_n or total > limit_b:
            total -= history.popleft()[1]
            if not history:
                break
        self._history_bytes = total
        for sub in self._subs:
            if sub.matches(event.type):
                sub._offer(event)
        if self._notify is not None:
            try:
                self._notify("event", event_dict(event))
            except Exception:
                log.exception("bus notify failed")

    # -- subscribing ------------------------------------------------------------------
    def subscribe(
        self,
        types: str | Sequence[str] = "*",
        *,
        name: str,
        queue_size: int | None = None,
    ) -> Subscription:
        """A new subscription to event types matching the fnmatch pattern(s)."""
        size = self.config.queue_size if queue_size is None else queue_size
        sub = Subscription(self, name, types, size)
        self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._gone_delivered += sub.delivered
            self._gone_dropped += sub.dropped

    def history(self, limit: int | None = None, types: str | Sequence[str] = "*") -> list[Event]:
        """Recent events matching `types`, oldest first, at most `limit` of them."""
        match = _Matcher(types)
        events = [ev for ev, _ in self._history if match(ev.type)]
        if limit is not None:
            events = events[-limit:] if limit > 0 else []
        return events

    def add_sink(self, types: Sequence[str], sink: Sink, *, name: str | None = None) -> None:
        """Feed matching events to `sink` (e.g. the outbox) from a bounded queue of its own;
        no types, no events (`[bus] outbox_types = []` sends none uplink)."""
        if not types:
            return
        sub = self.subscribe(list(types), name=name or f"sink-{next(self._names)}")
        self._sinks.append((sink, sub))
        if self._started:
            self._sink_tasks.append(asyncio.create_task(self._run_sink(sink, sub)))

    async def _run_sink(self, sink: Sink, sub: Subscription) -> None:
        async for event in sub:
            try:
                await sink(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # e.g. the outbox is full: the bus keeps flowing, the failure is counted.
                self.sink_errors += 1
                if self.sink_errors <= 10 or self.sink_errors % 100 == 0:
                    log.warning(
                        "bus sink %s failed (%d so far): %s", sub.name, self.sink_errors, exc
                    )

    # -- reporting --------------------------------------------------------------------
    @property
    def delivered(self) -> int:
        return self._gone_delivered + sum(s.delivered for s in self._subs)

    @property
    def dropped(self) -> int:
        return self._gone_dropped + sum(s.dropped for s in self._subs)

    def section(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "delivered": self.delivered,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "sink_errors": self.sink_errors,
            "history": len(self._history),
            "history_size": self.config.history_size,
            "history_bytes": self._history_bytes,
            "history_max_bytes": self.config.history_max_bytes,
            "max_event_bytes": self.config.max_event_bytes,
            "queue_size": self.config.queue_size,
            "subscribers": [s.stats() for s in self._subs],
            "bridge": self.bridge.section() if self.bridge is not None else {"state": "disabled"},
        }

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {"bus.publish": self._m_publish, "bus.history": self._m_history}

    async def _m_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        type_ = params.get("type")
        data = params.get("data")
        source = params.get("source") or self.source_for("cli")
        if not isinstance(type_, str) or not type_:
            raise APIError("bus.publish: 'type' must be a non-empty string", INVALID_PARAMS)
        if data is not None and not isinstance(data, dict):
            raise APIError("bus.publish: 'data' must be a JSON object", INVALID_PARAMS)
        if not isinstance(source, str):
            raise APIError("bus.publish: 'source' must be a string", INVALID_PARAMS)
        try:
            event = self.publish(type_, data, source=source)
        except EnvelopeError as exc:
            raise APIError(f"bus.publish: {exc}", INVALID_PARAMS) from None
        return event_dict(event)

    async def _m_history(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        limit = params.get("limit")
        types = params.get("type") or "*"
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise APIError("bus.history: 'limit' must be an integer", INVALID_PARAMS)
        if not isinstance(types, str | list):
            raise APIError("bus.history: 'type' must be a pattern string", INVALID_PARAMS)
        try:
            return [event_dict(ev) for ev in self.history(limit, types)]
        except ValueError as exc:
            raise APIError(f"bus.history: {exc}", INVALID_PARAMS) from None
