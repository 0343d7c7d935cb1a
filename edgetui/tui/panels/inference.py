"""Inference panel: model and version, p50/p95/p99, TTFT, tokens/s, a latency sparkline,
counters, and the last decision with its reason. An unavailable model is said plainly."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from edgetui.models import Snapshot
from edgetui.models.decision import Decision
from edgetui.models.drift import DriftSection
from edgetui.models.inference_section import InferenceSection, WorkerSection
from edgetui.models.validation import ValidationReport
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
        section = self.section(snap)
        judged = judgement(section, snap.sections.get("validation"), snap.sections.get("drift"))
        text = self.render_text(section, max(self.size.width - 2, 40), judged)
        # The unavailable reason wraps (its height varies): only then is a re-layout needed,
        # or when the judgement lines come or go.
        relayout = section is None or not section.available or len(judged) != self._lines
        self._lines = len(judged)
        self.update(text, layout=relayout)

    @staticmethod
    def render_text(
        s: InferenceSection | None, width: int, judged: list[Text] | None = None
    ) -> Group:
        if s is None:  # no section yet: the panel as for an engine with nothing to say
            s = InferenceSection()
        head = Text(no_wrap=True, overflow="ellipsis")
        _model_line(head, s)
        parts: list[Text] = [head]
        out = head
        if not s.available:
            # The reason is the point of this line: it wraps instead of being cut off.
            head.rstrip()
            parts.append(_unavailable_line(s))
            out = Text(no_wrap=True, overflow="ellipsis")
            parts.append(out)
        _latency_lines(out, s, width)
        if s.worker is not None:
            out.append_text(_label("Worker"))
            out.append_text(worker_text(s.worker))
            out.append("\n")
        _count_line(out, s)
        for line in judged or []:
            out.append_text(line)
            out.append("\n")
        _last_lines(out, s.last_decision)
        return Group(*parts)


def _model_line(out: Text, s: InferenceSection) -> None:
    """Model, version, origin, checksum and load time."""
    out.append_text(_label("Model"))
    if s.model:
        out.append(str(s.model), style="bold cyan")
    else:
        out.append("none", style="dim")
    if s.version:
        out.append(f"  v{s.version}")
    if s.origin and s.origin != "none":
        out.append(f" ({s.origin})", style="dim")
    if s.sha256:
        out.append(f"  sha256 {s.sha256[:12]}…", style="dim")
    if s.load_ms is not None:
        out.append(f"  load {s.load_ms:.0f} ms", style="dim")
    out.append("\n")


def _unavailable_line(s: InferenceSection) -> Text:
    state = Text(overflow="fold")
    state.append(f"{'State':<{LABEL}}", style="bold")
    state.append("UNAVAILABLE ", style="bold red")
    state.append(str(s.reason or "unknown reason"), style="red")
    state.append(" — rule-based fallback active", style="yellow")
    return state


def _latency_lines(out: Text, s: InferenceSection, width: int) -> None:
    """The percentiles and tokens/s, then the latency sparkline."""
    out.append_text(_label("Latency"))
    out.append(f"p50 {_ms(s.p50_ms)}  p95 {_ms(s.p95_ms)}  ")
    out.append(f"p99 {_ms(s.p99_ms)}  TTFT {_ms(s.ttft_ms)}  ")
    tps = s.tokens_per_s
    out.append("— tok/s" if tps is None else f"{tps:.0f} tok/s")
    out.append("\n")
    out.append_text(_label("Trend"))
    history = list(s.latency_history or [])
    spark_w = max(10, width - LABEL - 14)
    if history:
        out.append_text(sparkline(history, spark_w, lo=0.0))
        out.append(f" max {max(history[-spark_w:]):.0f} ms", style="dim")
    else:
        out.append("no requests yet", style="dim")
    out.append("\n")


def _count_line(out: Text, s: InferenceSection) -> None:
    out.append_text(_label("Count"))
    errors, timeouts = s.errors, s.timeouts
    out.append(f"{s.requests} requests  ")
    out.append(f"{errors} errors  ", style="red" if errors else "")
    out.append(f"{timeouts} timeouts  ", style="red" if timeouts else "")
    out.append(f"queue {s.queued}/{s.queue_size}", style="dim")
    out.append("\n")


def _last_lines(out: Text, last: Decision | None) -> None:
    """The last decision and, on the next line, why it was taken."""
    out.append_text(_label("Last"))
    if not last:
        out.append("no decision yet", style="dim")
        return
    action = str(last.action)
    out.append(action, style=ACTION_STYLE.get(action, ""))
    if last.message:
        out.append(f' "{last.message}"')
    where = f" at {last.location}" if last.location else ""
    out.append(f"  on {last.event_type}{where}", style="dim")
    source = str(last.source)
    out.append(f"  [{source}]", style="yellow" if source == "fallback" else "green")
    if last.confidence is not None:
        out.append(f" conf {last.confidence:.0%}", style="dim")
    out.append("\n")
    out.append_text(_label("Why"))
    out.append(str(last.reason or "—"), style="italic")


WORKER_STYLE = {"running": "green", "starting": "yellow", "restarting": "bold yellow"}


def worker_text(w: WorkerSection) -> Text:
    """The model worker process in one line, what matters first: state, how it last ended,
    crashes against the give-up count, restarts, memory, the last recovery time."""
    out = Text()
    state = str(w.state or "?")
    out.append(state, style=WORKER_STYLE.get(state, "bold red"))
    if w.pid:
        out.append(f" pid {w.pid}")
    if state == "restarting" and w.next_restart_s is not None:
        out.append(f" in {w.next_restart_s:.0f} s", style="yellow")
    last = w.last_exit
    if last is not None:
        when = {"load": "on load", "decide": "while deciding"}.get(last.during, "idle")
        at = str(last.at or "")[11:19]
        out.append(f"  exit {last.cause} {when} {at}", style="red")
        n, cap = w.crashes_in_window, w.max_crashes
        if n is not None and cap:
            out.append(f"  {n}/{cap} crashes in {w.crash_window_s:.0f} s")
    restarts = int(w.restarts or 0)
    out.append(f"  {restarts} restarts", style="yellow" if restarts else "dim")
    if w.rss_mb is not None:
        cap_mb = f"/{w.max_rss_mb}" if w.max_rss_mb else ""
        out.append(f"  {w.rss_mb:.0f}{cap_mb} MB", style="dim")
    if w.recovery_ms is not None:
        out.append(f"  back in {w.recovery_ms / 1000:.1f} s", style="dim")
    return out


def _label(name: str) -> Text:
    return Text(f"{name:<{LABEL}}", style="bold")


def judgement(
    s: InferenceSection | None,
    validation: ValidationReport | None,
    drift: DriftSection | None,
) -> list[Text]:
    """The "Base" line (baseline and now/baseline) and the "Quality" line (last validation,
    drift, confidence), each only when its part reports; empty when none runs."""
    lines: list[Text] = []
    if s is not None and s.measures_baseline:
        lines.append(_base_line(s))
    if validation is None and drift is None:
        return lines
    line = _label("Quality")
    if validation is not None:
        golden = validation.golden
        ok = validation.ok
        if golden.total:
            line.append(f"golden {golden.passed}/{golden.total} ")
        line.append("pass" if ok else "FAIL", style="green" if ok else "bold red")
        at = str(validation.at or "")
        line.append(f" {at[11:16]}  " if len(at) >= 16 else "  ", style="dim")
    if drift is not None:
        _drift_part(line, drift)
    line.rstrip()
    lines.append(line)
    return lines


def _base_line(s: InferenceSection) -> Text:
    line = _label("Base")
    b = s.baseline
    rec = s.baseline_recording
    if b:
        line.append(f"p95 {_ms(b.p95_ms)} (v{b.version}, n={b.samples})")
        ratio = s.p95_ratio
        if ratio is not None:
            style = "bold red" if ratio > 1.5 else "yellow" if ratio > 1.2 else "green"
            line.append("  now ")
            line.append(f"{ratio:.2f}x", style=style)
    elif rec:
        line.append(
            f"measuring: {rec.samples}/{rec.min_samples} requests, "
            f"{rec.elapsed_s:.0f}/{rec.window_s:.0f} s",
            style="dim",
        )
    else:
        line.append("no baseline yet (measured after a slot commits)", style="dim")
    return line


def _drift_part(line: Text, drift: DriftSection) -> None:
    psi = drift.psi_max
    band = str(drift.band or "none")
    style = {"significant": "bold red", "moderate": "yellow"}.get(band, "green")
    if psi is None:
        ref = drift.reference
        if ref.source in (None, "none"):
            line.append("drift: no reference yet  ", style="dim")
        elif ref.source == "recording":
            got = f"{ref.samples}/{ref.size}"
            line.append(f"drift: reference {got}  ", style="dim")
        else:
            got = f"{drift.window_samples}/{drift.min_samples}"
            line.append(f"drift: window {got}  ", style="dim")
    else:
        line.append("drift PSI ")
        line.append(f"{psi:.2f} {band}", style=style)
        line.append("  ")
    conf, ref_conf = drift.confidence_mean, drift.confidence_reference
    if conf is not None:
        line.append(f"conf {conf:.2f}")
        if ref_conf is not None:
            drop = drift.confidence_drop or 0.0
            line.append(f" (ref {ref_conf:.2f})", style="red" if drop > 0.1 else "dim")
