"""What a runtime starts: the parts a command needs, declared once per command.

A daemon and the standalone dashboard start everything (`FULL`). A one-shot command run
without a daemon starts only what it needs to answer (`cli/context.py` hands the command's
declared needs to `session.open_api`): no listener (metrics HTTP; the control socket is
the daemon's alone), no agent, no model, nothing uplink, no OTA boot bookkeeping, unless
the command acts on that part. The table of which command starts what is in
ARCHITECTURE.md ("One-shot commands").

A need is a part's name (the real part, started) or `<part>.inspect` (a read-only view of
what the part's files on disk say, with the same section shape and no side effects).
"""

from __future__ import annotations

# The real parts (runtime/parts.py builds each); "publisher" is the telemetry publisher
# (messages into the outbox), "bus.bridge" the bus's MQTT bridge.
REAL = frozenset(
    {
        "security",
        "ota",
        "store",
        "uplink",
        "remote",
        "bus",
        "bus.bridge",
        "inference",
        "agents",
        "validation",
        "drift",
        "publisher",
        "alerts",
        "metrics",
        "kiosk",
        "doctor",
    }
)
# Read-only views: OTA slots from the slot state without booting, the outbox's counts from
# its SQLite file opened read-only, the model file's header without loading it, the alerts
# as last recorded in alerts.db without judging a snapshot.
INSPECT_VIEWS = frozenset({"ota.inspect", "buffer.inspect", "inference.inspect", "alerts.inspect"})
KNOWN = REAL | INSPECT_VIEWS

FULL = REAL
# Reading the device's state: status, watch, check, ota status/history/check, alerts, ...
INSPECT = frozenset(
    {
        "security",
        "ota.inspect",
        "buffer.inspect",
        "bus",
        "inference.inspect",
        "validation",
        "drift",
        "alerts.inspect",
        "kiosk",
        "doctor",
    }
)
# Running the booted slot's content (the model, the agents): ota apply/rollback/commit,
# whose trial health check measures them, validate and agents restart. Loading slot content
# needs the real OTA boot: it is what verifies the slot (and rolls back) before any of it
# runs, so these commands count a trial boot as a daemon's start would.
SLOT = frozenset({"security", "ota", "bus", "inference", "agents", "validation", "drift", "kiosk"})
# The outbox and the uplink that owns its methods (buffer flush, export, rotate-key: flush's
# job is to send), with the remote commands its connection may bring.
BUFFER_SEND = frozenset({"security", "store", "uplink", "remote", "kiosk"})
# Publishing one event on the bus: where a bus event goes (the outbox sink, the bridge).
BUS_PUBLISH = frozenset({"security", "store", "bus", "bus.bridge", "kiosk"})
# Fire drills cause real failures in the parts they exercise (an agent, the uplink, the
# model): everything but the listeners and the telemetry publisher.
DRILL = FULL - {"metrics", "publisher", "remote"}


PROFILES = {
    "full": FULL,
    "inspect": INSPECT,
    "slot": SLOT,
    "buffer_send": BUFFER_SEND,
    "bus_publish": BUS_PUBLISH,
    "drill": DRILL,
}


def profile(name: str) -> frozenset[str]:
    """The profile called `name` (a command's registration names one: the CLI's parser
    is built without importing the runtime); KeyError naming the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown runtime profile {name!r} ({', '.join(PROFILES)})") from None


def check(needs: frozenset[str]) -> frozenset[str]:
    """`needs` unchanged, or ValueError naming what is not a known need (a typo in a
    command's declaration must not silently start less)."""
    unknown = sorted(needs - KNOWN)
    if unknown:
        raise ValueError(f"unknown runtime needs: {', '.join(unknown)}")
    return needs
