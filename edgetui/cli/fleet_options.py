"""What the fleet commands share: the broker, the group, the store, the spool and the
downsampling their options and `[fleet]` name, each bad value a one-line usage error. A module
of its own so that `cli/fleet.py` and the commands it registers (`fleet_rollout.py`,
`fleet_retrain.py`) import it, not each other."""

from __future__ import annotations

from typing import Any

from edgetui.cli.context import EXIT_ERROR, EXIT_USAGE, CommandError, Context


def broker_of(ctx: Context) -> Any:
    """The broker of --broker / [fleet] broker; a bad URL is a usage error."""
    from edgetui.fleet import parse_broker

    url = getattr(ctx.args, "broker", None) or ctx.config.fleet.broker
    if not url:
        raise CommandError("no broker: give --broker URL or set [fleet] broker", EXIT_USAGE)
    try:
        return parse_broker(url)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


def group_of(ctx: Context) -> str:
    """The shared-subscription group of --group / [fleet] group."""
    group = getattr(ctx.args, "group", None) or ctx.config.fleet.group
    if any(c in group for c in "/+#"):
        raise CommandError(f"--group {group!r}: expected a name without / + or #", EXIT_USAGE)
    return group


def open_fleet_store(ctx: Context) -> Any:
    """The store named by --store / [fleet] store; a StoreError becomes a one-line error."""
    from edgetui.fleet import StoreError, open_store

    try:
        return open_store(getattr(ctx.args, "store", None) or ctx.config.fleet.store, ctx.state_dir)
    except StoreError as exc:
        raise CommandError(str(exc), EXIT_USAGE if exc.usage else EXIT_ERROR) from None


def open_spool(ctx: Context) -> Any:
    """The ingest's spool, `<state>/fleet-spool.db` (None when `[fleet] spool_max_mb` is 0);
    a SpoolError becomes a one-line error."""
    from edgetui.fleet import Spool, SpoolError
    from edgetui.fleet.spool import FILENAME

    max_mb = ctx.config.fleet.spool_max_mb
    if max_mb <= 0:
        return None
    try:
        return Spool(ctx.state_dir / FILENAME, int(max_mb * 1024 * 1024))
    except SpoolError as exc:
        raise CommandError(str(exc), EXIT_ERROR) from None


def downsample_policy(ctx: Context) -> Any:
    """The telemetry downsampling of [fleet]."""
    from edgetui.fleet import DownsamplePolicy

    f = ctx.config.fleet
    return DownsamplePolicy(f.raw_s, f.mid_bucket_s, f.mid_s, f.old_bucket_s, f.keep_s)
