"""RemoteCommands ("commands"): signed commands from devices/<id>/commands, verified, run one
at a time, each state reported on devices/<id>/commands/result (through the outbox).

The states follow AWS IoT Jobs executions: QUEUED (accepted, waiting its turn),
IN_PROGRESS, then SUCCEEDED, FAILED or TIMED_OUT; a refused command is REJECTED with its
reason. Every refusal is published, at most `REJECT_BURST` a minute: a flood of forged
commands cannot push the device's telemetry out of its outbox (the rest are counted).

The runtime hands in what the part needs: `call` (a runtime method by name), `publish`
(a result message into the outbox), and two hooks for the security monitoring and the
audit trail (`on_refused`, `on_finished`). The part outlives a runtime restart (an
`ota.apply` restarts the runtime under the command that asked for it): only `close()`
stops its worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edgetui.config import RemoteConfig
from edgetui.models.clock import parse_rfc3339, rfc3339
from edgetui.models.remote import CommandRecord, CommandsSection
from edgetui.models.serde import from_dict
from edgetui.models.vocabulary import JobState, Topic, device_topic
from edgetui.remote.commands import (
    Command,
    CommandRefused,
    Verifier,
    parse_command,
    verify_command,
)
from edgetui.remote.replay import ReplayWindow

log = logging.getLogger("edgetui.remote")

REJECT_BURST = 30  # REJECTED results published per minute at most
RESULT_BYTES = 2048  # a method's result is cut to this in the result message
PUBLISH_WAIT_S = 30.0  # how long a result waits for the outbox (a runtime restart)

# (method, params, key id of the command's signer): the runtime calls it as that key.
Call = Callable[[str, dict[str, Any], str], Awaitable[Any]]
Publish = Callable[[dict[str, Any]], Awaitable[None]]
RefusedHook = Callable[[str, str, str | None, str | None], None]
FinishedHook = Callable[[dict[str, Any]], None]


class RemoteCommands:
    """The signed-command part: `receive(payload)` from the uplink; the `commands` section."""

    name = "commands"

    def __init__(
        self,
        config: RemoteConfig,
        state_dir: Path,
        *,
        device_id: str,
        device_type: str,
        call: Call,
        publish: Publish,
        notify: Callable[[str, dict[str, Any]], None] | None = None,
        on_refused: RefusedHook | None = None,
        on_finished: FinishedHook | None = None,
    ) -> None:
        self.config = config
        self.device_id = device_id
        self.device_type = device_type
        self.replay_path = Path(state_dir) / "commands-seen.json"
        self._call = call
        self._publish = publish
        self._notify = notify or (lambda kind, data: None)
        # Hooks for the security monitor (every refusal: code, message, command id, key id)
        # and the audit trail (every command that ran, with its final record).
        self.on_refused = on_refused
        self.on_finished = on_finished
        self.verifier: Verifier | None = None
        self.replay: ReplayWindow | None = None
        self.error: str | None = None
        self.counts: Counter[str] = Counter()
        self.rejected_by_reason: Counter[str] = Counter()
        self.recent: deque[CommandRecord] = deque(maxlen=10)
        self.running: str | None = None
        self._queue: asyncio.Queue[Command] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reject_times: deque[float] = deque()
        self.suppressed = 0

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Load the keys and the replay window; start the worker (once)."""
        self.error = None
        try:
            self.verifier = await asyncio.to_thread(
                Verifier.from_files,
                self.config.trusted_keys,
                self.config.revoked_keys,
                self.device_id,
                self.device_type,
                max_validity_s=self.config.max_validity_s,
                clock_skew_s=self.config.clock_skew_s,
            )
            self.replay = await asyncio.to_thread(
                ReplayWindow, self.replay_path, self.config.replay_window
            )
        except ValueError as exc:
            self.error = str(exc)
            log.error("remote commands: %s; every command is refused", exc)
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=self.config.max_queued)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="remote-commands")

    async def stop(self) -> None:
        """A runtime restart: the worker and its command go on (see the module doc)."""

    async def close(self) -> None:
        """The runtime is going away: stop the worker and what it runs."""
        for task in [self._worker, *self._tasks]:
            with contextlib.suppress(Exception):
                if task is not None:
                    task.cancel()
        for task in [self._worker, *self._tasks]:
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
        self._worker = None

    # -- receiving --------------------------------------------------------------------
    def receive(self, payload: bytes) -> None:
        """A message from devices/<id>/commands (on the event loop)."""
        task = asyncio.get_running_loop().create_task(self.handle(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def handle(self, payload: bytes) -> dict[str, Any]:
        """Verify one command document; queue it or reject it. Returns the record published."""
        self.counts["received"] += 1
        try:
            if self.error or self.verifier is None or self.replay is None:
                # Parsed first, so the refusal can name the command id.
                cid = None
                with contextlib.suppress(CommandRefused):
                    cid = parse_command(payload).id
                raise CommandRefused("unknown_key", self.error or "not started", cid)
            if not self.verifier.trusted:
                raise CommandRefused(
                    "unknown_key", "no trusted keys configured ([remote] trusted_keys)", None
                )
            cmd = verify_command(payload, self.verifier)
            assert self._queue is not None
            if self._queue.full():
                raise CommandRefused(
                    "busy", f"{self._queue.qsize()} commands already queued; send it later", cmd.id
                )
            if cmd.id in self.replay:
                raise CommandRefused(
                    "replayed", f"command id {cmd.id} was already received", cmd.id
                )
            fresh = await asyncio.to_thread(self.replay.record, cmd.id, parse_rfc3339(cmd.expires))
            if not fresh:
                reason = "replayed" if cmd.id in self.replay else "busy"
                raise CommandRefused(
                    reason,
                    f"command id {cmd.id} was already received"
                    if reason == "replayed"
                    else f"replay window full ({self.config.replay_window} ids); send it later",
                    cmd.id,
                )
        except CommandRefused as exc:
            return await self._reject(exc, payload)
        except OSError as exc:  # the replay window could not be written: fail closed
            return await self._reject(
                CommandRefused("busy", f"cannot record the command id: {exc}", None), payload
            )
        self.counts["accepted"] += 1
        self._queue.put_nowait(cmd)
        return await self._report(
            cmd, JobState.QUEUED, message=f"queued ({self._queue.qsize()} waiting)"
        )

    async def _reject(self, exc: CommandRefused, payload: bytes) -> dict[str, Any]:
        key = _key_of(payload)
        self.counts["rejected"] += 1
        self.rejected_by_reason[exc.code] += 1
        log.warning("remote command refused (%s): %s", exc.code, exc)
        if self.on_refused is not None:
            with contextlib.suppress(Exception):
                self.on_refused(exc.code, str(exc), exc.command_id, key)
        record = self._record(
            exc.command_id, None, JobState.REJECTED, key, reason=exc.code, message=str(exc)
        )
        now = time.monotonic()
        while self._reject_times and now - self._reject_times[0] > 60.0:
            self._reject_times.popleft()
        if len(self._reject_times) >= REJECT_BURST:
            self.suppressed += 1  # counted, shown, not published
            return record
        self._reject_times.append(now)
        await self._send(record)
        return record

    # -- running ----------------------------------------------------------------------
    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            cmd = await self._queue.get()
            self.running = cmd.id
            try:
                await self._run(cmd)
            except Exception:
                log.exception("remote command %s failed unexpectedly", cmd.id)
            finally:
                self.running = None

    async def _run(self, cmd: Command) -> None:
        if datetime.now(UTC) >= parse_rfc3339(cmd.expires):
            await self._finish(
                cmd, JobState.TIMED_OUT, message=f"expired at {cmd.expires} while queued"
            )
            return
        await self._report(cmd, JobState.IN_PROGRESS, message=f"running {cmd.command}")
        method, params = cmd.runtime_call()
        try:
            result = await asyncio.wait_for(
                self._call(method, params, cmd.key_id), timeout=self.config.command_timeout_s
            )
        except TimeoutError:
            await self._finish(
                cmd,
                JobState.TIMED_OUT,
                message=f"still running after [remote] command_timeout_s "
                f"({self.config.command_timeout_s:g} s)",
            )
        except Exception as exc:
            code = getattr(exc, "code", None)
            text = str(exc) or type(exc).__name__
            if code == -32601:
                text = f"{cmd.command} is not available on this device ({text})"
            # A method's own slug (an OTA refusal: insufficient_ram, downgrade...) is the
            # reason, so a fleet can group the devices that could not take an update.
            data = getattr(exc, "data", None)
            slug = data.get("code") if isinstance(data, dict) else None
            await self._finish(
                cmd,
                JobState.FAILED,
                message=text[:500],
                reason=slug if isinstance(slug, str) and slug != "error" else None,
            )
        else:
            if isinstance(result, dict) and result.get("ok") is False:
                # The method ran but says it did not do its job (a validation under its bar,
                # a flush that could not empty the buffer): the execution failed.
                await self._finish(
                    cmd, JobState.FAILED, message=_not_done(cmd.command, result), result=result
                )
            else:
                await self._finish(
                    cmd, JobState.SUCCEEDED, message=f"{cmd.command} done", result=result
                )

    async def _finish(self, cmd: Command, state: str, **report: Any) -> None:
        """A terminal state: counted, reported (`_report`'s keywords), handed on."""
        self.counts[state.lower()] += 1
        record = await self._report(cmd, state, **report)
        if self.on_finished is not None:
            with contextlib.suppress(Exception):
                self.on_finished(record)

    # -- reporting --------------------------------------------------------------------
    def _record(
        self,
        command_id: str | None,
        command: str | None,
        state: str,
        key_id: str | None,
        *,
        reason: str | None = None,
        message: str = "",
        result: Any = None,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "command_id": command_id,
            "command": command,
            "state": state,
            "reason": reason,
            "message": message,
            "key_id": key_id,
            "device_id": self.device_id,
            "time": rfc3339(),
        }
        if result is not None:
            text = json.dumps(result, default=str)
            record["result"] = (
                result if len(text) <= RESULT_BYTES else {"truncated": text[:RESULT_BYTES]}
            )
        self.recent.append(from_dict(CommandRecord, record))
        return record

    async def _report(
        self,
        cmd: Command,
        state: str,
        *,
        message: str,
        result: Any = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        record = self._record(
            cmd.id, cmd.command, state, cmd.key_id, message=message, result=result, reason=reason
        )
        log.info("remote command %s (%s): %s - %s", cmd.id, cmd.command, state, message)
        await self._send(record)
        return record

    async def _send(self, record: dict[str, Any]) -> None:
        """Into the outbox for devices/<id>/commands/result; waits out a runtime restart."""
        self._notify("commands.result", record)
        deadline = time.monotonic() + PUBLISH_WAIT_S
        while True:
            try:
                await self._publish(record)
                return
            except Exception as exc:
                if time.monotonic() >= deadline:
                    log.error("remote command result not queued: %s (%s)", exc, record["state"])
                    return
                await asyncio.sleep(0.2)

    def section(self) -> CommandsSection:
        """The `commands` section."""
        v = self.verifier
        return CommandsSection(
            topic=device_topic(self.device_id, Topic.COMMANDS),
            result_topic=device_topic(self.device_id, Topic.COMMAND_RESULT),
            trusted_keys=sorted(v.trusted) if v else [],
            revoked_keys=sorted(v.revoked) if v else [],
            error=self.error,
            received=self.counts["received"],
            accepted=self.counts["accepted"],
            rejected=self.counts["rejected"],
            rejected_by_reason=dict(self.rejected_by_reason),
            rejections_not_published=self.suppressed,
            succeeded=self.counts["succeeded"],
            failed=self.counts["failed"],
            timed_out=self.counts["timed_out"],
            queued=self._queue.qsize() if self._queue else 0,
            running=self.running,
            replay_window=len(self.replay) if self.replay else 0,
            recent=list(self.recent),
        )


def _key_of(payload: bytes) -> str | None:
    """The key id a document claims (for the record), if it has a short string one."""
    with contextlib.suppress(Exception):
        obj = json.loads(payload)
        kid = obj.get("key_id") if isinstance(obj, dict) else None
        if isinstance(kid, str) and len(kid) <= 64:
            return kid
    return None


def _not_done(command: str, result: dict[str, Any]) -> str:
    """`validate did not pass: golden, model` from a result that says ok: false."""
    failed = [
        str(c.get("name"))
        for c in result.get("checks") or []
        if isinstance(c, dict) and c.get("ok") is False
    ]
    why = ", ".join(failed) or str(result.get("last_error") or result.get("error") or "")
    return f"{command} did not pass" + (f": {why[:200]}" if why else "")
