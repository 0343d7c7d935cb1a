"""OTA panel: the two slots side by side, update state and progress, the last rollback
reason in plain words, and the history; keys Check / Apply / Rollback / Commit."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from edgetui.api import Notification
from edgetui.models import Snapshot
from edgetui.tui.glyphs import bar
from edgetui.tui.panels.base import Panel, PanelAction, hhmmss

STATUS_STYLE = {"good": "bold green", "trial": "bold yellow", "bad": "bold red", "empty": "dim"}
RESULT_STYLE = {"ok": "green", "failed": "red", "interrupted": "yellow"}
HISTORY_ROWS = 4


def _day_time(ts: str | None) -> str:
    return f"{ts[5:10]} {ts[11:16]}" if ts and len(ts) >= 16 else "-"


def _slot_column(name: str, s: dict[str, Any], ota: dict[str, Any]) -> list[Text]:
    marks = [
        m
        for m, on in (
            ("booted", ota.get("booted") == name),
            ("primary", ota.get("primary") == name),
        )
        if on
    ]
    head = Text(f"Slot {name.upper()}", style="bold")
    if marks:
        head.append(f" ({', '.join(marks)})", style="cyan")
    status = str(s.get("status", "?"))
    rows = [head]

    def row(label: str, value: str, style: str = "") -> None:
        t = Text(f"{label:<10}", style="dim")
        t.append(value, style=style)
        rows.append(t)

    attempts = f"  attempt {s.get('boot_attempts', 0)}/{ota.get('max_boot_attempts', '?')}"
    row("status", status + (attempts if status == "trial" else ""), STATUS_STYLE.get(status, ""))
    if s.get("installing"):
        row("installing", str(s["installing"]), "yellow")
    row("version", s.get("version") or "-")
    sha = (s.get("sha256") or "").removeprefix("sha256:")
    row("sha256", sha[:12] if sha else "-")
    row("installed", _day_time(s.get("installed_at")))
    row("activated", _day_time(s.get("activated_at")))
    row("error", s.get("last_error") or "-", "red" if s.get("last_error") else "dim")
    return rows


class OtaPanel(Panel):
    """A/B slots and updates, all from the `ota` section and `ota.progress` notifications."""

    SECTION = "ota"
    KINDS = ("ota.progress",)
    TITLE = "OTA update"
    ACTIONS = (
        PanelAction("u", "check", "OTA check", mutating=False, method="ota.check"),
        PanelAction(
            "i",
            "apply",
            "OTA apply",
            confirm="Install the update into the inactive slot and restart into it?",
            method="ota.apply",
        ),
        PanelAction(
            "b",
            "rollback",
            "OTA rollback",
            confirm="Roll back to the other slot and restart?",
            method="ota.rollback",
        ),
        PanelAction(
            "g",
            "commit",
            "OTA commit",
            confirm="Mark the booted trial slot good?",
            method="ota.commit",
        ),
    )
    DEFAULT_CSS = "OtaPanel { min-height: 14; }"

    _progress: dict[str, Any] | None = None
    _lines = 0

    def show(self, snap: Snapshot) -> None:
        self._last = snap
        ota = self.section(snap) or {}
        if ota.get("progress") is not None:
            self._progress = ota["progress"]
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def on_note(self, note: Notification) -> None:
        self._progress = note.data
        self._draw()

    def _draw(self) -> None:
        if self._last is None:
            return
        ota = self.section(self._last) or {}
        text = self.render_text(ota, self._progress, max(self.size.width - 2, 40))
        lines = text.plain.count("\n") + 1
        # Re-layout only when the height changes: most updates keep it.
        self.update(text, layout=lines != self._lines)
        self._lines = lines

    @staticmethod
    def render_text(ota: dict[str, Any], progress: dict[str, Any] | None, width: int) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        slots = ota.get("slots") or {}
        col = max((width - 3) // 2, 18)
        left = _slot_column("a", slots.get("a", {}), ota)
        right = _slot_column("b", slots.get("b", {}), ota)
        for a, b in zip(left, right, strict=False):
            a = a.copy()
            a.truncate(col, overflow="ellipsis", pad=True)
            out.append_text(a)
            out.append(" │ ", style="dim")
            b = b.copy()
            b.truncate(col, overflow="ellipsis")
            out.append_text(b)
            out.append("\n")
        upd = ota.get("update") or {}
        out.append("Update    ", style="bold")
        avail = upd.get("available")
        if avail:
            out.append(f"{avail['version']} available", style="bold cyan")
            if avail.get("changes"):
                out.append(f": {avail['changes']}")
        else:
            out.append(str(upd.get("message") or upd.get("state") or "not checked"))
        check = ota.get("last_check")
        if check:
            out.append(
                f"  (checked {hhmmss(check.get('time'))}{'' if check.get('ok') else ', failed'})",
                style="dim",
            )
        out.append("\n")
        if progress:
            out.append("Progress  ", style="bold")
            phase = str(progress.get("phase"))
            pct = progress.get("percent")
            if progress.get("active", True) and pct is not None:
                out.append_text(bar(float(pct), 20))
                out.append(f" {float(pct):3.0f}% ")
            style = {"rolled_back": "bold red", "failed": "bold red", "done": "bold green"}
            out.append(f"{phase.replace('_', ' ')}: ", style=style.get(phase, "yellow"))
            out.append(str(progress.get("message", "")))
            out.append("\n")
        health = ota.get("health")
        if health:
            out.append("Health    ", style="bold")
            state = str(health.get("state"))
            out.append(state, style={"passed": "green", "failed": "red"}.get(state, "yellow"))
            for c in health.get("checks") or []:
                mark, st = {True: ("✓", "green"), False: ("✗", "red")}.get(
                    c.get("ok"), ("–", "dim")
                )
                out.append(f"  {mark} {c.get('name')}", style=st)
            out.append("\n")
        validation = ota.get("validation") or {}
        if validation.get("summary"):
            out.append("Validate  ", style="bold")
            after = validation.get("after") or {}
            ok = after.get("golden_ok")
            style = {True: "green", False: "bold red"}.get(ok, "")
            out.append(str(validation["summary"]), style=style)
            before, after_v = validation.get("from_version"), validation.get("to_version")
            out.append(f"  ({before or '-'}→{after_v or '-'})", style="dim")
            out.append("\n")
        out.append("Rollback  ", style="bold")
        reason = ota.get("last_rollback_reason")
        out.append(reason or "none so far", style="red" if reason else "dim")
        out.append("\n")
        out.append("History\n", style="bold")
        history = ota.get("history") or []
        if not history:
            out.append("  no updates yet\n", style="dim")
        for h in history[:HISTORY_ROWS]:
            out.append(f"  {_day_time(h.get('time'))} ", style="dim")
            out.append(f"{h.get('action', '?'):<9}", style="bold")
            out.append(f"{h.get('result', '?'):<11}", style=RESULT_STYLE.get(h.get("result"), ""))
            versions = f"{h.get('from_version') or '-'}→{h.get('to_version') or '-'}"
            out.append(f"{versions:<14} ")
            out.append(str(h.get("reason", "")), style="dim")
            out.append("\n")
        out.rstrip()
        # One terminal line per row: long reasons end in an ellipsis instead of wrapping.
        lines = out.split("\n")
        for line in lines:
            line.truncate(width, overflow="ellipsis")
        return Text("\n", no_wrap=True, overflow="ellipsis").join(lines)

    # -- actions ----------------------------------------------------------------------
    async def _call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        if self.api is None:
            self.app.notify("not connected", severity="warning")
            return None
        return await self.api.call(method, params or {})

    async def do_check(self) -> None:
        offer = await self._call("ota.check")
        if offer is not None:
            self.app.notify(offer.get("message") or "checked", title="OTA check")

    async def do_apply(self) -> None:
        self.app.notify("Downloading and verifying…", title="OTA apply")
        out = await self._call("ota.apply")
        if out is not None:
            self.app.notify(
                f"{out['version']} staged in slot {out['slot']}; restarting into it",
                title="OTA apply",
            )

    async def do_rollback(self) -> None:
        out = await self._call("ota.rollback")
        if out is not None:
            self.app.notify(
                f"Rolling back to {out['version']} (slot {out['slot']})", title="OTA rollback"
            )

    async def do_commit(self) -> None:
        out = await self._call("ota.commit")
        if out is not None:
            self.app.notify(out.get("message") or "committed", title="OTA commit")
