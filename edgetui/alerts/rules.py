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


def builtin_rules(config: AlertsConfig) -> list[Rule]:
    """The rules on by default (README "Alerts" lists them); each may be overridden or
    disabled by name in `[[alerts.rules]]`."""
    limit = config.temperature_limit_c
    return [
        Rule(
            "cpu_high",
            metric="resources.cpu_percent",
            op=">",
            warning=90.0,
            clear=80.0,
            for_s=300.0,
            summary="CPU above 90% for 5 minutes",
        ),
        Rule(
            "memory_low",
            check="memory_available_percent",
            op="<",
            warning=10.0,
            critical=5.0,
            for_s=60.0,
            summary="memory available below 10%",
        ),
        Rule(
            "disk_low",
            check="disk_free_percent",
            op="<",
            warning=10.0,
            critical=5.0,
            for_s=60.0,
            summary="disk free below 10% (critical below 5%)",
        ),
        Rule(
            "temperature_high",
            metric="resources.temperature_c",
            op=">",
            warning=limit - 5.0,
            critical=limit,
            clear=limit - 8.0,
            for_s=30.0,
            summary=f"temperature over the device limit ({limit:g} °C)",
        ),
        Rule(
            "agent_down",
            check="agent_down",
            op="==",
            critical=1.0,
            for_s=30.0,
            summary="an agent is not running",
        ),
        Rule(
            "agent_crashloop",
            check="agent_restarts",
            op=">=",
            critical=3.0,
            window_s=600.0,
            summary="an agent restarted 3 times or more in 10 minutes",
        ),
        Rule(
            "uplink_offline",
            check="uplink_offline",
            op="==",
            warning=1.0,
            for_s=300.0,
            summary="uplink to the broker offline for 5 minutes",
        ),
        Rule(
            "buffer_full",
            metric="buffer.fill_percent",
            op=">",
            warning=80.0,
            critical=95.0,
            clear=75.0,
            summary="store-and-forward buffer above 80% full",
        ),
        Rule(
            "buffer_stale",
            check="buffer_oldest_ttl_ratio",
            op=">",
            warning=0.5,
            critical=0.9,
            summary="oldest buffered message older than half its TTL",
        ),
        Rule(
            "inference_errors",
            check="inference_error_percent",
            op=">",
            warning=5.0,
            critical=25.0,
            window_s=300.0,
            summary="inference errors or timeouts above 5%",
        ),
        Rule(
            "inference_crashed",
            check="inference_worker_crashes",
            op=">=",
            warning=1.0,
            critical=3.0,
            window_s=600.0,
            summary="the model worker crashed: the rules decide until it is back; look at "
            "inference.worker.last_exit (edgetui status --json), then validate the model",
        ),
        Rule(
            "inference_slow",
            metric="inference.p95_ratio",
            op=">",
            warning=1.5,
            for_s=300.0,
            summary="inference p95 above 1.5x the baseline for 5 minutes",
        ),
        Rule(
            "golden_failed",
            metric="validation.golden_ok",
            op="==",
            critical=0.0,
            summary="golden accuracy below the slot's bar",
        ),
        Rule(
            "drift_high",
            metric="drift.psi_max",
            op=">=",
            warning=0.2,
            for_s=600.0,
            summary="input/output drift: PSI at or above 0.2 for 10 minutes",
        ),
        Rule(
            "confidence_drop",
            metric="drift.confidence_drop",
            op=">=",
            warning=0.15,
            for_s=600.0,
            summary="model confidence fell by 0.15 or more for 10 minutes",
        ),
        Rule(
            "ota_rolled_back",
            check="ota_rolled_back",
            op="==",
            critical=1.0,
            summary="the last update was rolled back",
        ),
        Rule(
            "metrics_listen_failed",
            check="metrics_listen_failed",
            op="==",
            warning=1.0,
            for_s=30.0,
            summary="/metrics not served: cannot listen on [metrics] listen (retrying)",
        ),
    ]


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
