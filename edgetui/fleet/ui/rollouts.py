"""The Rollouts view (`o` in the fleet console): every rollout, newest first, in a table
(cursor keys select one), and the selected rollout's progress below it: state, wave k/n,
per-wave counts, failure rate, halt reason, rejection and failure reasons grouped, who holds
its lease, and this console's runner if it runs it.

Keys drive the rollout as `fleet rollout pause|resume|abort|run` do: the runner runs in a
thread worker of the app under the store's lease (`runs.py`), so leaving the view does not
stop it; `s` or quitting the console does. The view is redrawn by the app's one refresh
timer; every store call is made in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from edgetui.fleet.rollouts import (
    TRANSITIONS,
    RolloutSpec,
    create_rollout,
    one_line,
    rollout_status,
    tally,
)
from edgetui.fleet.store import FleetStore
from edgetui.fleet.ui.forms import CreateRolloutScreen
from edgetui.fleet.ui.runs import ConsoleRuns, lease_text
from edgetui.models.vocabulary import RolloutState
from edgetui.widgets.confirm import ConfirmScreen

COLOUR = {
    RolloutState.RUNNING: "green",
    RolloutState.PAUSED: "yellow",
    RolloutState.SUCCEEDED: "green",
    RolloutState.HALTED: "red",
    RolloutState.ABORTED: "red",
    RolloutState.TIMED_OUT: "yellow",
}
# (column key, header) of the rollout table.
COLUMNS = (
    ("id", "rollout"),
    ("state", "state"),
    ("version", "version"),
    ("wave", "wave"),
    ("devices", "devices"),
    ("ok", "ok"),
    ("failed", "failed"),
    ("rejected", "rejected"),
    ("running", "in progress"),
    ("rate", "failure rate"),
    ("runner", "runner"),
)
# Keys that change a rollout: hidden with --readonly.
MUTATING = frozenset({"run", "stop", "pause", "resume", "abort", "create"})


def load_rollouts(store: FleetStore) -> list[dict[str, Any]]:
    """The status documents of every rollout, with the lease's end (blocking: call in a
    thread)."""
    return [
        {**rollout_status(r, store.executions(r.rollout_id)), "lease_until": r.lease_until}
        for r in store.rollouts()
    ]


def row_cells(doc: dict[str, Any], runs: ConsoleRuns) -> tuple[str, ...]:
    """One rollout's table row (console markup)."""
    c = tally(doc["counts"])
    here = runs.active(doc["rollout_id"])
    runner = "[green]this console[/]" if here else escape(doc["runner"] or "") or "[dim]-[/]"
    return (
        doc["rollout_id"],
        f"[{COLOUR.get(doc['state'], 'white')}]{doc['state']}[/]",
        doc["spec"]["version"],
        f"{doc['wave']}/{len(doc['waves'])}",
        str(doc["devices"]),
        str(c.succeeded),
        str(c.failed),
        str(c.rejected),
        str(c.in_progress),
        f"{doc['failure_rate']:.0%} / {doc['spec']['max_failure_rate']:.0%}",
        runner,
    )


def rollout_text(doc: dict[str, Any], now: float) -> str:
    """One rollout's progress as console markup."""
    c = tally(doc["counts"])
    colour = COLOUR.get(doc["state"], "white")
    spec = doc["spec"]
    lines = [
        f"[b]{doc['rollout_id']}[/b]  [{colour}]{doc['state']}[/]  {spec['version']}  "
        f"wave {doc['wave']}/{len(doc['waves'])}  {doc['devices']} devices  "
        f"failure rate {doc['failure_rate']:.0%} (max {spec['max_failure_rate']:.0%})",
        f"  lease: {escape(lease_text(doc['runner'], doc.get('lease_until'), now))}",
        f"  succeeded {c.succeeded}  failed {c.failed}  rejected {c.rejected}  "
        f"in progress {c.in_progress}  pending {c.pending}  "
        f"canceled {c.canceled}  timed out {c.timed_out}",
    ]
    if doc["halt_reason"]:
        lines.append(f"  [red]halted: {escape(doc['halt_reason'])}[/]")
    for w in doc["waves"]:
        wc = tally(w["counts"])
        done = f"done after {w['seconds_to_done']:.0f} s" if w["done_at"] else "[dim]not done[/]"
        lines.append(
            f"  wave {w['wave']} {w['percent']:>4g}%  {w['devices']:>5} devices "
            f"{wc.succeeded:>5} ok {wc.failed:>4} failed {wc.rejected:>4} rejected "
            f"{wc.in_progress:>4} running {wc.pending:>5} pending  {done}"
        )
    for reason, n in sorted(doc["rejected_reasons"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  [yellow]rejected[/] {n} × {escape(reason)}")
    for reason, n in sorted(doc["failed_reasons"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  [red]failed[/] {n} × {escape(reason)}")
    if doc["rollbacks"]:
        rb = ", ".join(f"{n} {s.lower()}" for s, n in sorted(doc["rollbacks"].items()))
        lines.append(f"  rollbacks: {rb}")
    lines.append(
        f"  [dim]waves {', '.join(f'{p:g}' for p in spec['waves'])}%  success threshold "
        f"{spec['success_threshold']:.0%}  min executed {spec['min_executed']}  "
        f"auto-rollback {'on' if spec['auto_rollback'] else 'off'}  "
        f"{escape(spec['manifest_url'])}[/]"
    )
    return "\n".join(lines)


class Console(Protocol):
    """What the rollouts view reads of the console that opens it (the FleetApp)."""

    store: FleetStore
    runs: ConsoleRuns
    clock: Callable[[], float]
    readonly: bool


class RolloutsScreen(Screen[None]):
    """Every rollout in the store and the keys that drive them; `escape` back."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("x", "run", "run here"),
        Binding("s", "stop", "stop runner"),
        Binding("p", "pause", "pause"),
        Binding("r", "resume", "resume"),
        Binding("a", "abort", "abort"),
        Binding("n", "create", "new rollout"),
    ]
    DEFAULT_CSS = """
    RolloutsScreen #rollout-list { height: auto; max-height: 12; }
    RolloutsScreen #rollout-msg { height: 1; padding: 0 1; }
    RolloutsScreen #rollout-run { height: 1; padding: 0 1; }
    RolloutsScreen #rollout-box { height: 1fr; border-top: solid $primary; }
    """

    def __init__(self, console: Console, docs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.console = console
        self.docs = docs
        self.selected: str | None = docs[0]["rollout_id"] if docs else None
        self._ids: list[str] = []
        self._cells: list[tuple[str, ...]] = []
        self._lines = 0  # the detail's height in lines
        self._ready = False  # mounted: the app's tick may come before, or after a pop
        self._keys: tuple[str | None, bool] | None = None  # what run/stop were shown for

    def compose(self) -> ComposeResult:
        yield DataTable(id="rollout-list", cursor_type="row", zebra_stripes=False)
        yield Static("", id="rollout-msg")
        yield Static("", id="rollout-run")
        with VerticalScroll(id="rollout-box"):
            yield Static("", id="rollout-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, header in COLUMNS:
            table.add_column(header, key=key)
        table.focus()
        self._ready = True
        self.redraw()

    # -- drawing -------------------------------------------------------------------------
    async def reload(self) -> None:
        """One tick (called by the app's refresh timer, and after each action)."""
        self.docs = await asyncio.to_thread(load_rollouts, self.console.store)
        self.redraw()

    def redraw(self) -> None:
        if not self._ready or not self.is_attached:  # not mounted yet, or already popped
            return
        table = self.query_one(DataTable)
        rows = [(d["rollout_id"], row_cells(d, self.console.runs)) for d in self.docs]
        ids = [rid for rid, _ in rows]
        if ids != self._ids:  # new or removed rollouts: rebuild, the cursor stays on its row
            keep = self.selected if self.selected in ids else (ids[0] if ids else None)
            table.clear()
            for rid, cells in rows:
                table.add_row(*cells, key=rid)
            self._ids, self.selected = ids, keep
            if keep is not None:
                table.move_cursor(row=ids.index(keep), animate=False)
        else:  # only the cells that changed
            for (rid, cells), old in zip(rows, self._cells, strict=True):
                for (key, _), new, was in zip(COLUMNS, cells, old, strict=True):
                    if new != was:
                        table.update_cell(rid, key, new)
        self._cells = [cells for _, cells in rows]
        self._draw_selected()

    def _doc(self) -> dict[str, Any] | None:
        return next((d for d in self.docs if d["rollout_id"] == self.selected), None)

    def _draw_selected(self) -> None:
        doc = self._doc()
        if doc is None:
            hint = "" if self.console.readonly else "n: a new rollout, or "
            text = f"no rollouts ({hint}edgetui fleet rollout create ...)"
        else:
            text = rollout_text(doc, self.console.clock())
        # A new height needs a layout pass; the same height (most ticks) does not.
        lines = text.count("\n") + 1
        self.query_one("#rollout-detail", Static).update(text, layout=lines != self._lines)
        self._lines = lines
        run = self.console.runs.get(self.selected) if self.selected else None
        self.query_one("#rollout-run", Static).update(run.line() if run else "", layout=False)
        keys = (self.selected, self.console.runs.active(self.selected or ""))
        if keys != self._keys:  # run/stop follow the selected rollout and its runner
            self._keys = keys
            self.refresh_bindings()

    def say(self, text: str, *, error: bool = False) -> None:
        """The last action's outcome, in one line under the table."""
        if not self._ready or not self.is_attached:
            return
        text = escape(text)  # it may quote a store's or a device's words
        self.query_one("#rollout-msg", Static).update(
            f"[red]{text}[/]" if error else text, layout=False
        )

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.selected = event.row_key.value
        if self._ready and self.is_attached:
            self._draw_selected()

    # -- keys ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING and self.console.readonly:
            return False
        if action == "run":
            runs = self.console.runs
            return runs.broker is not None and not runs.active(self.selected or "")
        if action == "stop":
            return self.console.runs.active(self.selected or "")
        return True

    async def _transition(self, rid: str, action: str) -> None:
        to, only_from = TRANSITIONS[action]
        try:
            ok = await asyncio.to_thread(
                self.console.store.set_rollout_state,
                rid,
                to,
                now=self.console.clock(),
                only_from=only_from,
            )
        except Exception as exc:  # the store is away: one line, the console goes on
            self.say(f"{action} {rid}: {one_line(exc)}", error=True)
            return
        if ok:
            self.say(f"rollout {rid}: {to}")
        else:
            state = next((d["state"] for d in self.docs if d["rollout_id"] == rid), "gone")
            self.say(f"rollout {rid} is {state}: cannot {action} it", error=True)
        await self.reload()

    async def action_pause(self) -> None:
        if self.selected:
            await self._transition(self.selected, "pause")

    async def action_resume(self) -> None:
        if self.selected:
            await self._transition(self.selected, "resume")

    @work(exclusive=True, group="confirm")
    async def action_abort(self) -> None:
        rid = self.selected
        if rid is None:
            return
        question = (
            f"Abort rollout [b]{rid}[/b]?\n\nIt ends now (ABORTED): devices not yet sent are "
            "CANCELED. Updates already sent are not undone."
        )
        if await self.app.push_screen_wait(ConfirmScreen(question, tone="error")):
            await self._transition(rid, "abort")
        else:
            self.say(f"rollout {rid}: not aborted")

    async def action_run(self) -> None:
        """Run the selected rollout here, under its lease; refused (one line) when another
        fleet process holds the lease."""
        rid = self.selected
        if rid is None or not self.check_action("run", ()):
            return
        try:
            run = await asyncio.to_thread(self.console.runs.prepare, rid)
        except Exception as exc:
            text = str(exc) if isinstance(exc, RuntimeError) else f"run {rid}: {one_line(exc)}"
            self.say(text, error=True)
            return
        # The app's worker: it outlives this view; `s` or quitting the console stops it.
        self.app.run_worker(
            run.work, name=f"rollout {rid}", group="rollouts", thread=True, exit_on_error=False
        )
        self.say(f"rollout {rid}: running here as {run.runner.owner}")
        await self.reload()

    async def action_stop(self) -> None:
        rid = self.selected
        if rid is None or not self.console.runs.active(rid):
            return
        self.say(f"rollout {rid}: stopping the runner ...")
        ended = await asyncio.to_thread(self.console.runs.stop, rid)
        if ended:
            self.say(f"rollout {rid}: runner stopped, lease released")
        else:
            self.say(f"rollout {rid}: the runner has not stopped yet", error=True)
        await self.reload()

    def action_create(self) -> None:
        def create(spec: RolloutSpec, rollout_id: str) -> str:
            return create_rollout(self.console.store, spec, rollout_id=rollout_id).rollout_id

        self.app.push_screen(CreateRolloutScreen(create), self._created)

    async def _created(self, rid: str | None) -> None:
        if rid:
            self.selected = rid
            self.say(f"rollout {rid} created (RUNNING): x runs it here")
            await self.reload()
