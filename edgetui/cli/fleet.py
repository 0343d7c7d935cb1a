"""`edgetui fleet ...`: the operator side. With no action, the fleet console.

fleet [--broker URL] [--store S]          the console (ingests while it runs; runs rollouts)
fleet status [--json]                     counts over the whole fleet
fleet devices [--json] [--filter EXPR] [--sort COL] [--reverse]
fleet device ID [--json]                  one device: state, alerts, commands, telemetry
fleet ingest --broker URL [--seconds N]   a headless ingest process (one of a group)
fleet simulate --broker URL --devices N   simulated devices
fleet rollout create|run|pause|resume|abort|status   phased rollouts (cli/fleet_rollout.py)
fleet retrain-set --out DIR               the retraining set (cli/fleet_retrain.py)
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from typing import Any

from edgetui.cli.context import Context, add_repeated, command, print_json
from edgetui.cli.exits import EXIT_OK, EXIT_USAGE, CommandError
from edgetui.cli.fleet_options import fleet_session


def _common(p: argparse.ArgumentParser, broker: bool = True) -> None:
    # SUPPRESS: an option given before the action is not overwritten by the action's default.
    if broker:
        p.add_argument("--broker", metavar="URL", default=argparse.SUPPRESS, help="MQTT broker")
    p.add_argument(
        "--store",
        metavar="S",
        default=argparse.SUPPRESS,
        help="fleet store: a SQLite path (default <state>/fleet.db) or postgresql://...",
    )
    if broker:
        p.add_argument(
            "--group", metavar="G", default=argparse.SUPPRESS, help="shared-subscription group"
        )


def register(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub,
        "fleet",
        cmd_console,
        help="the fleet: console, devices, ingest, simulator",
        json=False,
        description="The operator side. With no ACTION: the fleet console, which ingests from "
        "--broker while it runs (without a broker it shows the store others fill).",
    )
    _common(p)
    fsub = p.add_subparsers(dest="fleet_command", metavar="ACTION")

    q = command(fsub, "status", cmd_status, help="counts over the whole fleet")
    _common(q, broker=False)

    q = command(fsub, "devices", cmd_devices, help="every device heard from")
    _common(q, broker=False)
    q.add_argument("--filter", metavar="EXPR", default="", help="e.g. 'type=camera cpu>80'")
    q.add_argument("--sort", metavar="COL", default="id", help="id, type, cpu, p95, seen, ...")
    q.add_argument("--reverse", action="store_true", help="largest first")

    q = command(fsub, "device", cmd_device, help="one device: state, alerts, commands, telemetry")
    _common(q, broker=False)
    q.add_argument("device_id", metavar="ID")

    q = command(fsub, "ingest", cmd_ingest, help="ingest into the fleet store until stopped")
    _common(q)
    q.add_argument("--name", default="", help="this process's name (default host-pid)")
    q.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: never)")

    q = command(
        fsub, "simulate", cmd_simulate, help="simulated devices on the broker until stopped"
    )
    _common(q)
    q.add_argument("--devices", type=int, required=True, metavar="N")
    q.add_argument("--types", default="camera", help="comma-separated device types")
    q.add_argument("--offline-rate", type=float, default=0.0, metavar="R")
    q.add_argument("--fail-rate", type=float, default=0.0, metavar="R")
    q.add_argument("--low-ram-rate", type=float, default=0.0, metavar="R")
    q.add_argument("--telemetry-interval", type=float, default=10.0, metavar="S")
    q.add_argument("--offline-for", type=float, default=60.0, metavar="S")
    q.add_argument("--prefix", default="sim", help="device ids are PREFIX-00000, ...")
    add_repeated(
        q,
        "--trusted-key",
        metavar="K.pub",
        help="command key the devices trust (repeatable; none: every command is REJECTED)",
    )
    q.add_argument("--install-s", type=float, default=0.5, metavar="S", help="update install")
    q.add_argument("--health-s", type=float, default=2.0, metavar="S", help="trial health check")
    q.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: never)")

    from edgetui.cli.fleet_rollout import register_rollout

    register_rollout(fsub, _common)

    from edgetui.cli.fleet_retrain import register_retrain

    register_retrain(fsub, _common)


# -- options ----------------------------------------------------------------------------
def _until_stopped(seconds: float, tick: Any = None) -> None:
    """Block until SIGINT/SIGTERM (or `seconds`), calling `tick()` every 5 s."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    deadline = time.monotonic() + seconds if seconds > 0 else None
    while not done.is_set():
        wait = 5.0 if deadline is None else min(5.0, max(0.0, deadline - time.monotonic()))
        if done.wait(wait):
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        if tick is not None:
            tick()


# -- commands ---------------------------------------------------------------------------
def cmd_console(ctx: Context) -> int:
    from edgetui.fleet.ui.launch import run_console  # Textual is loaded here only

    with fleet_session(ctx) as session:
        return run_console(session, readonly=bool(getattr(ctx.args, "readonly", False)))


def cmd_status(ctx: Context) -> int:
    with fleet_session(ctx) as session:
        store = session.store
        s = store.summary()
    if ctx.args.json:
        print_json(s.to_json())
        return EXIT_OK
    print(f"store      {s.engine} {store.where}")
    print(f"devices    {s.devices}: {s.online} online, {s.offline} offline, {s.unknown} unknown")
    print(f"alerts     {s.alerts['critical']} critical, {s.alerts['warning']} warning firing")
    print("types      " + (", ".join(f"{k} {v}" for k, v in sorted(s.by_type.items())) or "-"))
    print("versions   " + (", ".join(f"{k} {v}" for k, v in sorted(s.by_release.items())) or "-"))
    rows = s.telemetry_rows
    print(f"telemetry  {rows['raw']} raw, {rows['mid']} 1-min, {rows['old']} 10-min rows")
    return EXIT_OK


def cmd_devices(ctx: Context) -> int:
    from edgetui.fleet import DeviceFilter, FilterError
    from edgetui.fleet.columns import BY_NAME, header_text, row_text, sort_devices

    try:
        flt = DeviceFilter.parse(ctx.args.filter)
    except FilterError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if ctx.args.sort not in BY_NAME:
        raise CommandError(
            f"--sort {ctx.args.sort!r}: expected one of {', '.join(BY_NAME)}", EXIT_USAGE
        )
    with fleet_session(ctx) as session:
        everyone = session.store.devices()
    now = time.time()
    shown = sort_devices(
        [d for d in everyone if flt.matches(d, now)], ctx.args.sort, now, reverse=ctx.args.reverse
    )
    if ctx.args.json:
        print_json(
            {
                "devices": [d.to_json() for d in shown],
                "count": len(shown),
                "total": len(everyone),
                "filter": flt.text,
            }
        )
        return EXIT_OK
    print(header_text())
    for d in shown:
        print(row_text(d, now))
    return EXIT_OK


def cmd_device(ctx: Context) -> int:
    from edgetui.fleet.records import iso
    from edgetui.models import to_dict

    with fleet_session(ctx) as session:
        store = session.store
        dev = store.device(ctx.args.device_id)
        if dev is None:
            raise CommandError(f"no device {ctx.args.device_id!r} in the fleet store")
        doc = {
            "device": dev.to_json(),
            "alerts": [a.to_json() for a in store.alerts(dev.device_id)],
            "commands": [c.to_json() for c in store.commands(dev.device_id)],
            "telemetry": [
                {"time": iso(p.ts), **to_dict(p)} for p in store.telemetry(dev.device_id)[-120:]
            ],
        }
    if ctx.args.json:
        print_json(doc)
        return EXIT_OK
    for key, value in doc["device"].items():
        print(f"{key:<17}{value}")
    for a in doc["alerts"]:
        print(f"alert  {a['state']:<9}{a['severity'] or '':<9}{a['key']}  {a['summary'] or ''}")
    for c in doc["commands"]:
        print(f"command {c['command_id']}  {c['command'] or ''}  {c['state']}  {c['detail'] or ''}")
    return EXIT_OK


def cmd_ingest(ctx: Context) -> int:
    with fleet_session(ctx) as session:
        ingest = session.start_ingest(ctx.args.name or None)
        _until_stopped(ctx.args.seconds)
    if ctx.args.json:
        print_json(ingest.stats.__dict__)
    return EXIT_OK


def cmd_simulate(ctx: Context) -> int:
    from edgetui.fleet.simulator import Simulator

    with fleet_session(ctx) as session:
        broker = session.broker
    types = tuple(t.strip() for t in ctx.args.types.split(",") if t.strip())
    try:
        sim = Simulator(
            broker,
            ctx.args.devices,
            types=types or ("camera",),
            offline_rate=ctx.args.offline_rate,
            fail_rate=ctx.args.fail_rate,
            low_ram_rate=ctx.args.low_ram_rate,
            telemetry_interval_s=ctx.args.telemetry_interval,
            offline_for_s=ctx.args.offline_for,
            prefix=ctx.args.prefix,
            trusted_keys=tuple(ctx.args.trusted_key),
            install_s=ctx.args.install_s,
            health_s=ctx.args.health_s,
        )
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    sim.start()
    try:
        _until_stopped(
            ctx.args.seconds, (lambda: print_json(sim.stats())) if ctx.args.json else None
        )
    finally:
        sim.stop()
    if ctx.args.json:
        print_json(sim.stats())
    return EXIT_OK
