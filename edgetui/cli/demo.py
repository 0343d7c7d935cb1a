"""`edgetui demo ...`: the embedded demo device."""

from __future__ import annotations

import argparse

from edgetui.cli.context import Context, command, command_group, print_json
from edgetui.cli.exits import EXIT_OK, CommandError


def register(sub: argparse._SubParsersAction) -> None:
    dsub = command_group(sub, "demo", help="the embedded demo device", metavar="SUBCOMMAND")
    d = command(dsub, "init", cmd_init, help="prepare the demo device in the state directory")
    d = command(
        dsub, "publish", cmd_publish, help="publish another signed release into the demo repository"
    )
    d.add_argument("--version", required=True, metavar="V", help="release version, e.g. 1.2.0")
    d.add_argument(
        "--broken", action="store_true", help="a release whose health check fails (rollback demo)"
    )
    d.add_argument(
        "--regressed",
        action="store_true",
        help="a release whose model gets night motion wrong (golden accuracy rollback demo)",
    )


def cmd_init(ctx: Context) -> int:
    from edgetui.demo import prepare

    path = prepare(ctx.state_dir)
    if ctx.args.json:
        print_json({"config": str(path), "state_dir": str(ctx.state_dir)})
    else:
        print(f"demo device ready: {path}")
    return EXIT_OK


def cmd_publish(ctx: Context) -> int:
    from edgetui.demo.ota import publish

    try:
        manifest = publish(
            ctx.state_dir,
            ctx.args.version,
            broken=ctx.args.broken,
            regressed=ctx.args.regressed,
        )
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    if ctx.args.json:
        print_json(manifest)
    else:
        what = (
            "broken release"
            if ctx.args.broken
            else "regressed release"
            if ctx.args.regressed
            else "release"
        )
        print(f"published {what} {manifest['version']} into {ctx.state_dir / 'repo'}")
        print("check and apply it with `edgetui ota check` / `ota apply`, or keys u / i")
    return EXIT_OK
