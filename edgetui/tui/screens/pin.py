"""Kiosk PIN entry: actions on a kiosk screen need the PIN.

The runtime checks it (`kiosk.unlock`: a scrypt hash, backoff after a wrong PIN, lockout
after too many), so the screen only passes the PIN on and shows the answer in words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from edgetui.api import APIError

# pin -> the runtime's answer: {"ok", "reason", "message", "retry_in_s", ...}
PinChecker = Callable[[str], Awaitable[dict[str, Any]]]


class PinScreen(ModalScreen[bool]):
    """Dismisses with True when the runtime accepts the PIN, False on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PinScreen { align: center middle; }
    PinScreen > Vertical {
        width: 44; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    PinScreen #pin-error { color: $error; height: auto; }
    """

    def __init__(self, check: PinChecker, purpose: str) -> None:
        super().__init__()
        self._check = check
        self.purpose = purpose
        self.attempts = 0
        self.last: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"[b]PIN required[/b] to {self.purpose}")
            yield Input(password=True, placeholder="PIN", id="pin-input", max_length=16)
            yield Label("", id="pin-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        pin = event.value
        event.input.value = ""
        event.input.disabled = True  # one try at a time
        try:
            answer = await self._check(pin)
        except APIError as exc:
            answer = {"ok": False, "reason": "unavailable", "message": f"PIN check failed: {exc}"}
        finally:
            event.input.disabled = False
        self.last = answer
        if answer.get("ok"):
            self.dismiss(True)
            return
        if answer.get("reason") in ("wrong", "locked"):
            self.attempts += 1
        self.query_one("#pin-error", Label).update(str(answer.get("message") or "refused"))
        event.input.focus()

    def action_cancel(self) -> None:
        self.dismiss(False)
