"""Alerts: threshold rules evaluated on every runtime snapshot, with Prometheus-like states.

Offers `AlertEngine` (the part named "alerts": rules with warning/critical thresholds,
`for_s`, `keep_firing_for_s` and a `clear` level for hysteresis; states inactive -> pending
-> firing -> resolved; each transition a bus CloudEvent, an outbox message of class `alert`
and a history row in `alerts.db`; silences and acknowledgements, all kept across restarts),
`compile_rules`/`builtin_rules` (the built-in rules merged with `[[alerts.rules]]`), and the
fire drills (`run_drill`, `DrillHooks`, `DRILLS`) that prove the alerts fire.
"""

from edgetui.alerts.drills import DRILLS, DrillHooks, run_drill
from edgetui.alerts.engine import EVENT_TYPES, AlertEngine
from edgetui.alerts.rules import Rule, builtin_rules, compile_rules
from edgetui.alerts.wiring import build_engine, drill_hooks

__all__ = [
    "DRILLS",
    "EVENT_TYPES",
    "AlertEngine",
    "DrillHooks",
    "Rule",
    "build_engine",
    "builtin_rules",
    "compile_rules",
    "drill_hooks",
    "run_drill",
]
