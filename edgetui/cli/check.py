"""`edgetui check`: a Nagios/Icinga plugin over the alert engine.

One line, `EDGETUI <STATE> - <summary> | <perfdata>`, and the plugin exit codes: 0 OK,
1 WARNING, 2 CRITICAL, 3 UNKNOWN (no daemon answers, the alert engine is off, an error).
Firing alerts that are not silenced decide the state; pending ones do not.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from edgetui.api import APIError
from edgetui.cli.context import Context, command, needs_of
from edgetui.models import Snapshot
from edgetui.models.alerts import AlertCounts, AlertsSection, AlertState
from edgetui.models.inference_section import InferenceSection
from edgetui.models.serde import to_dict

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "check", cmd_check,
                help="Nagios/Icinga plugin: one line, perfdata, exit 0/1/2/3",
                needs="inspect", json=False)  # fmt: skip
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="give up (UNKNOWN)")


def _range(rule: dict[str, Any] | None, key: str) -> str:
    """A Nagios threshold from a rule: "90" alerts above 90; "10:" alerts below 10."""
    if rule is None or rule.get(key) is None:
        return ""
    value = f"{rule[key]:g}"
    return f"{value}:" if rule.get("op") in ("<", "<=") else value


def _perf(label: str, value: Any, uom: str, rule: dict[str, Any] | None, lo: str, hi: str) -> str:
    if not isinstance(value, int | float):
        return ""
    return f"{label}={value:g}{uom};{_range(rule, 'warning')};{_range(rule, 'critical')};{lo};{hi}"


def perfdata(snap: Snapshot, rules: dict[str, dict[str, Any]]) -> str:
    """Perfdata for the main figures, with the thresholds of the rules that judge them."""
    r = snap.resources
    items = [_perf("cpu", r.cpu_percent, "%", rules.get("cpu_high"), "0", "100")]
    total, free = r.memory_total_mb, r.memory_free_mb
    if total and isinstance(free, int | float):
        mem = round(100.0 * free / total, 1)
        items.append(_perf("mem_available", mem, "%", rules.get("memory_low"), "0", "100"))
    total, free = r.disk_total_gb, r.disk_free_gb
    if total and isinstance(free, int | float):
        disk = round(100.0 * free / total, 1)
        items.append(_perf("disk_free", disk, "%", rules.get("disk_low"), "0", "100"))
    temp = rules.get("temperature_high")
    items.append(_perf("temperature", r.temperature_c, "", temp, "", ""))
    buffer = to_dict(snap.sections.get("buffer")) or {}
    items.append(
        _perf("buffer_fill", buffer.get("fill_percent"), "%", rules.get("buffer_full"), "0", "100")
    )
    inference = snap.sections.get("inference")
    p95 = inference.p95_ms if isinstance(inference, InferenceSection) else None
    if isinstance(p95, int | float):
        items.append(_perf("inference_p95", round(p95 / 1000.0, 4), "s", None, "0", ""))
    alerts = snap.sections.get("alerts")
    counts = alerts.counts if isinstance(alerts, AlertsSection) else AlertCounts()
    items.append(f"alerts_critical={counts.critical};;1;0;")
    items.append(f"alerts_warning={counts.warning};1;;0;")
    return " ".join(i for i in items if i)


def verdict(snap: Snapshot, rules: dict[str, dict[str, Any]]) -> tuple[int, str]:
    """(exit code, the plugin's one line) for a snapshot with an `alerts` section."""
    section = snap.sections.get("alerts")
    if not isinstance(section, AlertsSection):
        return UNKNOWN, "EDGETUI UNKNOWN - the alert engine is not running"
    firing = [a for a in section.alerts if a.state == AlertState.FIRING and not a.silenced_until]
    crit = [a for a in firing if a.severity == "critical"]
    warn = [a for a in firing if a.severity == "warning"]
    code = CRITICAL if crit else WARNING if warn else OK
    if firing:
        named = ", ".join(
            f"{a.name} ({'-' if a.value is None else format(a.value, 'g')})" for a in crit + warn
        )
        text = f"{len(crit)} critical, {len(warn)} warning: {named}"
    else:
        text = f"no alerts firing ({len(rules)} rules)"
    return code, f"EDGETUI {STATES[code]} - {text} | {perfdata(snap, rules)}"


async def _query(ctx: Context) -> tuple[Snapshot, list[dict[str, Any]]] | None:
    from edgetui.session import attach, open_api

    api: Any
    if ctx.args.standalone:
        needs = needs_of(ctx.args)
        api = await open_api(ctx.config, ctx.state_dir, standalone=True, needs=needs)
    else:
        api = await attach(ctx.state_dir)
        if api is None:
            return None
    try:
        snap = await api.status()
        try:
            rules = await api.call("alerts.rules")
        except APIError:
            rules = []
        return snap, rules
    finally:
        await api.close()


async def cmd_check(ctx: Context) -> int:
    try:
        got = await asyncio.wait_for(_query(ctx), ctx.args.timeout)
    except TimeoutError:
        print(f"EDGETUI UNKNOWN - no answer within {ctx.args.timeout:g} s")
        return UNKNOWN
    except Exception as exc:  # a plugin says UNKNOWN, never a traceback
        print(f"EDGETUI UNKNOWN - {type(exc).__name__}: {exc}")
        return UNKNOWN
    if got is None:
        print(f"EDGETUI UNKNOWN - no edgetui daemon answers for {ctx.state_dir}")
        return UNKNOWN
    snap, rules = got
    code, line = verdict(snap, {r["name"]: r for r in rules})
    sys.stdout.write(line + "\n")
    return code
