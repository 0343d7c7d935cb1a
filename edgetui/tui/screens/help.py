"""`?`: every key the dashboard answers to, and what mode it is in."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Lists key bindings gathered from the dashboard (not a hand-kept copy)."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 70; max-width: 100%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, keys: list[tuple[str, str]], notes: list[str]) -> None:
        super().__init__()
        self.keys = keys
        self.notes = notes

    def compose(self) -> ComposeResult:
        table = Table(show_header=True, header_style="bold", box=None, expand=True)
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("Action")
        for key, desc in self.keys:
            table.add_row(key, desc)
        with VerticalScroll():
            yield Static("[b]edgetui — keys[/b]\n")
            yield Static(table)
            if self.notes:
                yield Static("\n" + "\n".join(self.notes), classes="notes")
            yield Static("\n[dim]escape or ? closes this screen[/dim]")
