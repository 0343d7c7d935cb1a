"""Alert rules: the built-in set, the user's `[[alerts.rules]]` merged over it, and the
comparison each rule makes.

A rule reads either a dotted `metric` path in the status (`resources.cpu_percent`) or a
built-in `check` (a function of the snapshot, see checks.py) that may yield several
instances, each with its own labels (one per agent, say).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edgetui.config import AlertRuleConfig, AlertsConfig, ConfigError

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
SEVERITIES = ("critical", "warning")  # the worse first

# Top-level sections that parts add when they run (this branch's parts and the validation
# half's): a rule on one of them is inactive while the part is absent, not an error.
KNOWN_SECTIONS = frozenset(
    {
        "resources", "bus", "inference", "agents", "buffer", "ota", "alerts", "validation",
        "drift", "metrics",
    }
)  # fmt: skip


@dataclass
class Rule:
    """A compiled rule: what to read, how to compare, how long to wait."""

    name: str
    metric: str = ""  # dotted path; "" when `check` is used
    check: str = ""  # built-in check name (checks.CHECKS)
    op: str = ">"
    warning: float | None = None
    critical: float | None = None
    clear: float | None = None
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    window_s: float = 0.0
    summary: str = ""
    enabled: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    builtin: bool = False
    user_metric: bool = False  # the metric path came from the user's config: check it exists

    def severity(self, value: float) -> str | None:
        """ "critical", "warning" or None for a value, by the thresholds alone."""
        compare = OPS[self.op]
        if self.critical is not None and compare(value, self.critical):
            return "critical"
        if self.warning is not None and compare(value, self.warning):
            return "warning"
        return None

    def holds(self, value: float) -> bool:
        """While firing: does the condition still hold? With `clear` set (hysteresis) the
        value must pass the clear level to count as gone, else the lowest threshold."""
        if self.clear is not None:
            return OPS[self.op](value, self.clear)
        return self.severity(value) is not None

    def threshold_text(self) -> str:
        parts = []
        if self.warning is not None:
            parts.append(f"warning {self.op} {self.warning:g}")
        if self.critical is not None:
            parts.append(f"critical {self.op} {self.critical:g}")
        return ", ".join(parts)


# The built-in rules, one a row: name, what it reads (a dotted metric path, or a check
# name: no dot), op, warning, critical, clear, for_s, window_s, summary. The temperature
# rule's levels follow the device's limit, so builtin_rules() adds it.
_Row = tuple[str, str, str, float | None, float | None, float | None, float, float, str]
_BUILTIN: tuple[_Row, ...] = (
    ("cpu_high", "resources.cpu_percent", ">", 90.0, None, 80.0, 300.0, 0.0,
     "CPU above 90% for 5 minutes"),
    ("memory_low", "memory_available_percent", "<", 10.0, 5.0, None, 60.0, 0.0,
     "memory available below 10%"),
    ("disk_low", "disk_free_percent", "<", 10.0, 5.0, None, 60.0, 0.0,
     "disk free below 10% (critical below 5%)"),
    ("agent_down", "agent_down", "==", None, 1.0, None, 30.0, 0.0,
     "an agent is not running"),
    ("agent_crashloop", "agent_restarts", ">=", None, 3.0, None, 0.0, 600.0,
     "an agent restarted 3 times or more in 10 minutes"),
    ("uplink_offline", "uplink_offline", "==", 1.0, None, None, 300.0, 0.0,
     "uplink to the broker offline for 5 minutes"),
    ("buffer_full", "buffer.fill_percent", ">", 80.0, 95.0, 75.0, 0.0, 0.0,
     "store-and-forward buffer above 80% full"),
    ("buffer_stale", "buffer_oldest_ttl_ratio", ">", 0.5, 0.9, None, 0.0, 0.0,
     "oldest buffered message older than half its TTL"),
    ("inference_errors", "inference_error_percent", ">", 5.0, 25.0, None, 0.0, 300.0,
     "inference errors or timeouts above 5%"),
    ("inference_crashed", "inference_worker_crashes", ">=", 1.0, 3.0, None, 0.0, 600.0,
     "the model worker crashed: the rules decide until it is back; look at "
     "inference.worker.last_exit (edgetui status --json), then validate the model"),
    ("inference_slow", "inference.p95_ratio", ">", 1.5, None, None, 300.0, 0.0,
     "inference p95 above 1.5x the baseline for 5 minutes"),
    ("golden_failed", "validation.golden_ok", "==", None, 0.0, None, 0.0, 0.0,
     "golden accuracy below the slot's bar"),
    ("drift_high", "drift.psi_max", ">=", 0.2, None, None, 600.0, 0.0,
     "input/output drift: PSI at or above 0.2 for 10 minutes"),
    ("confidence_drop", "drift.confidence_drop", ">=", 0.15, None, None, 600.0, 0.0,
     "model confidence fell by 0.15 or more for 10 minutes"),
    ("ota_rolled_back", "ota_rolled_back", "==", None, 1.0, None, 0.0, 0.0,
     "the last update was rolled back"),
    ("metrics_listen_failed", "metrics_listen_failed", "==", 1.0, None, None, 30.0, 0.0,
     "/metrics not served: cannot listen on [metrics] listen (retrying)"),
)  # fmt: skip
_TEMPERATURE_AFTER = "disk_low"  # where the temperature rule stands in the list


_COLUMNS = ("name", "reads", "op", "warning", "critical", "clear", "for_s", "window_s", "summary")


def _builtin(row: _Row) -> Rule:
    values: dict[str, Any] = dict(zip(_COLUMNS, row, strict=True))
    reads = values.pop("reads")
    metric, check = (reads, "") if "." in reads else ("", reads)
    return Rule(**values, metric=metric, check=check)


def builtin_rules(config: AlertsConfig) -> list[Rule]:
    """The rules on by default (README "Alerts" lists them); each may be overridden or
    disabled by name in `[[alerts.rules]]`."""
    limit = config.temperature_limit_c
    rules: list[Rule] = []
    for row in _BUILTIN:
        rules.append(_builtin(row))
        if row[0] == _TEMPERATURE_AFTER:
            rules.append(
                Rule(
                    "temperature_high",
                    metric="resources.temperature_c",
                    op=">",
                    warning=limit - 5.0,
                    critical=limit,
                    clear=limit - 8.0,
                    for_s=30.0,
                    summary=f"temperature over the device limit ({limit:g} °C)",
                )
            )
    return rules


def _override(rule: Rule, cfg: AlertRuleConfig) -> Rule:
    changes = {
        f.name: getattr(cfg, f.name)
        for f in dataclasses.fields(cfg)
        if f.name not in ("name", "labels") and getattr(cfg, f.name) is not None
    }
    if cfg.metric is not None:
        changes["check"] = ""
        changes["user_metric"] = True
    out = dataclasses.replace(rule, **changes)
    out.labels = {**rule.labels, **cfg.labels}
    return out


def compile_rules(config: AlertsConfig, where: str = "config") -> list[Rule]:
    """Built-ins merged with `[[alerts.rules]]` (same name: override; new name: a new rule).
    Raises ConfigError naming the rule and the key; disabled rules are left out."""
    from edgetui.alerts.checks import CHECKS

    rules = {r.name: dataclasses.replace(r, builtin=True) for r in builtin_rules(config)}
    for cfg in config.rules:
        at = f"{where}: [[alerts.rules]] {cfg.name}"
        if cfg.name in rules:
            rules[cfg.name] = _override(rules[cfg.name], cfg)
        else:
            if cfg.metric is None:
                raise ConfigError(
                    f"{at}: metric: required for a new rule (built-ins: "
                    f"{', '.join(r.name for r in builtin_rules(config))})"
                )
            rules[cfg.name] = _override(Rule(cfg.name), cfg)
        rule = rules[cfg.name]
        if rule.warning is None and rule.critical is None:
            raise ConfigError(f"{at}: warning: a rule needs warning and/or critical")
        if rule.check and rule.check not in CHECKS:  # pragma: no cover - built-ins are known
            raise ConfigError(f"{at}: check: unknown check {rule.check!r}")
    return [r for r in rules.values() if r.enabled]
