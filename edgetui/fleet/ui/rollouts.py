"""The Rollouts view (`o` in the fleet console): every rollout, newest first, with its state,
waves, counts by execution state, failure rate, halt reason and grouped rejection reasons,
read from the fleet store when the view opens and on every refresh tick."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from edgetui.fleet.rollouts.status import rollout_status
from edgetui.fleet.store import FleetStore

COLOUR = {
    "RUNNING": "green",
    "PAUSED": "yellow",
    "SUCCEEDED": "green",
    "HALTED": "red",
    "ABORTED": "red",
    "TIMED_OUT": "yellow",
}


def load_rollouts(store: FleetStore) -> list[dict[str, Any]]:
    """The status documents of every rollout (blocking: call in a thread)."""
    return [rollout_status(r, store.executions(r.rollout_id)) for r in store.rollouts()]


def rollout_text(doc: dict[str, Any]) -> str:
    """One rollout as console markup."""
    c = doc["counts"]
    colour = COLOUR.get(doc["state"], "white")
    lines = [
        f"[b]{doc['rollout_id']}[/b]  [{colour}]{doc['state']}[/]  {doc['spec']['version']}  "
        f"wave {doc['wave']}/{len(doc['waves'])}  {doc['devices']} devices  "
        f"failure rate {doc['failure_rate']:.0%} (max {doc['spec']['max_failure_rate']:.0%})",
        f"  succeeded {c['SUCCEEDED']}  failed {c['FAILED']}  rejected {c['REJECTED']}  "
        f"in progress {c['SENT'] + c['INSTALLED']}  pending {c['PENDING']}  "
        f"canceled {c['CANCELED']}  timed out {c['TIMED_OUT']}",
    ]
    if doc["halt_reason"]:
        lines.append(f"  [red]halted: {doc['halt_reason']}[/]")
    for w in doc["waves"]:
        wc = w["counts"]
        done = f"done after {w['seconds_to_done']:.0f} s" if w["done_at"] else "[dim]not done[/]"
        lines.append(
            f"  wave {w['wave']} {w['percent']:>4g}%  {w['devices']:>5} devices "
            f"{wc['SUCCEEDED']:>5} ok {wc['FAILED']:>4} failed {wc['REJECTED']:>4} rejected "
            f"{wc['SENT'] + wc['INSTALLED']:>4} running {wc['PENDING']:>5} pending  {done}"
        )
    for reason, n in sorted(doc["rejected_reasons"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  [yellow]rejected[/] {n} × {reason}")
    for reason, n in sorted(doc["failed_reasons"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  [red]failed[/] {n} × {reason}")
    if doc["rollbacks"]:
        rb = ", ".join(f"{n} {s.lower()}" for s, n in sorted(doc["rollbacks"].items()))
        lines.append(f"  rollbacks: {rb}")
    return "\n".join(lines)


class RolloutsScreen(Screen[None]):
    """Every rollout in the store; `escape` back to the device table."""

    BINDINGS = [Binding("escape", "app.pop_screen", "back")]

    def __init__(self, store: FleetStore, docs: list[dict[str, Any]], refresh_s: float) -> None:
        super().__init__()
        self.store = store
        self.docs = docs
        self.refresh_s = refresh_s

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._text(), id="rollouts")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.refresh_s, self.reload)

    def _text(self) -> str:
        if not self.docs:
            return "no rollouts (edgetui fleet rollout create ...)"
        return "\n\n".join(rollout_text(d) for d in self.docs)

    async def reload(self) -> None:
        self.docs = await asyncio.to_thread(load_rollouts, self.store)
        self.query_one("#rollouts", Static).update(self._text())
