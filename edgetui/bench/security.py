"""`edgetui bench security`: what encryption at rest and signed commands cost, each against
a baseline measured in the same run.

- Outbox, batched enqueue: sealed (AES-256-GCM) against clear rows, same payloads, rounds
  taking turns (which goes first alternates); medians compared (goal: sealed >= 0.9x).
- Outbox, drain: the store's side of the drain (read a batch in drain order, open it,
  journal the acknowledgements, delete in bulk) sealed against clear, same rounds; and,
  when mosquitto is installed, the whole drain to a local broker at QoS 1 both ways.
- Command verification: `verify_command` (parse, duplicate-key check, Ed25519, expiry,
  targets, params) per second, against a bare Ed25519 verify of the same bytes.
- Audit append: measured by `audit_append` below when the audit trail is on this branch
  (another engineer's part); until then it says so instead of printing a figure.
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


async def _enqueue(path: Path, cipher: OutboxCipher | None, n: int, batch: int) -> float:
    store = _store(path, cipher)
    await store.start()
    try:
        payloads = [_sample_payload(i) for i in range(n)]
        t0 = time.perf_counter()
        for k in range(0, n, batch):
            await store.enqueue_many([("telemetry", p) for p in payloads[k : k + batch]])
        return n / (time.perf_counter() - t0)
    finally:
        await store.stop()


async def _store_drain(path: Path, cipher: OutboxCipher | None, window: int = 20) -> float:
    """The drain thread's store work without a network: read, open, journal, delete."""
    store = _store(path, cipher)
    await store.start()
    n = store.queued()

    def run() -> None:
        after: tuple[int, int] = (-1, 0)
        while True:
            rows, last, _ = store.fetch_unsent_blocking(window, after)
            if last is None:
                break
            after = last
            if rows:
                store.record_acked_blocking([r.seq for r in rows])
                if len(store._unapplied) >= 512:
                    store.apply_acked_blocking()
        store.apply_acked_blocking()

    try:
        t0 = time.perf_counter()
        await asyncio.to_thread(run)
        return n / (time.perf_counter() - t0)
    finally:
        await store.stop()


async def _mqtt_drain(path: Path, cipher: OutboxCipher | None, url: str) -> float:
    from edgetui.uplink import Uplink

    store = _store(path, cipher)
    await store.start()
    n = store.queued()
    up = Uplink(UplinkConfig(url=url, client_id="bench-security"), store, device_id="bench")
    try:
        await up.start()
        while up.state != "connected":
            if up.state == "backoff":
                raise RuntimeError(f"uplink cannot connect: {up.state_text()}")
            await asyncio.sleep(0.01)
        assert up.connected_since is not None
        result = await up.flush(timeout=600)
        elapsed = time.time() - up.connected_since
        if not result["ok"]:
            raise RuntimeError(f"drain did not finish: {result}")
    finally:
        await up.stop()
        await store.stop()
    return n / elapsed


def _outbox_rounds(tmp: Path, args: argparse.Namespace, url: str | None) -> dict[str, list]:
    cipher = OutboxCipher(DataKeyring.create(tmp / "bench.key"))
    rates: dict[str, list[float]] = {
        k: [] for k in ("enq_clear", "enq_sealed", "drain_clear", "drain_sealed")
    }
    if url:
        rates.update(mqtt_clear=[], mqtt_sealed=[])
    for i in range(max(1, args.rounds)):
        order = [("clear", None), ("sealed", cipher)]
        if i % 2:
            order.reverse()
        for name, c in order:
            db = tmp / f"{name}-{i}.db"
            rates[f"enq_{name}"].append(asyncio.run(_enqueue(db, c, args.messages, args.batch)))
            rates[f"drain_{name}"].append(asyncio.run(_store_drain(db, c)))
            if url:
                db2 = tmp / f"{name}-{i}-mqtt.db"
                asyncio.run(_enqueue(db2, c, args.messages, 1000))
                rates[f"mqtt_{name}"].append(asyncio.run(_mqtt_drain(db2, c, url)))
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


def audit_append(tmp: Path, n: int) -> dict[str, float] | None:
    """The audit trail's append cost (records/s and µs each, against a bare fsynced
    append of the same bytes). Hook: fill in when edgetui.security's audit trail is on
    this branch (sec-access); returns None until then."""
    return None


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
        audit = audit_append(tmp, 1000)
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
    if audit is None:
        print("audit append              not measured: the audit trail is not on this branch")
    return EXIT_OK
