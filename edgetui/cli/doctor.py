"""`edgetui doctor [--json]`: what is wrong, why (ranked causes with the evidence read), and
what to do next, from the runbooks. Exits with the Nagios codes of `edgetui check`."""

from __future__ import annotations

import argparse
import sys

from edgetui.cli.context import Context, command, print_json
from edgetui.doctor import diagnose, load_catalog, render


def register(sub: argparse._SubParsersAction) -> None:
    command(sub, "doctor", cmd_doctor, needs="inspect",
            help="what is wrong: ranked causes, their evidence, the next step")  # fmt: skip


async def cmd_doctor(ctx: Context) -> int:
    async with ctx.api() as api:
        snap = await api.status()
    books, errors = load_catalog(ctx.config, ctx.state_dir)
    for line in errors:
        print(f"edgetui: runbook: {line}", file=sys.stderr)
    report = diagnose(snap.to_dict(with_history=False), books, errors)
    if ctx.args.json:
        print_json(report)
    else:
        print(render(report))
    return report.code
