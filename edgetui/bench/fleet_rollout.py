"""The rollout half of `edgetui bench fleet`: on the simulated fleet the ingest half measured
(2% of devices failing their health check, 5% going offline now and then), two rollouts in
4 waves (1, 10, 50, 100%) run by a runner in this process:

1. `--max-failure-rate 0.05`: the 2% failures stay under it; the time until each wave met
   its success threshold (0.9: the offline devices catch up when they are back), with
   min-executed 5% of the fleet;
2. `--max-failure-rate 0.01` of a newer release: the halt. Its delay is measured from the
   moment the failure rate really crossed the maximum, reconstructed from the store: a
   failing device counts as failed from its critical alert's device time, a healthy one as
   succeeded from its commit plus the health window (it cannot count sooner).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

WAVES = [1.0, 10.0, 50.0, 100.0]


def make_key(work: Path) -> tuple[Path, Path]:
    from edgetui.security import generate_keypair

    return generate_keypair(work / "operator")


def _manifest(work: Path, version: str) -> str:
    path = work / f"manifest-{version}.json"
    path.write_text(json.dumps({"version": version}))
    return path.as_uri()


def _run(store: Any, broker: Any, rid: str, timeout_s: float) -> None:
    from edgetui.fleet.rollouts import RolloutRunner

    runner = RolloutRunner(store, broker, rid, owner="bench", tick_s=0.5)
    stop = threading.Event()
    t = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    t.start()
    t.join(timeout_s)
    stop.set()
    t.join(30)


def _crossing(store: Any, rid: str, spec: Any) -> float | None:
    """When failed / executed first exceeded the maximum (after min_executed)."""
    events: list[tuple[float, bool]] = []
    for e in store.executions(rid):
        if e.state == "SUCCEEDED" and e.committed_at is not None:
            events.append((e.committed_at + spec.health_window_s, False))
        elif e.state == "FAILED":
            fired = [
                a.at
                for a in store.alerts(e.device_id)
                if a.name == "ota_health_check" and a.at is not None and a.at >= (e.sent_at or 0)
            ]
            events.append((min(fired) if fired else (e.finished_at or 0.0), True))
    failed = 0
    for executed, (when, bad) in enumerate(sorted(events), start=1):
        failed += bad
        if executed >= spec.min_executed and failed / executed > spec.max_failure_rate:
            return when
    return None


def rollout_phase(
    db: str, broker_url: str, work: Path, key: Path, health_window_s: float, timeout_s: float
) -> dict[str, Any]:
    """Both rollouts; their figures as a JSON-ready dict."""
    from edgetui.fleet import open_store, parse_broker
    from edgetui.fleet.rollouts import RolloutSpec, create_rollout, rollout_status

    broker = parse_broker(broker_url)
    store = open_store(db, work)
    out: dict[str, Any] = {"health_window_s": health_window_s, "waves": WAVES}
    try:
        for name, version, max_rate in (("phased", "2.0.0", 0.05), ("halt", "3.0.0", 0.01)):
            spec = RolloutSpec(
                manifest_url=_manifest(work, version),
                version=version,
                key=str(key),
                waves=list(WAVES),
                success_threshold=0.9,
                max_failure_rate=max_rate,
                # A sample large enough that 2% failing is not a fluke of the first few.
                min_executed=max(10, len(store.devices()) // 20),
                health_window_s=health_window_s,
                timeout_s=timeout_s,
                retry_after_s=30.0,
            )
            r = create_rollout(store, spec, rollout_id=f"bench-{name}")
            _run(store, broker, r.rollout_id, timeout_s + 30)
            r = store.rollout(r.rollout_id)
            doc = rollout_status(r, store.executions(r.rollout_id))
            entry: dict[str, Any] = {
                "state": doc["state"],
                "max_failure_rate": max_rate,
                "wave_done_s": [w["seconds_to_done"] for w in doc["waves"]],
                "counts": doc["counts"],
                "failure_rate": doc["failure_rate"],
                "halt_reason": doc["halt_reason"],
            }
            if r.state == "HALTED":
                crossed = _crossing(store, r.rollout_id, spec)
                entry["halt_wave"] = r.wave + 1
                entry["halt_after_crossing_s"] = (
                    round(r.updated_at - crossed, 3) if crossed is not None else None
                )
                entry["halt_within_window"] = (
                    crossed is not None and r.updated_at - crossed <= health_window_s
                )
            out[name] = entry
    finally:
        store.close()
    return out


def print_rollouts(doc: dict[str, Any]) -> None:
    w = doc["health_window_s"]
    waves = ", ".join(f"{p:g}%" for p in doc["waves"])
    print(f"rollouts in waves {waves}, health window {w:g} s:")
    for name in ("phased", "halt"):
        e = doc.get(name)
        if not isinstance(e, dict):
            continue
        done = ", ".join("-" if s is None else f"{s:.1f} s" for s in e["wave_done_s"])
        c = e["counts"]
        print(
            f"  max failure rate {e['max_failure_rate']:.0%}: {e['state']}; waves done after "
            f"{done}; succeeded {c['SUCCEEDED']}, failed {c['FAILED']}, rejected "
            f"{c['REJECTED']}, timed out {c['TIMED_OUT']}"
        )
        if "halt_wave" in e:
            delay = e["halt_after_crossing_s"]
            met = "within" if e["halt_within_window"] else "NOT within"
            shown = "n/a" if delay is None else f"{delay:.1f} s"
            print(
                f"  halt in wave {e['halt_wave']}, {shown} after the rate was crossed "
                f"({met} one health window): {e['halt_reason']}"
            )
