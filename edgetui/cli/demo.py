"""`edgetui demo ...`: the embedded demo device."""

from __future__ import annotations

import argparse

from edgetui.cli.context import EXIT_OK, Context, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the embedded demo device")
    dsub = p.add_subparsers(dest="demo_command", metavar="SUBCOMMAND", required=True)
    d = dsub.add_parser("init", help="prepare the demo device in the state directory")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_init)


def cmd_init(ctx: Context) -> int:
    from edgetui.demo import prepare

    path = prepare(ctx.state_dir)
    if ctx.args.json:
        print_json({"config": str(path), "state_dir": str(ctx.state_dir)})
    else:
        print(f"demo device ready: {path}")
    return EXIT_OK
