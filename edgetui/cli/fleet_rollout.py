"""`edgetui fleet rollout ...`: phased rollouts.

fleet rollout create --manifest URL --key operator.key [--waves 1,10,50,100] [--target ...]
    [--success-threshold 0.95] [--max-failure-rate 0.05] [--min-executed 10]
    [--health-window 10m] [--timeout 1h] [--retry-after 60s]
    [--in-progress-timeout 30m] [--auto-rollback] [--json]
fleet rollout run ID --broker URL [--ingest] [--tick S] [--lease S]   the runner (headless)
fleet rollout pause|resume|abort ID [--json]
fleet rollout status [ID] [--json]                 one rollout, or every rollout
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from typing import Any

from edgetui.cli.context import Context, command, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError
from edgetui.cli.fleet_options import fleet_session


def register_rollout(fsub: argparse._SubParsersAction, common: Any) -> None:
    p = fsub.add_parser("rollout", help="phased rollouts: create, run, pause, resume, abort")
    rsub = p.add_subparsers(dest="rollout_command", metavar="ACTION", required=True)

    q = command(rsub, "create", cmd_create, help="a rollout of a signed release in waves")
    common(q, broker=False)
    q.add_argument("--manifest", required=True, metavar="URL", help="the release's manifest")
    q.add_argument("--key", required=True, metavar="K.key", help="operator command key")
    q.add_argument("--waves", default="1,10,50,100", metavar="P,P,...")
    q.add_argument("--target", nargs="+", action="extend", metavar="type=T|ID", default=[])
    q.add_argument("--success-threshold", type=float, default=0.95, metavar="F")
    q.add_argument("--max-failure-rate", type=float, default=0.05, metavar="F")
    q.add_argument("--min-executed", type=int, default=10, metavar="N")
    q.add_argument("--health-window", default="10m", metavar="DURATION")
    q.add_argument("--timeout", default="1h", metavar="DURATION")
    q.add_argument("--retry-after", default="60s", metavar="DURATION")
    q.add_argument(
        "--in-progress-timeout",
        default="30m",
        metavar="DURATION",
        help="an update answered but not finished this long after its command is TIMED_OUT",
    )
    q.add_argument("--auto-rollback", action="store_true")
    q.add_argument("--id", default="", help="the rollout's id (default: generated)")

    q = command(rsub, "run", cmd_run, help="run a rollout until it is over (the runner)")
    common(q)
    q.add_argument("rollout_id", metavar="ID")
    q.add_argument("--ingest", action="store_true", help="also ingest in this process")
    q.add_argument("--tick", type=float, default=1.0, metavar="S")
    q.add_argument("--lease", type=float, default=15.0, metavar="S")
    q.add_argument("--name", default="", help="this runner's name (default host-pid)")

    for action, helptext in (
        ("pause", "stop starting new devices"),
        ("resume", "go on"),
        ("abort", "end the rollout now"),
    ):
        q = command(rsub, action, cmd_state, help=helptext)
        q.set_defaults(action=action)
        common(q, broker=False)
        q.add_argument("rollout_id", metavar="ID")

    q = command(rsub, "status", cmd_status, help="a rollout's waves, counts and reasons")
    common(q, broker=False)
    q.add_argument("rollout_id", metavar="ID", nargs="?")


# create's options, by the names `spec_from_options` takes them (argparse's dests).
CREATE_OPTIONS = (
    "manifest",
    "key",
    "waves",
    "target",
    "success_threshold",
    "max_failure_rate",
    "min_executed",
    "health_window",
    "timeout",
    "retry_after",
    "in_progress_timeout",
    "auto_rollback",
)


def cmd_create(ctx: Context) -> int:
    from edgetui.fleet.rollouts import SpecError, create_rollout, spec_from_options

    a = ctx.args
    try:
        spec = spec_from_options(**{name: getattr(a, name) for name in CREATE_OPTIONS})
    except SpecError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    with fleet_session(ctx) as session:
        try:
            r = create_rollout(session.store, spec, rollout_id=a.id)
        except SpecError as exc:
            raise CommandError(str(exc), EXIT_USAGE) from None
        doc = _status(session.store, r.rollout_id)
    if a.json:
        print_json(doc)
    else:
        sizes = ", ".join(str(w["devices"]) for w in doc["waves"])
        print(f"rollout {r.rollout_id}: {spec.version} to {doc['devices']} devices")
        print(f"waves {sizes}; run it with: edgetui fleet rollout run {r.rollout_id}")
    return EXIT_OK


def _status(store: Any, rollout_id: str) -> dict[str, Any]:
    from edgetui.fleet.rollouts import rollout_status

    r = store.rollout(rollout_id)
    if r is None:
        raise CommandError(f"no rollout {rollout_id!r} in {store.where}", EXIT_ERROR)
    return rollout_status(r, store.executions(rollout_id))


def cmd_run(ctx: Context) -> int:
    a = ctx.args
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with fleet_session(ctx) as session:
        _ = session.broker  # a missing or bad broker is told before the store is opened
        _status(session.store, a.rollout_id)  # no such rollout: an error, nothing started
        if a.ingest:
            session.start_ingest()
        runner = session.runner(a.rollout_id, owner=a.name, tick_s=a.tick, lease_s=a.lease)
        runner.run(stop)
        doc = _status(session.store, a.rollout_id)
    if a.json:
        print_json(doc)
    else:
        print(f"rollout {a.rollout_id}: {doc['state']}" + _why(doc))
    return EXIT_OK


def _why(doc: dict[str, Any]) -> str:
    return f" ({doc['halt_reason']})" if doc.get("halt_reason") else ""


def cmd_state(ctx: Context) -> int:
    from edgetui.fleet.rollouts import TRANSITIONS

    a = ctx.args
    to, only_from = TRANSITIONS[a.action]
    with fleet_session(ctx) as session:
        store = session.store
        before = _status(store, a.rollout_id)
        ok = store.set_rollout_state(a.rollout_id, to, now=time.time(), only_from=only_from)
        doc = _status(store, a.rollout_id)
    if not ok:
        msg = f"rollout {a.rollout_id} is {before['state']}: cannot {a.action} it"
        if a.json:
            print_json({"ok": False, "error": msg, "state": before["state"]})
        raise CommandError(msg, EXIT_ERROR)
    if a.json:
        print_json({"ok": True, **doc})
    else:
        print(f"rollout {a.rollout_id}: {doc['state']}")
    return EXIT_OK


def cmd_status(ctx: Context) -> int:
    from edgetui.fleet.rollouts import rollout_status

    a = ctx.args
    with fleet_session(ctx) as session:
        store = session.store
        if a.rollout_id:
            docs = [_status(store, a.rollout_id)]
        else:
            docs = [rollout_status(r, store.executions(r.rollout_id)) for r in store.rollouts()]
    if a.json:
        print_json(docs[0] if a.rollout_id else docs)
        return EXIT_OK
    for doc in docs:
        _print(doc)
    return EXIT_OK


def _print(doc: dict[str, Any]) -> None:
    from edgetui.fleet.rollouts import tally

    c = tally(doc["counts"])
    print(
        f"rollout {doc['rollout_id']}  {doc['state']}  wave {doc['wave']}/{len(doc['waves'])}"
        f"  {doc['spec']['version']}" + _why(doc)
    )
    print(
        f"  devices {doc['devices']}: succeeded {c.succeeded}, failed {c.failed}, "
        f"rejected {c.rejected}, in progress {c.in_progress}, "
        f"pending {c.pending}; failure rate {doc['failure_rate']:.1%}"
    )
    for w in doc["waves"]:
        wc = tally(w["counts"])
        done = f"done after {w['seconds_to_done']:.1f} s" if w["done_at"] else "not done"
        print(
            f"  wave {w['wave']} ({w['percent']:g}%): {w['devices']} devices, "
            f"{wc.succeeded} ok, {wc.failed} failed, {wc.rejected} rejected; {done}"
        )
    for title, key in (("rejected", "rejected_reasons"), ("failed", "failed_reasons")):
        for reason, n in sorted(doc[key].items(), key=lambda kv: -kv[1]):
            print(f"  {title}: {n} x {reason}")
