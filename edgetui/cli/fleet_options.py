"""What the fleet commands share: the fleet session (`edgetui.fleet.session`) their options
and `[fleet]` name, each error of it a one-line CLI error. A module of its own so that
`cli/fleet.py` and the commands it registers (`fleet_rollout.py`, `fleet_retrain.py`) and
`cli/command.py` import it, not each other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from edgetui.cli.context import Context
from edgetui.cli.exits import EXIT_ERROR, EXIT_USAGE, CommandError


@contextmanager
def fleet_session(ctx: Context, auth: Any = None, prefix: str = "") -> Iterator[Any]:
    """The FleetSession of --broker / --store / --group over `[fleet]` (and `auth`, an
    MqttAuth, over its TLS keys), closed on leaving; a SessionError raised while making it
    or using it becomes a CommandError (usage when the session says so), `prefix` first."""
    from edgetui.fleet.session import FleetSession, SessionError

    try:
        with FleetSession.from_config(
            ctx.config.fleet,
            ctx.state_dir,
            broker=getattr(ctx.args, "broker", None),
            store=getattr(ctx.args, "store", None),
            group=getattr(ctx.args, "group", None),
            auth=auth,
        ) as session:
            yield session
    except SessionError as exc:
        raise CommandError(prefix + str(exc), EXIT_USAGE if exc.usage else EXIT_ERROR) from None
