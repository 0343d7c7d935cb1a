"""The fleet console's form that creates a rollout (its yes/no confirmation is the shared
`edgetui.widgets.confirm`). The form checks nothing itself: it hands its fields to
`spec_from_options`, the same parsing `fleet rollout create` uses, so both refuse the same
options with the same words."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from edgetui.fleet.rollouts import RolloutSpec, SpecError, one_line, spec_from_options

# (field id, label, placeholder or default) in the order of `fleet rollout create`'s options.
FIELDS = (
    ("manifest", "manifest URL", ""),
    ("key", "operator key", ""),
    ("waves", "waves %", "1,10,50,100"),
    ("target", "target", "all"),
    ("success_threshold", "success threshold", "0.95"),
    ("max_failure_rate", "max failure rate", "0.05"),
    ("min_executed", "min executed", "10"),
    ("health_window", "health window", "10m"),
    ("timeout", "timeout", "1h"),
    ("retry_after", "retry after", "60s"),
    ("rollout_id", "id", ""),
)


class CreateRolloutScreen(ModalScreen[str | None]):
    """`n` in the Rollouts view: the options of `fleet rollout create` as a form. `create`
    (blocking, run in a thread) writes the rollout and returns its id; the screen returns
    that id, or None when cancelled. A refused option stays on the form as one red line."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    CreateRolloutScreen { align: center middle; }
    CreateRolloutScreen > Vertical {
        width: 84; height: auto; border: thick $accent; background: $surface; padding: 0 1;
    }
    CreateRolloutScreen Grid {
        grid-size: 2; grid-columns: 20 1fr; grid-rows: 1; grid-gutter: 0 0; height: auto;
        margin: 1 0;
    }
    CreateRolloutScreen Input { height: 1; border: none; padding: 0 1; background: $boost; }
    CreateRolloutScreen Input:focus { border: none; background: $primary 30%; }
    CreateRolloutScreen Checkbox { height: 1; border: none; padding: 0; }
    CreateRolloutScreen #error { color: $error; height: auto; }
    CreateRolloutScreen Horizontal { height: auto; }
    CreateRolloutScreen Button { margin-right: 2; }
    """

    def __init__(
        self, create: Callable[[RolloutSpec, str], str], defaults: dict[str, str] | None = None
    ) -> None:
        super().__init__()
        self.create = create
        self.defaults = defaults or {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]new rollout[/b] (the options of edgetui fleet rollout create)")
            with Grid():
                for fid, label, default in FIELDS:
                    yield Label(label)
                    value = self.defaults.get(fid, "" if fid == "target" else default)
                    yield Input(value=value, placeholder=default, id=f"f-{fid}")
                yield Label("auto-rollback")
                yield Checkbox("roll back every device that took it when halted", id="f-auto")
            yield Static("", id="error")
            with Horizontal():
                yield Button("Create", variant="primary", id="create")
                yield Button("Cancel", id="cancel")

    def value(self, fid: str) -> str:
        return self.query_one(f"#f-{fid}", Input).value.strip()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    async def submit(self) -> None:
        """Parse with the CLI's rules and create, both in a thread (the manifest is read
        over the network, the store written)."""
        fields = {
            "manifest": self.value("manifest"),
            "key": self.value("key"),
            "waves": self.value("waves") or "1,10,50,100",
            "target": self.value("target").split(),
            "success_threshold": self.value("success_threshold") or "0.95",
            "max_failure_rate": self.value("max_failure_rate") or "0.05",
            "min_executed": self.value("min_executed") or "10",
            "health_window": self.value("health_window") or "10m",
            "timeout": self.value("timeout") or "1h",
            "retry_after": self.value("retry_after") or "60s",
            "auto_rollback": self.query_one("#f-auto", Checkbox).value,
        }
        error = self.query_one("#error", Static)
        if not fields["manifest"] or not fields["key"]:
            error.update("the manifest URL and the operator key are required")
            return
        rid = self.value("rollout_id")

        def build() -> str:
            spec = spec_from_options(**fields)
            return self.create(spec, rid)

        try:
            created = await asyncio.to_thread(build)
        except SpecError as exc:
            error.update(str(exc))
            return
        except Exception as exc:  # the store refused (a duplicate id, the store away)
            error.update(one_line(exc))
            return
        self.dismiss(created)
