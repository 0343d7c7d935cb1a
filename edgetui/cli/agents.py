"""`edgetui agents status|restart`: the supervised agents, through the RuntimeAPI."""

from __future__ import annotations

import argparse
from typing import Any

from edgetui.cli.context import Context, call_part, command, command_group, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK
from edgetui.models.agents import AgentRow, AgentStatus
from edgetui.models.serde import convert


def register(sub: argparse._SubParsersAction) -> None:
    asub = command_group(sub, "agents", help="status of the supervised agents")
    q = command(asub, "status", cmd_status,
                help="status, restarts and last error per agent", needs="inspect")  # fmt: skip
    q = command(asub, "restart", cmd_restart, help="restart one agent now", needs="slot")
    q.add_argument("name")


def render(agents: list[AgentRow]) -> str:
    """A table: name, status, restarts, since, last error."""
    lines = [f"{'AGENT':<10} {'STATUS':<9} {'RESTARTS':>8}  {'STARTED':<24} LAST ERROR"]
    for a in agents:
        lines.append(
            f"{a.name:<10} {a.status:<9} {a.restarts:>8}  "
            f"{a.started_at or '-':<24} {a.last_error or '-'}"
        )
    return "\n".join(lines)


async def _call(ctx: Context, method: str, params: dict[str, Any] | None = None) -> Any:
    async with ctx.api() as api:
        missing = "agents are not running (none enabled?)"
        if api.mode == "standalone" and method == "agents.status":  # a one-shot starts none
            missing = "agents are not running: no daemon answers (a one-shot starts no agent)"
        return await call_part(api, method, params, missing)


async def cmd_status(ctx: Context) -> int:
    raw = await _call(ctx, "agents.status")
    agents = convert(list[AgentRow], raw)
    if ctx.args.json:
        print_json({"agents": raw})
    else:
        print(render(agents))
    return EXIT_OK if all(a.status != AgentStatus.ERROR for a in agents) else EXIT_ERROR


async def cmd_restart(ctx: Context) -> int:
    raw = await _call(ctx, "agents.restart", {"name": ctx.args.name})
    if ctx.args.json:
        print_json({"agents": raw})
    else:
        print(render(convert(list[AgentRow], raw)))
    return EXIT_OK
