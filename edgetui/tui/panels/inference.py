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
    _lines = 0

    def watched(self, snap: Snapshot) -> Any:
        # The judgement lines come from the validation and drift sections.
        return tuple(snap.sections.get(k) for k in ("inference", "validation", "drift"))

    def show(self, snap: Snapshot) -> None:
        self._last = snap
        section = self.section(snap) or {}
        judged = judgement(section, snap.sections.get("validation"), snap.sections.get("drift"))
        text = self.render_text(section, max(self.size.width - 2, 40), judged)
        # The unavailable reason wraps (its height varies): only then is a re-layout needed,
        # or when the judgement lines come or go.
        relayout = not section.get("available", False) or len(judged) != self._lines
        self._lines = len(judged)
        self.update(text, layout=relayout)

    @staticmethod
    def render_text(s: dict[str, Any], width: int, judged: list[Text] | None = None) -> Group:
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
        worker = s.get("worker")
        if isinstance(worker, dict):
            label("Worker")
            out.append_text(worker_text(worker))
            out.append("\n")
        label("Count")
        errors, timeouts = s.get("errors", 0), s.get("timeouts", 0)
        out.append(f"{s.get('requests', 0)} requests  ")
        out.append(f"{errors} errors  ", style="red" if errors else "")
        out.append(f"{timeouts} timeouts  ", style="red" if timeouts else "")
        out.append(f"queue {s.get('queued', 0)}/{s.get('queue_size', 0)}", style="dim")
        out.append("\n")
        for line in judged or []:
            out.append_text(line)
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
        if last.get("confidence") is not None:
            out.append(f" conf {last['confidence']:.0%}", style="dim")
        out.append("\n")
        label("Why")
        out.append(str(last.get("reason") or "—"), style="italic")
        return Group(*parts)


WORKER_STYLE = {"running": "green", "starting": "yellow", "restarting": "bold yellow"}


def worker_text(w: dict[str, Any]) -> Text:
    """The model worker process in one line, what matters first: state, how it last ended,
    crashes against the give-up count, restarts, memory, the last recovery time."""
    out = Text()
    state = str(w.get("state") or "?")
    out.append(state, style=WORKER_STYLE.get(state, "bold red"))
    if w.get("pid"):
        out.append(f" pid {w['pid']}")
    if state == "restarting" and w.get("next_restart_s") is not None:
        out.append(f" in {w['next_restart_s']:.0f} s", style="yellow")
    last = w.get("last_exit")
    if isinstance(last, dict):
        when = {"load": "on load", "decide": "while deciding"}.get(last.get("during"), "idle")
        at = str(last.get("at") or "")[11:19]
        out.append(f"  exit {last.get('cause')} {when} {at}", style="red")
        n, cap = w.get("crashes_in_window"), w.get("max_crashes")
        if n is not None and cap:
            out.append(f"  {n}/{cap} crashes in {w.get('crash_window_s', 0):.0f} s")
    restarts = int(w.get("restarts") or 0)
    out.append(f"  {restarts} restarts", style="yellow" if restarts else "dim")
    if w.get("rss_mb") is not None:
        cap_mb = f"/{w['max_rss_mb']}" if w.get("max_rss_mb") else ""
        out.append(f"  {w['rss_mb']:.0f}{cap_mb} MB", style="dim")
    if w.get("recovery_ms") is not None:
        out.append(f"  back in {w['recovery_ms'] / 1000:.1f} s", style="dim")
    return out


def _label(name: str) -> Text:
    return Text(f"{name:<{LABEL}}", style="bold")


def judgement(
    s: dict[str, Any], validation: dict[str, Any] | None, drift: dict[str, Any] | None
) -> list[Text]:
    """The "Base" line (baseline and now/baseline) and the "Quality" line (last validation,
    drift, confidence), each only when its part reports; empty when none runs."""
    lines: list[Text] = []
    if "baseline" in s:
        line = _label("Base")
        b = s.get("baseline")
        rec = s.get("baseline_recording")
        if b:
            line.append(f"p95 {_ms(b.get('p95_ms'))} (v{b.get('version')}, n={b.get('samples')})")
            ratio = s.get("p95_ratio")
            if ratio is not None:
                style = "bold red" if ratio > 1.5 else "yellow" if ratio > 1.2 else "green"
                line.append("  now ")
                line.append(f"{ratio:.2f}x", style=style)
        elif rec:
            line.append(
                f"measuring: {rec.get('samples')}/{rec.get('min_samples')} requests, "
                f"{rec.get('elapsed_s', 0):.0f}/{rec.get('window_s', 0):.0f} s",
                style="dim",
            )
        else:
            line.append("no baseline yet (measured after a slot commits)", style="dim")
        lines.append(line)
    if validation is None and drift is None:
        return lines
    line = _label("Quality")
    if validation is not None:
        golden = validation.get("golden") or {}
        ok = validation.get("ok")
        if golden.get("total"):
            line.append(f"golden {golden.get('passed')}/{golden.get('total')} ")
        line.append("pass" if ok else "FAIL", style="green" if ok else "bold red")
        at = str(validation.get("at") or "")
        line.append(f" {at[11:16]}  " if len(at) >= 16 else "  ", style="dim")
    if drift is not None:
        psi = drift.get("psi_max")
        band = str(drift.get("band") or "none")
        style = {"significant": "bold red", "moderate": "yellow"}.get(band, "green")
        if psi is None:
            ref = drift.get("reference") or {}
            if ref.get("source") in (None, "none"):
                line.append("drift: no reference yet  ", style="dim")
            elif ref.get("source") == "recording":
                got = f"{ref.get('samples')}/{ref.get('size')}"
                line.append(f"drift: reference {got}  ", style="dim")
            else:
                got = f"{drift.get('window_samples', 0)}/{drift.get('min_samples', 0)}"
                line.append(f"drift: window {got}  ", style="dim")
        else:
            line.append("drift PSI ")
            line.append(f"{psi:.2f} {band}", style=style)
            line.append("  ")
        conf, ref_conf = drift.get("confidence_mean"), drift.get("confidence_reference")
        if conf is not None:
            line.append(f"conf {conf:.2f}")
            if ref_conf is not None:
                drop = drift.get("confidence_drop") or 0.0
                line.append(f" (ref {ref_conf:.2f})", style="red" if drop > 0.1 else "dim")
    line.rstrip()
    lines.append(line)
    return lines
