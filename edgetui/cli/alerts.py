"""`edgetui alerts [ack|silence|unsilence]` and `edgetui drill NAME`: the alert engine from a
shell. (`edgetui check`, the Nagios plugin, is in cli/check.py.)"""

from __future__ import annotations

import argparse
from typing import Any

from edgetui.cli.context import Context, call_part, command, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError
from edgetui.models.alerts import AlertItem, SilenceItem
from edgetui.models.serde import convert
from edgetui.units import parse_duration

MISSING = "the alert engine is not running ([alerts] enabled = false?)"
DRILLS = ("agent-crash", "uplink-offline", "cpu-burn", "slow-model", "disk-full")


def register(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub, "alerts", cmd_list, help="pending and firing alerts; ack, silence", needs="inspect"
    )
    p.add_argument("--all", action="store_true", help="add the history of transitions")
    asub = p.add_subparsers(dest="alerts_command", metavar="ACTION")
    q = command(asub, "ack", cmd_ack, help="mark an alert as seen (it keeps firing)",
                needs="inspect", json="action")  # fmt: skip
    q.add_argument("name")
    q = command(asub, "silence", cmd_silence,
                help="silence an alert by name for a while", needs="inspect",
                json="action")  # fmt: skip
    q.add_argument("name")
    q.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="e.g. 1h")
    q.add_argument("--comment", default="", metavar="TEXT")
    q = command(
        asub, "unsilence", cmd_unsilence, help="remove a silence", needs="inspect", json="action"
    )
    q.add_argument("name")

    p = command(sub, "drill", cmd_drill,
                help="fire drill: cause a failure, prove its alert fires",
                needs="drill")  # fmt: skip
    p.add_argument("drill", choices=DRILLS, metavar="NAME", help=" | ".join(DRILLS))
    p.add_argument("--agent", default="", help="agent-crash: the agent to kill (default: first)")
    p.add_argument(
        "--delay", type=float, default=1.0, metavar="S", help="slow-model: seconds added"
    )


async def _call(ctx: Context, method: str, params: dict[str, Any] | None = None) -> Any:
    async with ctx.api() as api:
        return await call_part(api, method, params, MISSING)


def _no_actions(ctx: Context, what: str) -> None:
    if getattr(ctx.args, "readonly", False):
        raise CommandError(f"{what}: not allowed with --readonly", code=EXIT_USAGE)


def render(listing: dict[str, Any]) -> str:
    """Alerts as a table (firing first), then silences and, with --all, the history."""
    alerts = convert(list[AlertItem], listing.get("alerts") or [])
    lines = [f"{'STATE':<8} {'SEVERITY':<9} {'NAME':<18} {'VALUE':>9}  {'SINCE':<24} SUMMARY"]
    for a in alerts:
        labels = ",".join(f"{k}={v}" for k, v in (a.labels or {}).items())
        name = a.name + (f"{{{labels}}}" if labels else "")
        flags = (" [ack]" if a.acknowledged else "") + (
            f" [silenced until {a.silenced_until}]" if a.silenced_until else ""
        )
        value = "-" if a.value is None else f"{a.value:g}"
        lines.append(
            f"{a.state:<8} {a.severity:<9} {name:<18} {value:>9}  {a.since or '-':<24} "
            f"{a.summary or ''}{flags}"
        )
    if not alerts:
        lines.append("(no pending or firing alerts)")
    for s in convert(list[SilenceItem], listing.get("silences") or []):
        lines.append(f"silence  {s.name} until {s.until}: {s.comment or ''}")
    history = listing.get("history")
    if history:
        lines.append("history (newest first):")
        for h in history:
            value = "-" if h.get("value") is None else f"{h['value']:g}"
            lines.append(f"  {h['at']}  {h['state']:<8} {h['severity']:<9} {h['name']} {value}")
    return "\n".join(lines)


async def cmd_list(ctx: Context) -> int:
    listing = await _call(ctx, "alerts.list", {"all": bool(ctx.args.all)})
    if ctx.args.json:
        print_json(listing)
    else:
        print(render(listing))
    return EXIT_OK


async def _act(ctx: Context, method: str, params: dict[str, Any], what: str) -> int:
    _no_actions(ctx, what)
    listing = await _call(ctx, method, params)
    if getattr(ctx.args, "json", False):
        print_json(listing)
    else:
        print(render(listing))
    return EXIT_OK


async def cmd_ack(ctx: Context) -> int:
    return await _act(ctx, "alerts.ack", {"name": ctx.args.name}, "alerts ack")


async def cmd_silence(ctx: Context) -> int:
    try:
        seconds = parse_duration(ctx.args.duration, bare_seconds=True)
    except ValueError as exc:
        raise CommandError(f"alerts silence: --for: {exc}", code=EXIT_USAGE) from None
    params = {"name": ctx.args.name, "for_s": seconds, "comment": ctx.args.comment}
    return await _act(ctx, "alerts.silence", params, "alerts silence")


async def cmd_unsilence(ctx: Context) -> int:
    return await _act(ctx, "alerts.unsilence", {"name": ctx.args.name}, "alerts unsilence")


def render_drill(report: dict[str, Any]) -> str:
    labels = ",".join(f"{k}={v}" for k, v in report["labels"].items())
    lines = [f"drill {report['drill']}: rule {report['rule']}{{{labels}}}: {report['cause']}"]
    for step in report["steps"]:
        after = "-" if step["after_s"] is None else f"{step['after_s']:.2f} s"
        verdict = "ok" if step["ok"] else "MISSING"
        lines.append(f"  {step['step']:<9} {after:>9}  {verdict:<7} ({step['expected']})")
    lines.append(f"{'PASS' if report['ok'] else 'FAIL'} (total {report['total_s']:.1f} s)")
    return "\n".join(lines)


async def cmd_drill(ctx: Context) -> int:
    _no_actions(ctx, "drill")
    params: dict[str, Any] = {"name": ctx.args.drill}
    if ctx.args.agent:
        params["agent"] = ctx.args.agent
    if ctx.args.delay <= 0:
        raise CommandError("drill: --delay must be above 0", code=EXIT_USAGE)
    params["delay_s"] = ctx.args.delay
    report = await _call(ctx, "alerts.drill", params)
    if ctx.args.json:
        print_json(report)
    else:
        print(render_drill(report))
    return EXIT_OK if report.get("ok") else EXIT_ERROR
