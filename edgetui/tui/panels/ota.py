"""OTA panel: the two slots side by side, update state and progress, the last rollback
reason in plain words, and the history; keys Check / Apply / Rollback / Commit."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from edgetui.api import Notification
from edgetui.models import Snapshot
from edgetui.models.ota import HistoryEntry, SlotStatus
from edgetui.models.ota_section import HealthRun, OtaSection, Progress, SlotRow, UpdateState
from edgetui.models.serde import convert
from edgetui.tui.glyphs import bar
from edgetui.tui.panels.base import Panel, PanelAction, hhmmss

STATUS_STYLE = {"good": "bold green", "trial": "bold yellow", "bad": "bold red", "empty": "dim"}
RESULT_STYLE = {"ok": "green", "failed": "red", "interrupted": "yellow"}
PHASE_STYLE = {"rolled_back": "bold red", "failed": "bold red", "done": "bold green"}
HEALTH_STYLE = {"passed": "green", "failed": "red"}
CHECK_MARK = {True: ("✓", "green"), False: ("✗", "red")}
HISTORY_ROWS = 4


def _day_time(ts: str | None) -> str:
    return f"{ts[5:10]} {ts[11:16]}" if ts and len(ts) >= 16 else "-"


def _slot_column(name: str, s: SlotRow | None, ota: OtaSection) -> list[Text]:
    marks = [
        m for m, on in (("booted", ota.booted == name), ("primary", ota.primary == name)) if on
    ]
    head = Text(f"Slot {name.upper()}", style="bold")
    if marks:
        head.append(f" ({', '.join(marks)})", style="cyan")
    s = s or SlotRow(name)
    rows = [head]

    def row(label: str, value: str, style: str = "") -> None:
        t = Text(f"{label:<10}", style="dim")
        t.append(value, style=style)
        rows.append(t)

    attempts = f"  attempt {s.boot_attempts}/{ota.max_boot_attempts}"
    trial = s.status == SlotStatus.TRIAL
    row("status", s.status + (attempts if trial else ""), STATUS_STYLE.get(s.status, ""))
    if s.installing:
        row("installing", s.installing, "yellow")
    row("version", s.version or "-")
    sha = (s.sha256 or "").removeprefix("sha256:")
    row("sha256", sha[:12] if sha else "-")
    row("installed", _day_time(s.installed_at))
    row("activated", _day_time(s.activated_at))
    row("error", s.last_error or "-", "red" if s.last_error else "dim")
    return rows


def _slots(out: Text, ota: OtaSection, width: int) -> None:
    """Both slots side by side, one column each."""
    col = max((width - 3) // 2, 18)
    left = _slot_column("a", ota.slot("a"), ota)
    right = _slot_column("b", ota.slot("b"), ota)
    for a, b in zip(left, right, strict=False):
        a = a.copy()
        a.truncate(col, overflow="ellipsis", pad=True)
        out.append_text(a)
        out.append(" │ ", style="dim")
        b = b.copy()
        b.truncate(col, overflow="ellipsis")
        out.append_text(b)
        out.append("\n")


def _update(out: Text, ota: OtaSection) -> None:
    """The offer (or the last word about it) and when the manifest was read."""
    upd = ota.update
    out.append("Update    ", style="bold")
    if upd.available:
        out.append(f"{upd.available.version} available", style="bold cyan")
        if upd.available.changes:
            out.append(f": {upd.available.changes}")
    else:
        out.append(upd.message or ("not checked" if upd.state == UpdateState.IDLE else upd.state))
    check = ota.last_check
    if check:
        failed = "" if check.ok else ", failed"
        out.append(f"  (checked {hhmmss(check.time)}{failed})", style="dim")
    out.append("\n")


def _progress(out: Text, progress: Progress) -> None:
    out.append("Progress  ", style="bold")
    if progress.active and progress.percent is not None:
        out.append_text(bar(float(progress.percent), 20))
        out.append(f" {float(progress.percent):3.0f}% ")
    style = PHASE_STYLE.get(progress.phase, "yellow")
    out.append(f"{progress.phase.replace('_', ' ')}: ", style=style)
    out.append(progress.message)
    out.append("\n")


def _health(out: Text, health: HealthRun) -> None:
    out.append("Health    ", style="bold")
    out.append(health.state, style=HEALTH_STYLE.get(health.state, "yellow"))
    for c in health.checks:
        mark, style = CHECK_MARK.get(c.ok, ("–", "dim"))
        out.append(f"  {mark} {c.name}", style=style)
    out.append("\n")


def _validation(out: Text, validation: dict[str, Any]) -> None:
    """The before/after of the latest update (the comparison file, as it was stored)."""
    out.append("Validate  ", style="bold")
    ok = (validation.get("after") or {}).get("golden_ok")
    out.append(str(validation["summary"]), style={True: "green", False: "bold red"}.get(ok, ""))
    before, after = validation.get("from_version"), validation.get("to_version")
    out.append(f"  ({before or '-'}→{after or '-'})", style="dim")
    out.append("\n")


def _history(out: Text, history: list[HistoryEntry]) -> None:
    out.append("History\n", style="bold")
    if not history:
        out.append("  no updates yet\n", style="dim")
    for h in history[:HISTORY_ROWS]:
        out.append(f"  {_day_time(h.time)} ", style="dim")
        out.append(f"{h.action:<9}", style="bold")
        out.append(f"{h.result:<11}", style=RESULT_STYLE.get(h.result, ""))
        versions = f"{h.from_version or '-'}→{h.to_version or '-'}"
        out.append(f"{versions:<14} ")
        out.append(h.reason, style="dim")
        out.append("\n")


def render_text(ota: OtaSection, progress: Progress | None, width: int) -> Text:
    """The panel's text: slots, update, progress, health, validation, rollback, history;
    one terminal line per row (long reasons end in an ellipsis instead of wrapping)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    _slots(out, ota, width)
    _update(out, ota)
    if progress:
        _progress(out, progress)
    if ota.health:
        _health(out, ota.health)
    if ota.validation and ota.validation.get("summary"):
        _validation(out, ota.validation)
    out.append("Rollback  ", style="bold")
    reason = ota.last_rollback_reason
    out.append(reason or "none so far", style="red" if reason else "dim")
    out.append("\n")
    _history(out, ota.history)
    out.rstrip()
    lines = out.split("\n")
    for line in lines:
        line.truncate(width, overflow="ellipsis")
    return Text("\n", no_wrap=True, overflow="ellipsis").join(lines)


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

    _progress: Progress | None = None
    _lines = 0

    def show(self, snap: Snapshot) -> None:
        self._last = snap
        ota = self.section(snap)
        if ota is not None and ota.progress is not None:
            self._progress = ota.progress
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def on_note(self, note: Notification) -> None:
        self._progress = convert(Progress, note.data)
        self._draw()

    def _draw(self) -> None:
        if self._last is None:
            return
        ota = self.section(self._last) or OtaSection()
        text = render_text(ota, self._progress, max(self.size.width - 2, 40))
        lines = text.plain.count("\n") + 1
        # Re-layout only when the height changes: most updates keep it.
        self.update(text, layout=lines != self._lines)
        self._lines = lines

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
