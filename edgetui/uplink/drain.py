"""Draining the outbox into the connected MQTT client, in one thread that also runs the
client's network loop.

One thread owns the connection (paho's external-loop API: select on its socket, then
`loop_read`, `loop_write`, `loop_misc`): PUBACKs are read, the acknowledged rows recorded in
one transaction, and the freed window slots refilled, with no hand-off between threads on
the hot path (with paho's own network thread beside a drain thread, every PUBACK crossed
threads twice, and the drain ran at a third of a bare paho loop's rate). SQLite and paho
calls block; none of it touches the event loop.

A window slot is taken when a row is published and freed only once its PUBACK arrived AND
its acknowledgement is journaled (`Outbox.record_acked_blocking`, one write), so at any
instant at most `window` rows are sent-but-not-recorded: that is the most a crash can
duplicate. A row is never journaled before its PUBACK; journaled rows are deleted in bulk
(`apply_acked_blocking`, one transaction) every COMPACT_AT rows and whenever nothing is in
flight, and skipped by every refill until then.
"""

from __future__ import annotations

import asyncio
import logging
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from paho.mqtt.enums import MQTTErrorCode

from edgetui.faults import fault_point
from edgetui.models.buffer import OutboxRow
from edgetui.store import Outbox
from edgetui.uplink.client import pending_tls_bytes

log = logging.getLogger("edgetui.uplink")

RATE_WINDOW_S = 10.0
MISC_EVERY_S = 1.0  # keepalive bookkeeping (loop_misc), at least this often
IDLE_WAIT_S = 1.0  # look again now and then when idle (TTL, refused rows, keepalive)
COMPACT_AT = 512  # journaled rows deleted from the table in one go
BOOK_EVERY_S = 0.02  # how often deleted rows are booked into the figures, at most
_NO_PRIO = 1 << 30
_OK = MQTTErrorCode.MQTT_ERR_SUCCESS


def _ignore(*_: Any) -> None:
    return None


class Drainer:
    """Runs the attached client's network loop and moves outbox rows to it; books the
    results on the event loop."""

    def __init__(
        self,
        store: Outbox,
        window: int,
        topic_for: Callable[[str], str],
        on_progress: Callable[[], None],
        on_refused: Callable[[str], None],
        keepalive: float = 30.0,
    ) -> None:
        self.store = store
        self._misc_every = min(MISC_EVERY_S, keepalive / 4)
        self.window = max(1, window)
        self.batch = max(500, 4 * self.window)
        self.topic_for = topic_for
        self.on_progress = on_progress
        self.on_refused = on_refused
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = self._wake_pair()
        # shared with other threads, guarded by _lock:
        self._client: Any = None
        self._on_lost: Callable[[Any], None] | None = None
        self._in_link: Any = None  # the client whose loop the thread is running
        self._dead: Any = None  # the client whose connection failed (until detached)
        self._wind_down: float | None = None  # stopping: no new rows; PUBACKs until then
        self._left_link = threading.Condition(self._lock)
        self._wake_prio = _NO_PRIO  # highest class of rows added since the last look
        self._new_rows = False
        self._signalled = False
        self._stop = False
        self._to_book: list[tuple[int, int]] = []
        self._book_scheduled = False
        # drain-thread state:
        self._mids: dict[int, int] = {}  # paho mid -> seq of rows on the wire
        self._acked: list[tuple[int, Any]] = []  # (seq, failure reason or None)
        self._sent: set[int] = set()  # seqs published, not yet journaled
        self._journaled = 0  # acknowledged rows journaled since the last bulk delete
        self._pending: deque[OutboxRow] = deque()
        self._cursor: tuple[int, int] = (-1, 0)
        self._more = False
        # New rows were announced and not looked for yet: kept until a fetch runs, because
        # a wake-up that finds the window full cannot look now (forgetting it left a row
        # queued until the next wake-up).
        self._look_owed = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rate: deque[tuple[float, int]] = deque()
        self.published = 0
        store.add_listener(self.wake)

    # -- control (event loop) ---------------------------------------------------------
    @staticmethod
    def _wake_pair() -> tuple[socket.socket, socket.socket]:
        r, w = socket.socketpair()
        r.setblocking(False)
        w.setblocking(False)
        return r, w

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        if self._thread is None:
            if self._wake_r.fileno() < 0:  # started again after a stop
                self._wake_r, self._wake_w = self._wake_pair()
            self._stop = False
            self._thread = threading.Thread(target=self._main, name="uplink-drain", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Blocking: end the thread (call it through asyncio.to_thread)."""
        with self._lock:
            self._stop = True
        self._signal()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._wake_r.close()
        self._wake_w.close()

    def attach(self, client: Any, on_lost: Callable[[Any], None]) -> None:
        """Hand over a connected client (its loop not running): from now on only the
        drain thread touches it. `on_lost(rc)` is called on the event loop on a loss."""
        client.on_publish = self._on_publish
        with self._lock:
            self._client = client
            self._on_lost = on_lost
            self._new_rows = True
        self._signal()

    def detach(self, grace: float = 0.0) -> None:
        """Blocking: take the client back (the connection is gone or the uplink stops).
        With `grace`, no new rows are sent and the PUBACKs of those in flight are awaited
        for up to `grace` seconds first. Unacknowledged rows go back to the queue (they
        never left the database) and are sent again on the next connection. Returns once
        the thread no longer uses the client."""
        with self._lock:
            if grace > 0:
                self._wind_down = time.monotonic() + grace
            else:
                self._client = None
        self._signal()
        with self._lock:
            self._left_link.wait_for(lambda: self._in_link is None, timeout=grace + 10)
            self._client = None
            self._wind_down = None

    def wake(self, prio: int | None = None) -> None:
        """New rows were committed (prio: their highest class), or drain now."""
        with self._lock:
            self._new_rows = True
            if prio is not None and prio < self._wake_prio:
                self._wake_prio = prio
        self._signal()

    def _signal(self) -> None:
        with self._lock:
            if self._signalled:
                return  # one byte in the pipe is enough
            self._signalled = True
        try:
            self._wake_w.send(b"\0")
        except OSError:  # closed (stopping) or full: the thread wakes anyway
            pass

    @property
    def inflight(self) -> int:
        return len(self._sent)

    def send_rate(self) -> float:
        """Messages acknowledged per second over the last 10 s."""
        now = time.monotonic()
        while self._rate and self._rate[0][0] < now - RATE_WINDOW_S:
            self._rate.popleft()
        return round(sum(n for _, n in self._rate) / RATE_WINDOW_S, 1)

    # -- the drain thread ---------------------------------------------------------------
    def _main(self) -> None:
        while True:
            with self._lock:
                if self._stop:
                    return
                client, on_lost = self._client, self._on_lost
                live = client is not None and client is not self._dead
                if live:
                    self._in_link = client
            if not live:
                self._wait([self._wake_r], [], IDLE_WAIT_S)
                continue
            try:
                rc = self._link(client)
            except Exception:
                log.exception("uplink: drain loop failed; dropping the connection")
                rc = MQTTErrorCode.MQTT_ERR_UNKNOWN
            if rc is not None:
                self._dead = client
            self._leave(client)
            if rc is not None and on_lost is not None:
                self._post(on_lost, rc)  # the uplink detaches it and reconnects (with backoff)

    def _leave(self, client: Any) -> None:
        """The link loop ended: settle what was acknowledged, forget what was not, and hand
        the client back writing at once again, as paho does on its own."""
        client.on_socket_register_write = None
        try:
            self._settle()
            self._compact()
        except Exception:
            log.exception("uplink: settling acknowledged rows failed")
            self._acked.clear()
        self._sent.clear()
        self._mids.clear()
        self._pending.clear()
        self._cursor = (-1, 0)
        self._more = False
        self._look_owed = False  # the next link starts with a look (attach)
        with self._lock:
            self._in_link = None
            self._left_link.notify_all()

    def _link(self, client: Any) -> Any:
        """Run `client`'s network loop and the drain until it is detached (returns None)
        or the connection fails (returns paho's error code)."""
        sock = client.socket()
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        # publish() then only queues the packet (paho's external-loop contract: "the
        # socket wants writing"); one loop_write sends the whole refill back to back.
        client.on_socket_register_write = _ignore
        next_misc = 0.0
        while True:
            with self._lock:
                if self._stop or self._client is not client:
                    return None
                new_rows, self._new_rows = self._new_rows, False
                wake_prio, self._wake_prio = self._wake_prio, _NO_PRIO
                wind_down = self._wind_down
            if wake_prio < self._ahead():  # a higher class arrived: it goes first
                self._pending.clear()
                self._cursor = (-1, 0)
                new_rows = True
            self._look_owed = self._look_owed or new_rows
            self._settle()
            if wind_down is not None and (not self._sent or time.monotonic() >= wind_down):
                return None  # a clean stop: what was in flight is acknowledged (or late)
            look = self._look_owed or self._more
            rc = self._publish(client, look) if wind_down is None else _OK
            if rc == _OK and client.want_write():
                rc = client.loop_write()
            if rc != _OK:
                return rc
            busy = pending_tls_bytes(sock) or (
                wind_down is None
                and len(self._sent) < self.window
                and (self._pending or self._more or self._look_owed)
            )
            if not busy and not self._sent and self._journaled:
                self._compact()  # nothing in flight: a good moment
            now = time.monotonic()
            timeout = 0.0 if busy else min(IDLE_WAIT_S, max(0.0, next_misc - now))
            if wind_down is not None:
                timeout = min(timeout, max(0.0, wind_down - now))
            writable = [sock] if client.want_write() else []
            readable, _, _ = self._wait([sock, self._wake_r], writable, timeout)
            if sock in readable or pending_tls_bytes(sock):
                rc = client.loop_read()  # PUBACKs land in self._acked via _on_publish
                if rc != _OK:
                    return rc
            if client.want_write():
                rc = client.loop_write()
                if rc != _OK:
                    return rc
            now = time.monotonic()
            if now >= next_misc:
                next_misc = now + self._misc_every
                rc = client.loop_misc()  # keepalive: PINGREQ, and a missing PINGRESP
                if rc != _OK:
                    return rc

    def _wait(self, readable: list[Any], writable: list[Any], timeout: float) -> list[Any]:
        try:
            ready = select.select(readable, writable, [], timeout)
        except (OSError, ValueError):  # a socket closed under us: the caller finds out
            return [[], [], []]
        if self._wake_r in ready[0]:
            # Empty the pipe first, then allow the next byte: the other way round, a
            # signal in between had its byte swallowed and left `_signalled` set on an
            # empty pipe, so every later wake-up waited for the idle timeout.
            try:
                self._wake_r.recv(4096)
            except OSError:
                pass
            with self._lock:
                self._signalled = False
        return ready

    def _on_publish(self, client: Any, userdata: Any, mid: int, rc: Any, props: Any) -> None:
        """paho's on_publish, called from `loop_read` in this thread."""
        seq = self._mids.pop(mid, None)
        if seq is None:
            return  # our `online` status, not a row
        failure = str(rc) if rc is not None and getattr(rc, "is_failure", False) else None
        self._acked.append((seq, failure))

    def _ahead(self) -> int:
        return self._pending[0].prio if self._pending else self._cursor[0]

    def _settle(self) -> None:
        """Journal the acknowledged rows (one write) and free their window slots."""
        if not self._acked:
            return
        acked, self._acked = self._acked, []
        ok = [seq for seq, failure in acked if failure is None]
        refused = [(seq, failure) for seq, failure in acked if failure is not None]
        for seq, failure in refused:
            self._post(self.on_refused, f"broker refused message seq {seq}: {failure}")
        fault_point("uplink.before_ack_write")
        removed = self.store.record_acked_blocking(ok) if ok else []
        fault_point("uplink.after_ack_write")
        self._sent.difference_update(seq for seq, _ in acked)
        self._journaled += len(ok)
        if removed:  # the journal could not be written: deleted at once instead
            self._book(removed)
        if self._journaled >= COMPACT_AT:
            self._compact()
        if refused:
            self._pending.clear()
            self._cursor = (-1, 0)  # refused rows are still queued: pick them up again
            self._more = True

    def _compact(self) -> None:
        """Delete the journaled rows in bulk and book them."""
        if self._journaled:
            fault_point("uplink.before_compact")
            self._book(self.store.apply_acked_blocking())
            self._journaled = 0  # after: a failed delete is tried again

    def _publish(self, client: Any, look: bool) -> Any:
        """Fill the window; returns paho's error code if the connection is gone. `look`:
        read rows after the cursor once the pending ones are out (a wake-up owed a look,
        or the last read was a full batch)."""
        while len(self._sent) < self.window:
            if not self._pending:
                if not look:
                    return _OK
                self._look_owed = False  # this read sees every row committed so far
                rows, last, self._more = self.store.fetch_unsent_blocking(
                    self.batch, self._cursor
                )  # _more: a full batch, more may follow
                if last is None:
                    return _OK
                self._cursor = last
                self._pending.extend(r for r in rows if r.seq not in self._sent)
                continue
            row = self._pending.popleft()
            info = client.publish(self.topic_for(row.kind), row.wire, qos=1)
            if info.rc != _OK:
                # Not connected any more: the row stays queued.
                self._pending.appendleft(row)
                return info.rc
            self._sent.add(row.seq)
            self._mids[info.mid] = row.seq
            self.published += 1
            fault_point("uplink.after_publish")
        return _OK

    # -- back on the event loop -----------------------------------------------------------
    def _book(self, removed: list[tuple[int, int]]) -> None:
        """Hand acknowledged rows to the event loop for the figures: one wake-up per
        BOOK_EVERY_S at most, so the event loop's thread does not compete with this one
        for the interpreter on every acknowledged batch."""
        with self._lock:
            self._to_book += removed
            if self._book_scheduled:
                return
            self._book_scheduled = True
        self._post(self._book_soon)

    def _book_soon(self) -> None:
        assert self._loop is not None
        self._loop.call_later(BOOK_EVERY_S, self._booked)

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn, *args)

    def _booked(self) -> None:
        with self._lock:
            removed, self._to_book = self._to_book, []
            self._book_scheduled = False
        if removed:
            self.store.account_sent(removed)
            self._rate.append((time.monotonic(), len(removed)))
        self.on_progress()
