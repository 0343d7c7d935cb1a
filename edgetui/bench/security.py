"""`edgetui bench security`: what encryption at rest and signed commands cost, each against
a baseline measured in the same run.

- Outbox, batched enqueue: a sealed (AES-256-GCM) and a clear outbox side by side, fed the
  same batches in turns, each batch timed (on a shared machine a whole-run comparison
  swings by a factor of two); the medians of several rounds compared (goal: >= 0.9x).
- Outbox, drain: the store's side of the drain (read a window in drain order, open it,
  journal the acknowledgements, delete in bulk), the two outboxes in turns the same way;
  and, when mosquitto is installed, the whole drain to a local broker at QoS 1 both ways
  (whole runs, which goes first alternating).
- Command verification: `verify_command` (parse, duplicate-key check, Ed25519, expiry,
  targets, params) per second, against a bare Ed25519 verify of the same bytes.
- Audit append: one hash-chained, fsynced audit record against a bare fsynced append of a
  line of the same size (`edgetui.bench.audit.measure_append`, also `edgetui bench audit`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import tempfile
from pathlib import Path
from typing import Any

from edgetui.bench.audit import append_comparisons, append_figures
from edgetui.bench.broker import LocalBroker, find_mosquitto
from edgetui.bench.buffer import fill_outbox, sample_payload, timed_drain
from edgetui.bench.harness import (
    Comparison,
    Goal,
    Load,
    all_met,
    compare,
    load_average,
    run_rounds,
    run_rounds_async,
)
from edgetui.bench.report import add_bench, report
from edgetui.cli.context import Context
from edgetui.cli.exits import EXIT_OK
from edgetui.config import StoreConfig, UplinkConfig
from edgetui.sealing import DataKeyring, OutboxCipher
from edgetui.store import Outbox
from edgetui.uplink.drain import COMPACT_AT

GOAL = 0.9


HELP = "sealing, command verification (and audit) costs"
OPTIONS = """
    --messages 10000   messages per round (10000)
    --rounds 5         sealed/clear rounds (default 5)
    --batch 200        messages per batched enqueue
    --verifies 2000    command verifications timed
    --no-mqtt off      skip the drain to mosquitto
"""


def register(sub: argparse._SubParsersAction) -> None:
    add_bench(sub, "security", HELP, cmd_bench_security, OPTIONS)


CANDIDATE, BASELINE = "sealed", "clear"
LABELS = ("sealed (AES-256-GCM)", "clear")


def _store(path: Path, cipher: OutboxCipher | None) -> Outbox:
    cfg = StoreConfig(max_messages=10**7, max_bytes=10**10, encrypt=cipher is not None)
    return Outbox(cfg, path, maintenance_s=3600, cipher=cipher)


def _pair(tmp: Path, cipher: OutboxCipher, i: int) -> dict[str, Outbox]:
    """The sealed and the clear outbox of round i (the candidate first)."""
    return {
        CANDIDATE: _store(tmp / f"sealed-{i}.db", cipher),
        BASELINE: _store(tmp / f"clear-{i}.db", None),
    }


async def _enqueue_pair(tmp: Path, cipher: OutboxCipher, n: int, batch: int, i: int) -> dict:
    """Clear and sealed outboxes side by side, fed the same batches in turns (the harness
    alternates which goes first per batch), each batch timed: load on a shared machine hits
    both alike. Messages per second of each."""
    stores = _pair(tmp, cipher, i)
    for st in stores.values():
        await st.start()
    payloads = [sample_payload(j) for j in range(n)]
    items: list[Any] = []

    def next_batch(b: int) -> None:
        items[:] = [("telemetry", p) for p in payloads[b * batch : (b + 1) * batch]]

    try:
        rounds = await run_rounds_async(
            {name: (lambda st=st: st.enqueue_many(items)) for name, st in stores.items()},
            rounds=-(-n // batch),
            before_round=next_batch,
        )
    finally:
        for st in stores.values():
            await st.stop()
    return {name: n / sum(spent) for name, spent in rounds.results.items()}


async def _drain_pair(tmp: Path, cipher: OutboxCipher, i: int, window: int = 20) -> dict:
    """The drain thread's store work without a network (read a window in drain order, open
    it, journal the acknowledgements, delete in bulk every COMPACT_AT rows as the drain
    does), on the two outboxes in turns, a step each per round. Messages per second."""
    stores = _pair(tmp, cipher, i)
    for st in stores.values():
        await st.start()
    counts = {name: st.queued() for name, st in stores.items()}
    cursors: dict[str, tuple[int, int] | None] = dict.fromkeys(stores, (-1, 0))
    journaled = dict.fromkeys(stores, 0)

    def step(name: str) -> None:
        st, after = stores[name], cursors[name]
        if after is None:
            return  # this one is done
        rows, cursors[name], _ = st.fetch_unsent_blocking(window, after)
        if rows:
            st.record_acked_blocking([r.seq for r in rows])
            journaled[name] += len(rows)
            if journaled[name] >= COMPACT_AT:
                st.apply_acked_blocking()
                journaled[name] = 0
        if cursors[name] is None:
            st.apply_acked_blocking()

    # Each store takes one step per window of rows and one more that finds nothing left.
    steps = max(-(-c // window) for c in counts.values()) + 1
    try:
        rounds = await asyncio.to_thread(
            run_rounds, {name: (lambda n=name: step(n)) for name in stores}, rounds=steps
        )
    finally:
        for st in stores.values():
            await st.stop()
    return {name: counts[name] / sum(spent) for name, spent in rounds.results.items()}


async def _fill(path: Path, cipher: OutboxCipher | None, n: int) -> None:
    store = _store(path, cipher)
    await store.start()
    try:
        await fill_outbox(store, n)
    finally:
        await store.stop()


async def _mqtt_drain(path: Path, cipher: OutboxCipher | None, url: str) -> float:
    store = _store(path, cipher)
    await store.start()
    try:
        return await timed_drain(store, UplinkConfig(url=url, client_id="bench-security"), "bench")
    finally:
        await store.stop()


def _outbox(tmp: Path, args: argparse.Namespace, url: str | None) -> list[Comparison]:
    """Sealed against clear: batched enqueue, the store's drain and (with a broker) the drain
    to mosquitto, over `args.rounds` rounds."""
    cipher = OutboxCipher(DataKeyring.create(tmp / "bench.key"))
    start = load_average()
    rates: dict[str, list[dict[str, float]]] = {"enqueue": [], "drain": []}
    for i in range(max(1, args.rounds)):
        rates["enqueue"].append(asyncio.run(_enqueue_pair(tmp, cipher, args.messages,
                                                          args.batch, i)))  # fmt: skip
        rates["drain"].append(asyncio.run(_drain_pair(tmp, cipher, i)))
    load = Load(start, load_average())
    out = [
        compare([r[CANDIDATE] for r in rates[what]], [r[BASELINE] for r in rates[what]],
                name=name, labels=LABELS, unit="msg/s", goal=Goal(">=", GOAL), load=load)
        for what, name in (("enqueue", f"batched enqueue (batches of {args.batch})"),
                           ("drain", "store drain (window 20, no network)"))
    ]  # fmt: skip
    if url:
        ciphers = {CANDIDATE: cipher, BASELINE: None}

        def fill(i: int) -> None:
            for name, c in ciphers.items():
                asyncio.run(_fill(tmp / f"{name}-{i}-mqtt.db", c, args.messages))
            current[0] = i

        current = [0]
        mqtt = run_rounds(
            {name: (lambda name=name, c=c: asyncio.run(_mqtt_drain(
                tmp / f"{name}-{current[0]}-mqtt.db", c, url)))
             for name, c in ciphers.items()},
            rounds=max(1, args.rounds), measure="result", before_round=fill,
        )  # fmt: skip
        out.append(mqtt.compare(CANDIDATE, BASELINE, name="drain to mosquitto, QoS 1",
                                labels=LABELS, unit="msg/s"))  # fmt: skip
    return out


def _verify(n: int, rounds: int = 5) -> Comparison:
    """`verify_command` (parse, duplicate-key check, Ed25519, expiry, targets, params) per
    second against a bare Ed25519 verify of the same bytes, in turns."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from edgetui.keys import key_id
    from edgetui.remote import Verifier, parse_command, sign_command, verify_command

    key = Ed25519PrivateKey.generate()
    v = Verifier({key_id(key): key.public_key()}, set(), "bench", "camera")
    doc = sign_command(
        key, "ota.apply", targets=["bench"], params={"manifest_url": "https://ota.example/m.json"}
    )
    data = json.dumps(doc).encode()
    cmd = parse_command(data)
    payload, sig = cmd.signing_payload(), base64.b64decode(cmd.signature)
    pub = key.public_key()
    per = max(1, n // rounds)

    def full() -> None:
        for _ in range(per):
            verify_command(data, v)

    def bare() -> None:
        for _ in range(per):
            pub.verify(sig, payload)

    timed = run_rounds({"verify": full, "bare": bare}, rounds=rounds)
    return timed.compare(
        "verify", "bare", name="command verification", unit="/s", key=lambda t: per / t,
        labels=("verify_command", "bare Ed25519 verify"),
    )  # fmt: skip


def cmd_bench_security(ctx: Context) -> int:
    args = ctx.args
    exe = None if args.no_mqtt else find_mosquitto()
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-security-") as tmpname:
        tmp = Path(tmpname)
        broker = LocalBroker(tmp, exe) if exe else None
        try:
            comparisons = _outbox(tmp, args, broker.url if broker else None)
        finally:
            if broker:
                broker.stop()
        verify = _verify(args.verifies)
        audit, audit_figures = append_comparisons(tmp / "audit", records=300, rounds=3)
    audit_figures = append_figures(audit, audit_figures)
    enq, drain = comparisons[:2]
    out: dict[str, Any] = {
        "messages": args.messages,
        "rounds": args.rounds,
        "batch": args.batch,
        "goal": GOAL,
        "ratio_enqueue": enq.ratio,
        "ratio_drain": drain.ratio,
        "verify_per_s": verify.candidate_value,
        "bare_ed25519_per_s": verify.baseline_value,
        "audit_append": audit_figures,
        "meets_goal": all_met(comparisons),
    }
    if len(comparisons) > 2:
        out["ratio_mqtt_drain"] = comparisons[2].ratio
    title = f"bench security: {args.rounds} rounds of {args.messages} telemetry messages"
    lines = [
        f"audit append without fsync: {audit_figures['audit_append_nofsync_us']:.1f} us "
        f"(bare write {audit_figures['bare_append_nofsync_us']:.1f} us); "
        f"head signature {audit_figures['sign_head_ms']:.3f} ms"
    ]
    report([*comparisons, verify, *audit], as_json=args.json, title=title, figures=out,
           lines=lines)  # fmt: skip
    return EXIT_OK
