"""The rollout half of `edgetui bench fleet`: on the simulated fleet the ingest half measured
(2% of devices failing their health check, 5% going offline now and then), two rollouts in
4 waves (1, 10, 50, 100%) run by a runner in this process:

1. `--max-failure-rate 0.05`: the 2% failures stay under it; the time until each wave met
   its success threshold (0.9: the offline devices catch up when they are back), with
   min-executed 5% of the fleet;
2. `--max-failure-rate 0.01` of a newer release: the halt. Its delay is measured from the
   moment the failure rate really crossed the maximum (the runner's rule, judge.halt_rate),
   reconstructed from the store in the devices' own time: a failing device counts as failed
   from its critical alert, a healthy one as executed from its commit (its install result's
   time plus the simulated health check).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

WAVES = [1.0, 10.0, 50.0, 100.0]
SIM_INSTALL_S, SIM_HEALTH_S = 1.0, 2.0  # the simulated update: installed, then health checked


def make_key(work: Path) -> tuple[Path, Path]:
    from edgetui.keys import generate_keypair

    return generate_keypair(work / "operator")


def _manifest(work: Path, version: str) -> str:
    path = work / f"manifest-{version}.json"
    path.write_text(json.dumps({"version": version}))
    return path.as_uri()


def _run(store: Any, broker: Any, rid: str, timeout_s: float) -> dict[str, Any]:
    """Run the rollout to its end; how long the runner's turns took (each with the commands
    it published)."""
    from edgetui.fleet.rollouts import RolloutRunner

    turns: list[tuple[float, int]] = []  # (seconds, commands published in it)

    class Timed(RolloutRunner):
        def turn(self) -> Any:
            t0, sent = time.perf_counter(), self.published
            try:
                return super().turn()
            finally:
                turns.append((time.perf_counter() - t0, self.published - sent))

    runner = Timed(store, broker, rid, owner="bench", tick_s=0.5)
    stop = threading.Event()
    t = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    t.start()
    t.join(timeout_s)
    stop.set()
    t.join(30)
    quiet = [s for s, n in turns if n == 0] or [0.0]
    busiest = max(turns, key=lambda x: x[0], default=(0.0, 0))
    return {
        "turns": len(turns),
        "turn_p50_s": round(statistics.median(quiet), 3),
        "turn_max_s": round(busiest[0], 3),
        "turn_max_published": busiest[1],
        "published": runner.published,
    }


def _committed(store: Any, e: Any) -> float:
    """The device's own time of its commit: its install result's time plus the simulated
    health check (the runner's committed_at is when a turn saw it, after the ingest)."""
    for c in store.commands(e.device_id, limit=10):
        if c.command_id == e.command_id and c.state == "SUCCEEDED" and c.updated_at:
            return float(c.updated_at) + SIM_HEALTH_S
    return float(e.committed_at)


def _crossing(store: Any, rid: str, spec: Any) -> float | None:
    """When the halt's failure rate (judge.halt_rate) first exceeded the maximum, after
    min_executed, in the devices' own time: a device counts as executed from its commit or,
    failing its health check first, from its critical alert."""
    events: list[tuple[float, int, int]] = []  # (when, +executed, +failed)
    for e in store.executions(rid):
        if e.state in ("SUCCEEDED", "INSTALLED", "FAILED") and e.committed_at is not None:
            events.append((_committed(store, e), 1, 0))
        if e.state == "FAILED":
            fired = [
                a.at
                for a in store.alerts(e.device_id)
                if a.name == "ota_health_check" and a.at is not None and a.at >= (e.sent_at or 0)
            ]
            when = min(fired) if fired else (e.finished_at or 0.0)
            events.append((when, 0 if e.committed_at is not None else 1, 1))
    executed = failed = 0
    for when, ran, bad in sorted(events):
        executed, failed = executed + ran, failed + bad
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
            runner = _run(store, broker, r.rollout_id, timeout_s + 30)
            r = store.rollout(r.rollout_id)
            doc = rollout_status(r, store.executions(r.rollout_id))
            entry: dict[str, Any] = {
                "state": doc["state"],
                "max_failure_rate": max_rate,
                "wave_done_s": [w["seconds_to_done"] for w in doc["waves"]],
                "counts": doc["counts"],
                "failure_rate": doc["failure_rate"],
                "halt_reason": doc["halt_reason"],
                "failed_reasons": doc["failed_reasons"],
                "runner": runner,
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
    cpu = doc.get("cpu_percent")
    if cpu:
        shown = ", ".join(f"{n} {v:.1f}" for n, v in cpu.items())
        print(f"  CPU % of a core over both rollouts ({doc['seconds']:.0f} s): {shown}")
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
        if e.get("failed_reasons"):
            why = ", ".join(f"{n} {k}" for k, n in sorted(e["failed_reasons"].items()))
            print(f"    failed: {why}")
        run = e.get("runner")
        if run:
            print(
                f"    runner: {run['turns']} turns, p50 {1000 * run['turn_p50_s']:.0f} ms "
                f"without sends, longest {run['turn_max_s']:.2f} s "
                f"({run['turn_max_published']} commands signed, recorded and published)"
            )
        if "halt_wave" in e:
            delay = e["halt_after_crossing_s"]
            met = "within" if e["halt_within_window"] else "NOT within"
            shown = "n/a" if delay is None else f"{delay:.1f} s"
            print(
                f"  halt in wave {e['halt_wave']}, {shown} after the rate was crossed "
                f"({met} one health window): {e['halt_reason']}"
            )
