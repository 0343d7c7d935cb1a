"""The fleet console: a k9s-like table of every device heard from, fed by the fleet store.

Each refresh tick reads only the rows the store changed since the last one (an index on
`updated_at`), merges them, and re-sorts and re-filters once; the table renders only the
visible rows. Messages are never drawn one by one: the ingest batches them, the tick
coalesces the batches.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from edgetui.fleet.columns import COLUMNS, sort_devices
from edgetui.fleet.filter import DeviceFilter, FilterError
from edgetui.fleet.mqtt import MqttAuth, process_name
from edgetui.fleet.records import DeviceState
from edgetui.fleet.rollouts import RolloutRunner
from edgetui.fleet.store import FleetStore
from edgetui.fleet.ui.device import DeviceScreen
from edgetui.fleet.ui.rollouts import RolloutsScreen, load_rollouts
from edgetui.fleet.ui.runs import ConsoleRuns
from edgetui.fleet.ui.table import DeviceTable
from edgetui.models.broker import BrokerAddress
from edgetui.models.vocabulary import DeviceStatus

# Rows written by another fleet process (or committed just after a read) can carry an
# `updated_at` slightly older than the newest one seen: read back this far every tick.
OVERLAP_S = 5.0


def _counts(devices: Iterable[DeviceState]) -> tuple[int, int, int, int]:
    """(online, offline, critical alerts, warning alerts) over the fleet, in one pass."""
    online = offline = crit = warn = 0
    for d in devices:
        online += d.status == DeviceStatus.ONLINE
        offline += d.status == DeviceStatus.OFFLINE
        crit += d.alerts_critical
        warn += d.alerts_warning
    return online, offline, crit, warn


class FleetApp(App[None]):
    """`edgetui fleet`: the device table, `/` to filter, `s`/`r` to sort, enter for a device,
    `o` for the rollouts (which it can also run: with a `broker`, not `readonly`)."""

    TITLE = "edgetui fleet"
    CSS = """
    #summary { height: 1; background: $boost; padding: 0 1; }
    #colhead { height: 1; text-style: bold; padding: 0 0 0 0; }
    DeviceTable { height: 1fr; }
    #filter { dock: bottom; display: none; }
    #filter.open { display: block; }
    .series-title { margin-top: 1; }
    Sparkline { height: 2; }
    """
    # The table's own keys (filter, sort) are bound on the table, so the device view's footer
    # does not offer them.
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("o", "rollouts", "rollouts"),
        Binding("escape", "clear_filter", "clear filter", show=False),
    ]

    def __init__(
        self,
        store: FleetStore,
        *,
        clock: Callable[[], float] = time.time,
        refresh_s: float = 1.0,
        ingest_stats: Callable[[], Any] | None = None,
        where: str = "",
        broker: BrokerAddress | None = None,
        readonly: bool = False,
        runner_owner: str = "",
        runner_tick_s: float = 1.0,
        lease_s: float = 15.0,
        runner_clock: Callable[[], float] = time.time,
        auth: MqttAuth | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.clock = clock
        self.refresh_s = refresh_s
        self.ingest_stats = ingest_stats
        self.where = where or store.where
        self.devices: dict[str, DeviceState] = {}
        self.sort_index = 0
        self.reverse = False
        self.filter = DeviceFilter.parse("")
        self._since: float | None = None
        self._dirty = True
        self._counts = (0, 0, 0, 0)
        self.ticks = 0
        self.readonly = readonly
        # Rollouts run from this console (needs the broker: the runner publishes commands).
        new_runner = partial(
            RolloutRunner,
            store,
            broker,
            owner=runner_owner or f"console-{process_name()}",
            tick_s=runner_tick_s,
            lease_s=lease_s,
            clock=runner_clock,
            auth=auth,
        )
        self.runs = ConsoleRuns(store, broker, new_runner)

    def compose(self) -> ComposeResult:
        yield Static("", id="summary")
        yield Static("", id="colhead")
        yield DeviceTable(id="devices")
        yield Input(placeholder="filter: type=camera cpu>80 status=offline ...", id="filter")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one(DeviceTable).focus()
        await self.reload()
        self.set_interval(self.refresh_s, self.reload)

    # -- data ----------------------------------------------------------------------------
    async def reload(self) -> None:
        """One tick: read what changed, merge, and redraw once."""
        self.ticks += 1
        changed = await asyncio.to_thread(self.store.devices, changed_since=self._since)
        for d in changed:
            self.devices[d.device_id] = d
        stamps = [d.updated_at for d in changed if d.updated_at is not None]
        if stamps:
            self._since = max(max(stamps) - OVERLAP_S, self._since or 0.0)
        self._dirty = self._dirty or bool(changed)
        try:
            self.redraw()
            # The one refresh timer also drives the Rollouts view while it is open (also
            # under its confirmation or form).
            view = next((s for s in self.screen_stack if isinstance(s, RolloutsScreen)), None)
            if view is not None:
                await view.reload()
        except NoMatches:
            # A tick that was reading the store while the console closed: its widgets are
            # gone, there is nothing left to draw.
            return

    def redraw(self, changed: bool = False) -> None:
        """Filter and sort (only when something changed, or the order depends on time);
        `changed`: as if something had (a benchmark timing the whole redraw)."""
        self._dirty = self._dirty or changed
        now = self.clock()
        table = self.query_one(DeviceTable)
        col = COLUMNS[self.sort_index]
        if self._dirty or col.name == "seen":
            if self.filter.tests:
                rows = [d for d in self.devices.values() if self.filter.matches(d, now)]
            else:
                rows = list(self.devices.values())
            table.set_rows(sort_devices(rows, col.name, now, reverse=self.reverse), now)
            if self._dirty:
                self._counts = _counts(self.devices.values())
            self._dirty = False
        else:
            table.now = now
            table.refresh()
        self._draw_heads(len(table.rows))

    def paint_now(self) -> None:
        """Composite the whole screen and hand it to the driver at once, synchronously (a
        benchmark times the paint; Textual has no public call for it, so it stays here)."""
        screen = self.screen
        self._display(screen, screen._compositor.render_update(full=True))

    def _draw_heads(self, shown: int) -> None:
        online, offline, crit, warn = self._counts
        text = (
            f"[b]{len(self.devices)}[/b] devices  [green]{online} online[/]  "
            f"[dim]{offline} offline[/]  [red]{crit} critical[/]  [yellow]{warn} warning[/]"
            f"  │ showing {shown}"
        )
        if self.filter.text:
            text += f"  filter [b]{self.filter.text}[/b]"
        here = sum(run.active for run in self.runs.runs.values())
        if here:  # the runners outlive the Rollouts view: say so on every screen's tick
            text += f"  │ [green]running {here} rollout{'s' if here > 1 else ''} here[/] (o)"
        stats = self.ingest_stats() if self.ingest_stats else None
        if stats is not None:
            link = "connected" if stats.connected else "[red]not connected[/]"
            text += f"  │ ingest {link}, {stats.written} msgs"
            if stats.spool_messages:  # the store refuses: how much waits on local disk
                text += f", [yellow]{stats.spool_messages} spooled[/]"
            if stats.dropped:
                text += f", [red]{stats.dropped} dropped[/]"
            if stats.last_error:
                text += f"  [red]{stats.last_error}[/]"
        self.query_one("#summary", Static).update(text, layout=False)
        heads = []
        for i, c in enumerate(COLUMNS):
            h = c.header + (("↓" if self.reverse else "↑") if i == self.sort_index else "")
            heads.append(h.rjust(c.width) if c.right else h.ljust(c.width))
        self.query_one("#colhead", Static).update(" ".join(heads), layout=False)

    # -- actions -------------------------------------------------------------------------
    def action_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(COLUMNS)
        self._dirty = True
        self.redraw()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self._dirty = True
        self.redraw()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("open")
        box.value = self.filter.text
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("open")
        self.filter = DeviceFilter.parse("")
        self._dirty = True
        self.query_one(DeviceTable).focus()
        self.redraw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.filter = DeviceFilter.parse(event.value)
        except FilterError as exc:
            self.notify(str(exc), severity="error")
            return
        event.input.remove_class("open")
        self._dirty = True
        self.query_one(DeviceTable).focus()
        self.redraw()

    async def action_rollouts(self) -> None:
        if isinstance(self.screen, RolloutsScreen):
            return
        docs = await asyncio.to_thread(load_rollouts, self.store)
        await self.push_screen(RolloutsScreen(self, docs))

    async def action_quit(self) -> None:
        """Stop this console's rollout runners first (each releases its lease), then quit."""
        if any(run.active for run in self.runs.runs.values()):
            self.notify("stopping the rollout runners ...")
            await asyncio.to_thread(self.runs.stop_all)
        self.exit()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A rollout runner of this console ended: say how, wherever the operator is."""
        worker = event.worker
        if worker.group != "rollouts" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
        ):
            return
        run = self.runs.get(worker.name.removeprefix("rollout "))
        if run is None:
            return
        if run.error or worker.error is not None:
            why = run.error or str(worker.error)
            self.notify(f"rollout {run.rollout_id}: runner failed: {why}", severity="error")
        elif not run.stop.is_set():
            self.notify(f"rollout {run.rollout_id}: runner finished, {run.state or 'gone'}")

    def on_unmount(self) -> None:
        # Any other way out (ctrl+c, an error): tell the runners to stop; `run_console`
        # waits for them once the app is gone.
        self.runs.signal_stop()

    async def on_device_table_opened(self, event: DeviceTable.Opened) -> None:
        dev_id = event.device_id

        def load() -> tuple[Any, ...]:
            s = self.store
            return (
                s.device(dev_id),
                s.telemetry(dev_id),
                s.alerts(dev_id),
                s.commands(dev_id),
                s.device_executions(dev_id),  # indexed by device: cheap
            )

        device, points, alerts, commands, execs = await asyncio.to_thread(load)
        if device is not None:
            await self.push_screen(
                DeviceScreen(device, points, alerts, commands, self.clock, execs)
            )
