"""Agents panel: per supervised agent its status, restarts, uptime start and last error."""

from __future__ import annotations

from rich.text import Text

from edgetui.models import Snapshot
from edgetui.models.agents import AgentRow
from edgetui.tui.panels.base import Panel

STATUS_STYLE = {"running": "bold green", "idle": "green", "error": "bold red", "updating": "yellow"}


def _summary(agent: AgentRow) -> str:
    """One short line of what the agent last reported (its own detail dict)."""
    d = agent.detail or {}
    last = d.get("last_decision")
    if isinstance(last, dict):
        return (
            f"{d.get('decisions', 0)} decisions, last {last.get('action')} ({last.get('source')})"
        )
    if "spoken" in d:
        return f"{d['spoken']} spoken via {d.get('engine', '?')}"
    if "published" in d:
        return f"{d['published']} published, {d.get('bad_lines', 0)} bad lines"
    return ""


class AgentsPanel(Panel):
    """Rows from the `agents` section (a list); the supervisor fills every figure."""

    SECTION = "agents"
    TITLE = "Agents"
    DEFAULT_CSS = "AgentsPanel { min-height: 5; }"

    def show(self, snap: Snapshot) -> None:
        self.show_rendered(snap, self.section(snap) or [])

    @staticmethod
    def render_text(agents: list[AgentRow], width: int) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        out.append(f"{'AGENT':<9}{'STATUS':<10}{'RESTARTS':>8}  {'SINCE':<9} INFO\n", style="dim")
        if not agents:
            out.append("no agents enabled", style="dim")
            return out
        for a in agents:
            status = str(a.status)
            since = str(a.started_at or "")[11:19] or "-"
            restarts = int(a.restarts)
            out.append(f"{a.name:<9}", style="bold")
            out.append(f"{status:<10}", style=STATUS_STYLE.get(status, ""))
            out.append(f"{restarts:>8}", style="yellow" if restarts else "")
            out.append(f"  {since:<9} ")
            if a.last_error:
                out.append(f"last error: {a.last_error}", style="red")
            else:
                out.append(_summary(a), style="dim")
            out.append("\n")
        out.rstrip()
        return out
