"""Inference panel: model and version, p50/p95/p99, TTFT, tokens/s, a latency sparkline,
counters, and the last decision with its reason. An unavailable model is said plainly."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from edgetui.models import Snapshot
from edgetui.tui.glyphs import sparkline
from edgetui.tui.panels.base import Panel

ACTION_STYLE = {"SPEAK_WARNING": "bold red", "NOTIFY": "yellow", "IGNORE": "dim"}
LABEL = 8


def _ms(value: Any) -> str:
    return "—" if value is None else f"{value:.1f} ms"


class InferencePanel(Panel):
    """Everything here comes from the `inference` section; nothing is computed in the UI."""

    SECTION = "inference"
    TITLE = "Inference"
    DEFAULT_CSS = "InferencePanel { min-height: 7; }"

    def show(self, snap: Snapshot) -> None:
        self._last = snap
        section = self.section(snap) or {}
        # The unavailable reason wraps (its height varies): only then is a re-layout needed.
        relayout = not section.get("available", False)
        self.update(self.render_text(section, max(self.size.width - 2, 40)), layout=relayout)

    @staticmethod
    def render_text(s: dict[str, Any], width: int) -> Group:
        head = Text(no_wrap=True, overflow="ellipsis")
        out = head

        def label(name: str) -> None:
            out.append(f"{name:<{LABEL}}", style="bold")

        label("Model")
        if s.get("model"):
            out.append(str(s["model"]), style="bold cyan")
        else:
            out.append("none", style="dim")
        if s.get("version"):
            out.append(f"  v{s['version']}")
        if s.get("origin") and s["origin"] != "none":
            out.append(f" ({s['origin']})", style="dim")
        if s.get("sha256"):
            out.append(f"  sha256 {s['sha256'][:12]}…", style="dim")
        if s.get("load_ms") is not None:
            out.append(f"  load {s['load_ms']:.0f} ms", style="dim")
        out.append("\n")
        parts: list[Text] = [head]
        if not s.get("available", False):
            # The reason is the point of this line: it wraps instead of being cut off.
            head.rstrip()
            state = Text(overflow="fold")
            state.append(f"{'State':<{LABEL}}", style="bold")
            state.append("UNAVAILABLE ", style="bold red")
            state.append(str(s.get("reason") or "unknown reason"), style="red")
            state.append(" — rule-based fallback active", style="yellow")
            parts.append(state)
            out = Text(no_wrap=True, overflow="ellipsis")
            parts.append(out)
        label("Latency")
        out.append(f"p50 {_ms(s.get('p50_ms'))}  p95 {_ms(s.get('p95_ms'))}  ")
        out.append(f"p99 {_ms(s.get('p99_ms'))}  TTFT {_ms(s.get('ttft_ms'))}  ")
        tps = s.get("tokens_per_s")
        out.append("— tok/s" if tps is None else f"{tps:.0f} tok/s")
        out.append("\n")
        label("Trend")
        history = list(s.get("latency_history") or [])
        spark_w = max(10, width - LABEL - 14)
        if history:
            out.append_text(sparkline(history, spark_w, lo=0.0))
            out.append(f" max {max(history[-spark_w:]):.0f} ms", style="dim")
        else:
            out.append("no requests yet", style="dim")
        out.append("\n")
        label("Count")
        errors, timeouts = s.get("errors", 0), s.get("timeouts", 0)
        out.append(f"{s.get('requests', 0)} requests  ")
        out.append(f"{errors} errors  ", style="red" if errors else "")
        out.append(f"{timeouts} timeouts  ", style="red" if timeouts else "")
        out.append(f"queue {s.get('queued', 0)}/{s.get('queue_size', 0)}", style="dim")
        out.append("\n")
        label("Last")
        last = s.get("last_decision")
        if not last:
            out.append("no decision yet", style="dim")
            return Group(*parts)
        action = str(last.get("action", "?"))
        out.append(action, style=ACTION_STYLE.get(action, ""))
        if last.get("message"):
            out.append(f' "{last["message"]}"')
        where = f" at {last['location']}" if last.get("location") else ""
        out.append(f"  on {last.get('event_type', '?')}{where}", style="dim")
        source = str(last.get("source", ""))
        out.append(f"  [{source}]", style="yellow" if source == "fallback" else "green")
        out.append("\n")
        label("Why")
        out.append(str(last.get("reason") or "—"), style="italic")
        return Group(*parts)
