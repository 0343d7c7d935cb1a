"""Draining the outbox into a connected MQTT client with a QoS 1 in-flight window.

The drain runs in its own thread (SQLite reads/deletes and paho's publish are blocking
calls; none of it touches the event loop). A window slot is taken when a row is published
and freed only once its PUBACK arrived AND its delete committed, so at any instant at most
`window` rows are sent-but-not-deleted: that is the most a crash can duplicate. A row is
never deleted before its PUBACK. Deletes are batched (all PUBACKs that arrived meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from paho.mqtt.enums import MQTTErrorCode

from edgetui.faults import fault_point
from edgetui.models.buffer import OutboxRow
from edgetui.store import Outbox

log = logging.getLogger("edgetui.uplink")

RATE_WINDOW_S = 10.0
_SEQ = b',"seq":'
_NO_PRIO = 1 << 30


def seq_of(wire: bytes) -> int | None:
    """The seq of one of our messages (`{"id":"…","seq":N,…}`), else None. A `,"seq":`
    cannot occur inside the JSON-escaped id, so the first match is the field."""
    i = wire.find(_SEQ, 0, 260)
    if i < 0:
        return None
    i += len(_SEQ)
    j = i
    while j < len(wire) and 48 <= wire[j] <= 57:
        j += 1
    return int(wire[i:j]) if j > i else None


class Drainer:
    """Moves rows from the outbox to the attached client; books results on the loop."""

    def __init__(
        self,
        store: Outbox,
        window: int,
        topic_for: Callable[[str], str],
        on_progress: Callable[[], None],
        on_refused: Callable[[str], None],
    ) -> None:
        self.store = store
        self.window = max(1, window)
        self.batch = max(500, 4 * self.window)
        self.topic_for = topic_for
        self.on_progress = on_progress
        self.on_refused = on_refused
        self._cond = threading.Condition()
        # shared with other threads, guarded by _cond:
        self._client: Any = None
        self._epoch = 0  # bumped on attach/detach: acks of an older client are told apart
        self._acked: list[tuple[int, int, Any]] = []  # (epoch, seq, failure reason or None)
        self._wake_prio = _NO_PRIO  # highest class of rows added since the last look
        self._new_rows = False
        self._stop = False
        self._to_book: list[tuple[int, int]] = []
        self._book_scheduled = False
        # drain-thread state:
        self._sent: set[int] = set()  # published, not yet deleted
        self._pending: deque[OutboxRow] = deque()
        self._cursor: tuple[int, int] = (-1, 0)
        self._more = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rate: deque[tuple[float, int]] = deque()
        self.published = 0
        store.add_listener(self.wake)

    # -- control (event loop) ---------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="uplink-drain", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Blocking: end the thread (call it through asyncio.to_thread)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def attach(self, client: Any) -> None:
        with self._cond:
            self._client = client
            self._epoch += 1
            self._new_rows = True
            self._cond.notify_all()

    def detach(self) -> None:
        """The connection is gone: unacknowledged rows go back to the queue (they never
        left the database) and are sent again on the next connection."""
        with self._cond:
            self._client = None
            self._epoch += 1
            self._cond.notify_all()

    def wake(self, prio: int | None = None) -> None:
        """New rows were committed (prio: their highest class), or drain now."""
        with self._cond:
            self._new_rows = True
            if prio is not None:
                self._wake_prio = min(self._wake_prio, prio)
            self._cond.notify_all()

    @property
    def inflight(self) -> int:
        return len(self._sent)

    def send_rate(self) -> float:
        """Messages acknowledged per second over the last 10 s."""
        now = time.monotonic()
        while self._rate and self._rate[0][0] < now - RATE_WINDOW_S:
            self._rate.popleft()
        return round(sum(n for _, n in self._rate) / RATE_WINDOW_S, 1)

    # -- paho's network thread ----------------------------------------------------------
    def on_publish_callback(self) -> Callable[[Any, Any, int, Any, Any], None]:
        """paho's on_publish for the client about to be attached."""
        with self._cond:
            epoch = self._epoch + 1  # attach() comes next

        def on_publish(client: Any, userdata: Any, mid: int, rc: Any, props: Any) -> None:
            # The message is still in paho's table during the callback; its payload names
            # the row, which avoids racing publish() for the mid.
            msg = client._out_messages.get(mid)
            seq = seq_of(bytes(msg.payload)) if msg is not None else None
            if seq is None:
                return  # our `online` status, not a row
            failure = str(rc) if rc is not None and getattr(rc, "is_failure", False) else None
            with self._cond:
                self._acked.append((epoch, seq, failure))
                self._cond.notify_all()

        return on_publish

    # -- the drain thread ---------------------------------------------------------------
    def _main(self) -> None:
        while True:
            with self._cond:
                while not self._stop and not self._work_ready():
                    self._cond.wait(timeout=1.0)
                    if not self._stop and self._client is not None and not self._sent:
                        self._new_rows = True  # look again now and then (TTL, refused rows)
                if self._stop:
                    return
                acked, self._acked = self._acked, []
                epoch, client = self._epoch, self._client
                refetch = self._wake_prio < self._ahead()
                self._wake_prio = _NO_PRIO
                new_rows, self._new_rows = self._new_rows, False
                if client is None:
                    self._sent.clear()
                if client is None or refetch:
                    self._pending.clear()
                    self._cursor = (-1, 0)
                    self._more = False
            try:
                self._settle(acked, epoch)
                if client is not None:
                    self._publish(client, new_rows or refetch or self._more)
            except Exception:
                log.exception("uplink: drain step failed; retrying")
                time.sleep(0.5)

    def _ahead(self) -> int:
        return self._pending[0].prio if self._pending else self._cursor[0]

    def _work_ready(self) -> bool:
        # Acknowledgements are settled as soon as they arrive (batched: all that arrived
        # meanwhile): holding them back to batch more would stop the flow of PUBLISHes,
        # and with a Nagle-ing broker the PUBACKs would then wait for delayed ACKs.
        if self._acked:
            return True
        if self._client is None:
            return bool(self._sent) or bool(self._pending)
        room = len(self._sent) < self.window
        return room and (bool(self._pending) or self._new_rows or self._more)

    def _settle(self, acked: list[tuple[int, int, Any]], epoch: int) -> None:
        if not acked:
            return
        ok = [seq for e, seq, failure in acked if failure is None]
        for _e, seq, failure in acked:
            if failure is not None:
                self._post(self.on_refused, f"broker refused message seq {seq}: {failure}")
        fault_point("uplink.before_delete")
        removed = self.store.delete_acked_blocking(ok) if ok else []
        for e, seq, _ in acked:
            if e == epoch:
                self._sent.discard(seq)
        if any(f is not None for _, _, f in acked):
            self._pending.clear()
            self._cursor = (-1, 0)  # refused rows are still queued: pick them up again
            self._more = True
        self._book(removed)

    def _publish(self, client: Any, look: bool) -> None:
        while len(self._sent) < self.window:
            if not self._pending:
                if not look:
                    return
                rows = self.store.fetch_blocking(self.batch, self._cursor)
                self._more = len(rows) == self.batch  # a full batch: more may follow
                if not rows:
                    return
                self._cursor = (rows[-1].prio, rows[-1].seq)
                self._pending.extend(r for r in rows if r.seq not in self._sent)
                continue
            row = self._pending.popleft()
            self._sent.add(row.seq)
            info = client.publish(self.topic_for(row.kind), row.wire, qos=1)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                # Not connected any more: the row stays queued; the uplink sees the loss.
                self._sent.discard(row.seq)
                self._pending.appendleft(row)
                return
            self.published += 1
            fault_point("uplink.after_publish")

    # -- back on the event loop -----------------------------------------------------------
    def _book(self, removed: list[tuple[int, int]]) -> None:
        """Hand deleted rows to the event loop for the figures, one wake-up at a time."""
        with self._cond:
            self._to_book += removed
            if self._book_scheduled:
                return
            self._book_scheduled = True
        self._post(self._booked)

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn, *args)

    def _booked(self) -> None:
        with self._cond:
            removed, self._to_book = self._to_book, []
            self._book_scheduled = False
        if removed:
            self.store.account_sent(removed)
            self._rate.append((time.monotonic(), len(removed)))
        self.on_progress()
