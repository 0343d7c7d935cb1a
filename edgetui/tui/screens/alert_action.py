"""Pick an alert to acknowledge or silence (and, to silence, for how long and why)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from edgetui.models.alerts import AlertItem
from edgetui.units import parse_duration


class AlertActionScreen(ModalScreen[dict[str, Any] | None]):
    """Dismisses with {"name"} (ack) or {"name", "for_s", "comment"} (silence); None on
    escape. `alerts` are rows of the `alerts` section, in display order."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    AlertActionScreen { align: center middle; }
    AlertActionScreen > Vertical {
        width: 64; max-width: 100%; height: auto; border: thick $warning;
        background: $surface; padding: 1 2;
    }
    AlertActionScreen OptionList { height: auto; max-height: 8; }
    AlertActionScreen #alert-error { color: $error; height: 1; }
    """

    def __init__(self, alerts: list[AlertItem], *, silence: bool) -> None:
        super().__init__()
        self.alerts = alerts
        self.silence = silence
        self.choice: str | None = alerts[0].name if alerts else None

    def compose(self) -> ComposeResult:
        verb = "Silence" if self.silence else "Acknowledge"
        with Vertical():
            yield Label(f"[b]{verb}[/b] which alert? (enter picks, escape cancels)")
            yield OptionList(
                *[Option(f"{a.name}  {a.severity} {a.state}", a.name) for a in self.alerts],
                id="alert-list",
            )
            if self.silence:
                yield Label("for (e.g. 30m, 1h, 1d):")
                yield Input(value="1h", id="alert-for")
                yield Label("comment:")
                yield Input(placeholder="why (optional)", id="alert-comment")
            yield Label("", id="alert-error")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.choice = event.option.id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.choice = event.option.id
        if self.silence:
            self.query_one("#alert-for", Input).focus()
        else:
            self.dismiss({"name": self.choice})

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "alert-for":
            self.query_one("#alert-comment", Input).focus()
            return
        self._finish()

    def _finish(self) -> None:
        error = self.query_one("#alert-error", Label)
        if self.choice is None:
            error.update("no alert to silence")
            return
        try:
            # The CLI's grammar (`alerts silence --for`: 2w works in both), but a bare
            # number is refused: in a form, "10" is more likely a slip than 10 s.
            for_s = parse_duration(self.query_one("#alert-for", Input).value)
        except ValueError as exc:
            error.update(str(exc))
            self.query_one("#alert-for", Input).focus()
            return
        comment = self.query_one("#alert-comment", Input).value.strip()
        self.dismiss({"name": self.choice, "for_s": for_s, "comment": comment})

    def action_cancel(self) -> None:
        self.dismiss(None)
