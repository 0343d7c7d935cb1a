"""Reading a rule's value(s) out of a snapshot: dotted metric paths and the built-in checks.

Every reader returns a list of (labels, value) instances; an empty list means "no data"
(the part is not running, or has not measured yet), which keeps a rule inactive: an alert
never fires on missing data.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

Instances = list[tuple[dict[str, str], float]]
MISSING = object()


class PathError(LookupError):
    """A metric path names a key that the (present) section does not have."""


def resolve(snapshot: dict[str, Any], path: str) -> Any:
    """The value at a dotted path; MISSING when the top-level section is absent or a value
    on the way is null; PathError when a present object lacks the key (a typo)."""
    node: Any = snapshot
    parts = path.split(".")
    for i, key in enumerate(parts):
        if node is None:
            return MISSING
        if isinstance(node, dict):
            if key not in node:
                if i == 0:
                    return MISSING
                raise PathError(".".join(parts[: i + 1]))
            node = node[key]
        elif isinstance(node, list) and key.isdigit():
            idx = int(key)
            if idx >= len(node):
                return MISSING
            node = node[idx]
        else:
            raise PathError(".".join(parts[: i + 1]))
    return node


def number(value: Any) -> float | None:
    """A rule compares numbers: booleans are 1/0; anything else non-numeric is no data."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def metric_instances(snapshot: dict[str, Any], path: str) -> Instances:
    """One unlabelled instance for a metric path, or none (no data). A typo raises only at
    the startup check; later a missing leaf is treated as no data."""
    try:
        value = resolve(snapshot, path)
    except PathError:
        return []
    n = None if value is MISSING else number(value)
    return [] if n is None else [({}, n)]


class Window:
    """(time, counter) samples of one counter over a window, to count increments in it.
    A counter that goes down (the part restarted) starts the window over."""

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float]] = deque()

    def add(self, now: float, value: float, window_s: float) -> float:
        """Record a sample; return the increase over the window."""
        if self.samples and value < self.samples[-1][1]:
            self.samples.clear()
        self.samples.append((now, value))
        while len(self.samples) > 1 and self.samples[1][0] <= now - window_s:
            self.samples.popleft()
        return value - self.samples[0][1]


class CheckState:
    """Memory a windowed check keeps between ticks (per rule and instance)."""

    def __init__(self) -> None:
        self.windows: dict[str, Window] = {}

    def window(self, key: str) -> Window:
        win = self.windows.get(key)
        if win is None:
            win = self.windows[key] = Window()
        return win


Check = Callable[[dict[str, Any], float, float, CheckState], Instances]


def _ratio_percent(part: Any, whole: Any) -> float | None:
    p, w = number(part), number(whole)
    if p is None or not w:
        return None
    return round(100.0 * p / w, 2)


def memory_available_percent(
    s: dict[str, Any], now: float, win: float, st: CheckState
) -> Instances:
    r = s.get("resources") or {}
    v = _ratio_percent(r.get("memory_free_mb"), r.get("memory_total_mb"))
    return [] if v is None else [({}, v)]


def disk_free_percent(s: dict[str, Any], now: float, win: float, st: CheckState) -> Instances:
    r = s.get("resources") or {}
    v = _ratio_percent(r.get("disk_free_gb"), r.get("disk_total_gb"))
    return [] if v is None else [({}, v)]


def agent_down(s: dict[str, Any], now: float, win: float, st: CheckState) -> Instances:
    """1 for each agent whose status is neither running nor idle (error, updating)."""
    agents = s.get("agents")
    if not isinstance(agents, list):
        return []
    return [
        ({"agent": str(a.get("name"))}, 0.0 if a.get("status") in ("running", "idle") else 1.0)
        for a in agents
        if isinstance(a, dict)
    ]


def agent_restarts(s: dict[str, Any], now: float, win: float, st: CheckState) -> Instances:
    """Restarts of each agent within the rule's window, from the `restarts` counter."""
    agents = s.get("agents")
    if not isinstance(agents, list):
        return []
    out: Instances = []
    for a in agents:
        n = number(a.get("restarts")) if isinstance(a, dict) else None
        if n is None:
            continue
        name = str(a.get("name"))
        out.append(({"agent": name}, st.window(name).add(now, n, win or 600.0)))
    return out


def uplink_offline(s: dict[str, Any], now: float, win: float, st: CheckState) -> Instances:
    """1 while a configured broker is not connected; no data when no broker is configured."""
    b = s.get("buffer")
    if not isinstance(b, dict) or b.get("state") in (None, "no_broker") or not b.get("broker"):
        return []
    return [({}, 0.0 if b.get("state") == "connected" else 1.0)]


def buffer_oldest_ttl_ratio(s: dict[str, Any], now: float, win: float, st: CheckState) -> Instances:
    """Age of the oldest queued message as a fraction of the TTL (0 when empty)."""
    b = s.get("buffer")
    if not isinstance(b, dict):
        return []
    ttl = number(b.get("ttl_s"))
    if not ttl:
        return []
    age = number(b.get("oldest_age_s")) or 0.0
    return [({}, round(age / ttl, 4))]


def inference_error_percent(s: dict[str, Any], now: float, win: float, st: CheckState) -> Instances:
    """Errors and timeouts as a percentage of the requests made within the window."""
    inf = s.get("inference")
    if not isinstance(inf, dict):
        return []
    req, err, tmo = (number(inf.get(k)) for k in ("requests", "errors", "timeouts"))
    if req is None or err is None:
        return []
    failed = err + (tmo or 0.0)
    d_req = st.window("requests").add(now, req, win or 300.0)
    d_failed = st.window("failed").add(now, failed, win or 300.0)
    if d_req <= 0:
        return []
    return [({}, round(100.0 * min(d_failed, d_req) / d_req, 2))]


def ota_rolled_back(s: dict[str, Any], now: float, win: float, st: CheckState) -> Instances:
    """1 when the newest of the OTA history's commits and rollbacks is a rollback."""
    ota = s.get("ota")
    if not isinstance(ota, dict):
        return []
    if not ota.get("last_rollback_reason"):
        return [({}, 0.0)]
    for entry in ota.get("history") or []:  # newest first
        if not isinstance(entry, dict) or entry.get("result") != "ok":
            continue
        if entry.get("action") == "rollback":
            return [({}, 1.0)]
        if entry.get("action") == "commit":
            return [({}, 0.0)]
    return [({}, 0.0)]


def inference_worker_crashes(
    s: dict[str, Any], now: float, win: float, st: CheckState
) -> Instances:
    """Crashes of the model worker process within the window, from its `crashes` counter;
    at least 3 (critical) while the supervisor has given up, however old the crashes."""
    inf = s.get("inference")
    worker = inf.get("worker") if isinstance(inf, dict) else None
    if not isinstance(worker, dict):
        return []
    n = number(worker.get("crashes"))
    if n is None:
        return []
    win_ = st.window("crashes")
    if not win_.samples:  # the counter starts at 0 with the engine: a crash on load counts
        win_.samples.append((now, 0.0))
    value = win_.add(now, n, win or 600.0)
    if worker.get("state") == "failed" and worker.get("last_exit"):
        value = max(value, 3.0)
    return [({}, value)]


def metrics_listen_failed(s: dict[str, Any], now: float, win: float, st: CheckState) -> Instances:
    """1 while the exporter cannot bind `[metrics] listen` (it retries); no data without a
    listen address or without the metrics part."""
    m = s.get("metrics")
    listen = m.get("listen") if isinstance(m, dict) else None
    if not isinstance(listen, dict):
        return []
    return [({}, 0.0 if listen.get("state") == "serving" else 1.0)]


CHECKS: dict[str, Check] = {
    "memory_available_percent": memory_available_percent,
    "disk_free_percent": disk_free_percent,
    "agent_down": agent_down,
    "agent_restarts": agent_restarts,
    "uplink_offline": uplink_offline,
    "buffer_oldest_ttl_ratio": buffer_oldest_ttl_ratio,
    "inference_error_percent": inference_error_percent,
    "inference_worker_crashes": inference_worker_crashes,
    "ota_rolled_back": ota_rolled_back,
    "metrics_listen_failed": metrics_listen_failed,
}
