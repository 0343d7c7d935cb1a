"""Kiosk PIN entry: actions on a kiosk screen need the PIN from `[ui] kiosk_pin`."""

from __future__ import annotations

import hmac

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class WrongPin(Message):
    """A wrong PIN was entered (the app reports it to the security monitor)."""

    def __init__(self, attempts: int) -> None:
        super().__init__()
        self.attempts = attempts


class PinScreen(ModalScreen[bool]):
    """Dismisses with True when the right PIN is entered, False on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PinScreen { align: center middle; }
    PinScreen > Vertical {
        width: 44; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    PinScreen #pin-error { color: $error; height: 1; }
    """

    def __init__(self, pin: str, purpose: str) -> None:
        super().__init__()
        self._pin = pin
        self.purpose = purpose
        self.attempts = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"[b]PIN required[/b] to {self.purpose}")
            yield Input(password=True, placeholder="PIN", id="pin-input", max_length=16)
            yield Label("", id="pin-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if hmac.compare_digest(event.value.encode(), self._pin.encode()):
            self.dismiss(True)
            return
        self.attempts += 1
        self.app.post_message(WrongPin(self.attempts))
        event.input.value = ""
        self.query_one("#pin-error", Label).update(f"wrong PIN ({self.attempts})")

    def action_cancel(self) -> None:
        self.dismiss(False)
