"""`edgetui validate [--json]`: the on-device regression suite, now.

Golden accuracy against the pass bar, latency against the model version's baseline, agents
up, model checksum. Exit 0 when it passes, 1 when a check failed (2: usage or config).
"""

from __future__ import annotations

import argparse

from edgetui.cli.context import Context, call_part, command, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK
from edgetui.models.serde import convert
from edgetui.models.validation import ValidationReport

MARK = {True: "ok  ", False: "FAIL", None: "skip"}


def register(sub: argparse._SubParsersAction) -> None:
    command(sub, "validate", cmd_validate,
            help="run the on-device regression suite (golden, latency, agents, model)",
            needs="slot")  # fmt: skip


def render(report: ValidationReport) -> str:
    """One line per check, then the verdict."""
    lines = [f"{MARK[c.ok]}  {c.name:<8} {c.detail}" for c in report.checks]
    version = report.version or "no model"
    verdict = "PASSED" if report.ok else "FAILED"
    lines.append(f"validation of {version}: {verdict}")
    return "\n".join(lines)


async def cmd_validate(ctx: Context) -> int:
    async with ctx.api() as api:
        report = await call_part(
            api, "validate.run", {}, "validation is not running ([validation] enabled = false?)"
        )
    typed = convert(ValidationReport, report)
    if ctx.args.json:
        print_json(report)
    else:
        print(render(typed))
    return EXIT_OK if typed.ok else EXIT_ERROR
