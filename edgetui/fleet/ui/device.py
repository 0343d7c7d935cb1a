"""One device: its last state, telemetry history as sparklines (from the fleet store), its
alerts, its command history and its executions in rollouts. Escape goes back to the table."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Sparkline, Static

from edgetui.fleet.columns import BY_NAME
from edgetui.fleet.records import (
    AlertRecord,
    CommandRecord,
    DeviceState,
    TelemetryPoint,
    iso,
)
from edgetui.fleet.rollouts.records import Execution

SERIES = (
    ("cpu_percent", "CPU %"),
    ("inference_p95_ms", "inference p95 ms"),
    ("memory_free_mb", "memory free MB"),
    ("buffer_queued", "buffer backlog"),
)


def _state_text(d: DeviceState, now: float) -> str:
    cell = {c.name: c.text(d, now) for c in BY_NAME.values()}
    return "\n".join(
        [
            f"[b]{d.device_id}[/b]  {cell['type']}  {cell['status']}  "
            f"(status since {iso(d.status_at) or 'n/a'})",
            f"version {cell['release']}  edgetui {d.version or 'n/a'}  slot {cell['slot']}  "
            f"agents {d.agent_status or 'n/a'}",
            f"cpu {cell['cpu']}%  memory {cell['mem']}% used  p50 "
            f"{'n/a' if d.inference_p50_ms is None else f'{d.inference_p50_ms:.1f}'} ms  "
            f"p95 {cell['p95']} ms  backlog {cell['backlog']}",
            f"alerts {cell['alerts']}  last seen {cell['seen']} ago  "
            f"ingested by {d.ingested_by or 'n/a'}",
        ]
    )


def _alerts_text(alerts: list[AlertRecord]) -> str:
    if not alerts:
        return "no alerts"
    colour = {"critical": "red", "warning": "yellow"}
    lines = []
    for a in alerts:
        c = colour.get(a.severity or "", "white") if a.state == "firing" else "dim"
        lines.append(
            f"[{c}]{a.state:<9}{(a.severity or ''):<9}{a.key}[/]  {a.summary or ''}  "
            f"since {iso(a.since) or 'n/a'}"
        )
    return "\n".join(lines)


def _commands_text(commands: list[CommandRecord]) -> str:
    if not commands:
        return "no commands"
    return "\n".join(
        f"{c.command_id}  {c.command or '?':<14}{c.state or '?':<12}{c.detail or ''}  "
        f"{iso(c.updated_at) or ''}"
        for c in commands
    )


def _executions_text(executions: list[Execution]) -> str:
    if not executions:
        return "in no rollout"
    lines = []
    for e in executions:
        rollback = f"  rollback {e.rollback_state}" if e.rollback_state else ""
        lines.append(
            f"{e.rollout_id}  wave {e.wave + 1}  {e.state:<10}{e.reason or '':<28}"
            f"attempt {e.attempt}  {e.command_id or ''}{rollback}"
        )
    return "\n".join(lines)


class DeviceScreen(Screen[None]):
    """The view of one device, from what the store holds when it opens."""

    BINDINGS = [Binding("escape", "app.pop_screen", "back")]

    def __init__(
        self,
        device: DeviceState,
        telemetry: list[TelemetryPoint],
        alerts: list[AlertRecord],
        commands: list[CommandRecord],
        clock: Callable[[], float],
        executions: list[Execution] | None = None,
    ) -> None:
        super().__init__()
        self.device, self.points = device, telemetry
        self.alerts, self.commands, self.clock = alerts, commands, clock
        self.executions = executions or []

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(_state_text(self.device, self.clock()), id="state")
            first = iso(self.points[0].ts) if self.points else None
            yield Label(
                f"[b]telemetry[/b]  {len(self.points)} points since {first}"
                if self.points
                else "[b]telemetry[/b]  none stored"
            )
            for key, title in SERIES:
                values = [getattr(p, key) for p in self.points]
                data = [float(v) for v in values if v is not None]
                last = f"{data[-1]:.1f}" if data else "n/a"
                yield Label(f"{title}  (last {last})", classes="series-title")
                yield Sparkline(data, id=f"spark-{key}")
            yield Label("[b]alerts[/b]")
            yield Static(_alerts_text(self.alerts), id="alerts")
            yield Label("[b]commands[/b]")
            yield Static(_commands_text(self.commands), id="commands")
            yield Label("[b]rollouts[/b]")
            yield Static(_executions_text(self.executions), id="executions")
        yield Footer()
