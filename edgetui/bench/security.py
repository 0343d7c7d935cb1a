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
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from edgetui.bench.broker import LocalBroker, find_mosquitto
from edgetui.bench.buffer import _sample_payload
from edgetui.cli.context import EXIT_OK, Context, print_json
from edgetui.config import StoreConfig, UplinkConfig
from edgetui.security import DataKeyring, OutboxCipher
from edgetui.store import Outbox

GOAL = 0.9


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("security", help="sealing, command verification (and audit) costs")
    p.add_argument("--messages", type=int, default=10000, help="messages per round (10000)")
    p.add_argument("--rounds", type=int, default=5, help="sealed/clear rounds (default 5)")
    p.add_argument("--batch", type=int, default=200, help="messages per batched enqueue")
    p.add_argument("--verifies", type=int, default=2000, help="command verifications timed")
    p.add_argument("--no-mqtt", action="store_true", help="skip the drain to mosquitto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_security)


def _store(path: Path, cipher: OutboxCipher | None) -> Outbox:
    cfg = StoreConfig(max_messages=10**7, max_bytes=10**10, encrypt=cipher is not None)
    return Outbox(cfg, path, maintenance_s=3600, cipher=cipher)


async def _enqueue_pair(tmp: Path, cipher: OutboxCipher, n: int, batch: int, i: int) -> dict:
    """Clear and sealed outboxes side by side, fed the same batches in turns (which goes
    first alternates per batch), each batch timed: load on a shared machine hits both alike."""
    stores = {
        "clear": _store(tmp / f"clear-{i}.db", None),
        "sealed": _store(tmp / f"sealed-{i}.db", cipher),
    }
    for st in stores.values():
        await st.start()
    spent = {"clear": 0.0, "sealed": 0.0}
    try:
        payloads = [_sample_payload(j) for j in range(n)]
        for b, k in enumerate(range(0, n, batch)):
            items = [("telemetry", p) for p in payloads[k : k + batch]]
            order = ["clear", "sealed"] if b % 2 else ["sealed", "clear"]
            for name in order:
                t0 = time.perf_counter()
                await stores[name].enqueue_many(items)
                spent[name] += time.perf_counter() - t0
    finally:
        for st in stores.values():
            await st.stop()
    return {name: n / t for name, t in spent.items()}


async def _drain_pair(tmp: Path, cipher: OutboxCipher, i: int, window: int = 20) -> dict:
    """The drain thread's store work without a network (read a window in drain order, open
    it, journal the acknowledgements, delete in bulk), on the two outboxes in turns."""
    stores = {
        "clear": _store(tmp / f"clear-{i}.db", None),
        "sealed": _store(tmp / f"sealed-{i}.db", cipher),
    }
    for st in stores.values():
        await st.start()
    counts = {name: st.queued() for name, st in stores.items()}

    def step(st: Outbox, after: tuple[int, int]) -> tuple[int, int] | None:
        rows, last, _ = st.fetch_unsent_blocking(window, after)
        if rows:
            st.record_acked_blocking([r.seq for r in rows])
            if len(st._unapplied) >= 512:
                st.apply_acked_blocking()
        return last

    def run() -> dict[str, float]:
        spent = {"clear": 0.0, "sealed": 0.0}
        cursors: dict[str, tuple[int, int] | None] = {"clear": (-1, 0), "sealed": (-1, 0)}
        b = 0
        while any(c is not None for c in cursors.values()):
            b += 1
            for name in ["clear", "sealed"] if b % 2 else ["sealed", "clear"]:
                after = cursors[name]
                if after is None:
                    continue
                t0 = time.perf_counter()
                cursors[name] = step(stores[name], after)
                if cursors[name] is None:
                    stores[name].apply_acked_blocking()
                spent[name] += time.perf_counter() - t0
        return spent

    try:
        spent = await asyncio.to_thread(run)
    finally:
        for st in stores.values():
            await st.stop()
    return {name: counts[name] / t for name, t in spent.items()}


async def _fill(path: Path, cipher: OutboxCipher | None, n: int) -> None:
    store = _store(path, cipher)
    await store.start()
    try:
        for k in range(0, n, 1000):
            await store.enqueue_many(
                [("telemetry", _sample_payload(k + j)) for j in range(min(1000, n - k))]
            )
    finally:
        await store.stop()


async def _mqtt_drain(path: Path, cipher: OutboxCipher | None, url: str) -> float:
    from edgetui.bench.buffer import timed_drain

    store = _store(path, cipher)
    await store.start()
    try:
        return await timed_drain(store, UplinkConfig(url=url, client_id="bench-security"), "bench")
    finally:
        await store.stop()


def _outbox_rounds(tmp: Path, args: argparse.Namespace, url: str | None) -> dict[str, list]:
    cipher = OutboxCipher(DataKeyring.create(tmp / "bench.key"))
    rates: dict[str, list[float]] = {
        k: [] for k in ("enq_clear", "enq_sealed", "drain_clear", "drain_sealed")
    }
    if url:
        rates.update(mqtt_clear=[], mqtt_sealed=[])
    for i in range(max(1, args.rounds)):
        enq = asyncio.run(_enqueue_pair(tmp, cipher, args.messages, args.batch, i))
        drain = asyncio.run(_drain_pair(tmp, cipher, i))
        for name in ("clear", "sealed"):
            rates[f"enq_{name}"].append(enq[name])
            rates[f"drain_{name}"].append(drain[name])
        if url:
            order = [("clear", None), ("sealed", cipher)]
            for name, c in order if i % 2 == 0 else reversed(order):
                db = tmp / f"{name}-{i}-mqtt.db"
                asyncio.run(_fill(db, c, args.messages))
                rates[f"mqtt_{name}"].append(asyncio.run(_mqtt_drain(db, c, url)))
    return rates


def _verify_rates(n: int) -> dict[str, float]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from edgetui.security import key_id, sign_command, verify_command
    from edgetui.security.commands import Verifier, parse_command

    key = Ed25519PrivateKey.generate()
    v = Verifier({key_id(key): key.public_key()}, set(), "bench", "camera")
    doc = sign_command(
        key, "ota.apply", targets=["bench"], params={"manifest_url": "https://ota.example/m.json"}
    )
    data = json.dumps(doc).encode()
    cmd = parse_command(data)
    payload, sig = cmd.signing_payload(), __import__("base64").b64decode(cmd.signature)
    pub = key.public_key()
    t0 = time.perf_counter()
    for _ in range(n):
        pub.verify(sig, payload)
    bare = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(n):
        verify_command(data, v)
    full = n / (time.perf_counter() - t0)
    return {"verify_per_s": round(full, 1), "bare_ed25519_per_s": round(bare, 1)}


def audit_append(tmp: Path, n: int) -> dict[str, Any]:
    """The audit trail's append cost: µs per record against a bare fsynced append of the
    same bytes, in the same run."""
    from edgetui.bench.audit import measure_append

    return measure_append(tmp / "audit", records=n, rounds=3)


def cmd_bench_security(ctx: Context) -> int:
    args = ctx.args
    exe = None if args.no_mqtt else find_mosquitto()
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-security-") as tmpname:
        tmp = Path(tmpname)
        broker = LocalBroker(tmp, exe) if exe else None
        try:
            rates = _outbox_rounds(tmp, args, broker.url if broker else None)
        finally:
            if broker:
                broker.stop()
        audit = audit_append(tmp, 300)
    med = {k: statistics.median(v) for k, v in rates.items()}
    out: dict[str, Any] = {
        "messages": args.messages,
        "rounds": args.rounds,
        "batch": args.batch,
        **{f"{k}_per_s": round(v, 1) for k, v in med.items()},
        "ratio_enqueue": round(med["enq_sealed"] / med["enq_clear"], 3),
        "ratio_drain": round(med["drain_sealed"] / med["drain_clear"], 3),
        "round_ratios_enqueue": [
            round(s / c, 3) for s, c in zip(rates["enq_sealed"], rates["enq_clear"], strict=True)
        ],
        "round_ratios_drain": [
            round(s / c, 3)
            for s, c in zip(rates["drain_sealed"], rates["drain_clear"], strict=True)
        ],
        "goal": GOAL,
    }
    if "mqtt_clear" in med:
        out["ratio_mqtt_drain"] = round(med["mqtt_sealed"] / med["mqtt_clear"], 3)
    out.update(_verify_rates(args.verifies))
    out["audit_append"] = audit
    out["meets_goal"] = out["ratio_enqueue"] >= GOAL and out["ratio_drain"] >= GOAL
    if args.json:
        print_json(out)
        return EXIT_OK
    print(f"bench security: {args.rounds} rounds of {args.messages} telemetry messages")
    print(f"{'':32}{'clear':>10}{'sealed':>10}{'ratio':>8}")
    rows = [
        ("batched enqueue msg/s", "enq", "ratio_enqueue"),
        ("store drain msg/s", "drain", "ratio_drain"),
    ]
    if "mqtt_clear" in med:
        rows.append(("drain to mosquitto msg/s", "mqtt", "ratio_mqtt_drain"))
    for label, key, ratio in rows:
        print(
            f"{label:32}{med[f'{key}_clear']:>10.0f}{med[f'{key}_sealed']:>10.0f}{out[ratio]:>8.3f}"
        )
    print("enqueue ratio per round   " + ", ".join(f"{r:.2f}" for r in out["round_ratios_enqueue"]))
    print("drain ratio per round     " + ", ".join(f"{r:.2f}" for r in out["round_ratios_drain"]))
    verdict = "meets" if out["meets_goal"] else "below"
    print(f"sealed / clear: {verdict} the goal of >= {GOAL}x (batched enqueue and drain)")
    print(
        f"command verification      {out['verify_per_s']:>10.0f} /s "
        f"(bare Ed25519 verify {out['bare_ed25519_per_s']:.0f} /s)"
    )
    print(
        f"audit append              {audit['audit_append_us']:>10.1f} us "
        f"(bare write+fsync {audit['bare_append_us']:.1f} us, {audit['ratio']:.2f}x; "
        f"without fsync {audit['audit_append_nofsync_us']:.1f} us)"
    )
    return EXIT_OK
