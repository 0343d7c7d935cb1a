"""The alert engine (the part named "alerts"): evaluates every rule on each runtime snapshot
and turns each transition into a bus CloudEvent, a durable outbox message (class `alert`,
sent on `devices/<id>/alerts`) and a history row; keeps silences and acknowledgements.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgetui.alerts.checks import (
    CHECKS,
    CheckState,
    Instances,
    PathError,
    metric_instances,
    resolve,
)
from edgetui.alerts.db import AlertDB
from edgetui.alerts.rules import KNOWN_SECTIONS, Rule, compile_rules
from edgetui.alerts.state import FIRING, INACTIVE, PENDING, RESOLVED, Alert, alert_key, iso
from edgetui.api import APIError
from edgetui.config import AlertsConfig, ConfigError
from edgetui.models.alerts import AlertCounts, AlertItem, AlertsSection, SilenceItem
from edgetui.models.serde import to_dict

log = logging.getLogger(__name__)
SEVERITIES = ("critical", "warning")  # the levels `counts` counts (the fields of AlertCounts)
EVENT_TYPES = {PENDING: "ALERT_PENDING", FIRING: "ALERT_FIRING", RESOLVED: "ALERT_RESOLVED"}
Listener = Callable[[Alert, str], None]
BAD_PARAMS = -32602


class AlertEngine:
    """Service "alerts". The runtime calls `evaluate(snapshot)` on each tick and puts the
    returned section into the same snapshot.

    With `judge=False` (a one-shot command's runtime, which runs only some parts) it judges
    nothing: the section shows the alerts as alerts.db last recorded them, silences and
    acknowledgements still work, and the user's metric paths are still checked. A partial
    snapshot must neither fire nor resolve what the daemon keeps."""

    name = "alerts"

    def __init__(
        self,
        config: AlertsConfig,
        db_path: Path,
        *,
        device_id: str,
        publish: Callable[[str, dict[str, Any]], None] | None = None,
        enqueue: Callable[[str, dict[str, Any]], Awaitable[Any]] | None = None,
        clock: Callable[[], float] = time.time,
        where: str = "config",
        drill_hooks: Any = None,
        tick_s: float = 0.0,
        judge: bool = True,
    ) -> None:
        self.config = config
        self.judge = judge
        self.where = where
        self.rules: dict[str, Rule] = {r.name: r for r in compile_rules(config, where)}
        self.runbooks: dict[str, str] = {}  # rule -> its runbook's file (set by the runtime)
        self.db = AlertDB(db_path)
        self.device_id = device_id
        self.publish = publish
        self.enqueue = enqueue
        self.clock = clock
        self.active: dict[str, Alert] = {}
        self.silences: dict[str, tuple[float, str, float]] = {}  # name -> until, comment, created
        self.drilling: set[str] = set()  # rules under a fire drill: their alerts say drill
        self.listeners: list[Listener] = []
        self.evaluations = 0
        self.slack = tick_s / 2.0  # see Alert.step: tick jitter never costs a whole tick
        self.drill_hooks = drill_hooks  # drills.DrillHooks, from the runtime
        self._checks: dict[str, CheckState] = {name: CheckState() for name in self.rules}
        self._checked = False
        self.last_snapshot: dict[str, Any] = {}
        self._section: AlertsSection = self._build_section(self.clock())

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self.db.open)
        restored = await asyncio.to_thread(self.db.load_active)
        self.silences = await asyncio.to_thread(self.db.load_silences)
        gone: list[tuple[Alert, str, float]] = []
        now = self.clock()
        for alert in restored:
            if alert.name in self.rules:
                self.active[alert.key] = alert  # still firing: not fired again
            elif self.judge:
                alert.state = RESOLVED  # its rule was removed or disabled
                gone.append((alert, RESOLVED, now))
        if gone:
            await self._emit(gone)
        self._section = self._build_section(now)

    async def stop(self) -> None:
        await asyncio.to_thread(self.db.close)

    # -- evaluation ---------------------------------------------------------------------
    def check_paths(self, snapshot: dict[str, Any]) -> None:
        """Startup check of user metric paths against a real snapshot: a typo is a config
        error naming the rule; a known part's absent section only keeps the rule inactive."""
        for rule in self.rules.values():
            if not rule.user_metric:
                continue
            top = rule.metric.split(".", 1)[0]
            at = f"{self.where}: [[alerts.rules]] {rule.name}: metric"
            if top not in snapshot:
                if top in KNOWN_SECTIONS:
                    continue
                raise ConfigError(
                    f"{at}: {rule.metric!r}: the status has no section {top!r} "
                    f"(sections: {', '.join(sorted(k for k in snapshot if k != 'history'))})"
                )
            try:
                resolve(snapshot, rule.metric)
            except PathError as exc:
                raise ConfigError(f"{at}: {rule.metric!r}: the status has no {exc}") from None

    def _read(self, rule: Rule, snapshot: dict[str, Any], now: float) -> Instances:
        if rule.check:
            return CHECKS[rule.check](snapshot, now, rule.window_s, self._checks[rule.name])
        return metric_instances(snapshot, rule.metric)

    async def evaluate(self, snapshot: dict[str, Any]) -> AlertsSection:
        """Evaluate every rule on `snapshot`; record and announce the transitions; return
        the `alerts` section. The first call checks the user's metric paths (ConfigError)."""
        if not self._checked:
            self.check_paths(snapshot)
            self._checked = True
        now = self.clock()
        if not self.judge:
            self.last_snapshot = snapshot
            self._section = self._build_section(now)
            return self._section
        self.evaluations += 1
        self.last_snapshot = snapshot
        changes: list[tuple[Alert, str, float]] = []
        seen: set[str] = set()
        for rule in self.rules.values():
            for labels, value in self._read(rule, snapshot, now):
                key = alert_key(rule.name, labels)
                seen.add(key)
                alert = self.active.get(key)
                if alert is None:
                    if rule.severity(value) is None:
                        continue  # the common case: nothing to keep for an inactive rule
                    alert = Alert(key, rule.name, {**rule.labels, **labels}, summary=rule.summary)
                self._advance(alert, rule, value, now, changes)
        for key, alert in list(self.active.items()):
            if key not in seen:  # no data now: the part went away, the agent was removed
                self._advance(alert, self.rules[alert.name], None, now, changes)
        if changes:
            await self._emit(changes)
        self._section = self._build_section(now)
        return self._section

    def _advance(
        self,
        alert: Alert,
        rule: Rule,
        value: float | None,
        now: float,
        changes: list[tuple[Alert, str, float]],
    ) -> None:
        was = alert.state
        transition = alert.step(rule, value, now, self.slack)
        if transition is None:
            return
        if was == INACTIVE:
            if rule.name in self.drilling:
                alert.labels["drill"] = True
            self.active[alert.key] = alert
        if transition in (RESOLVED, INACTIVE):
            self.active.pop(alert.key, None)
        changes.append((alert, transition, now))

    async def _emit(self, changes: list[tuple[Alert, str, float]]) -> None:
        """History first (durable), then the bus and the outbox, then the listeners."""
        payloads = [self._payload(a, t, at) for a, t, at in changes]
        try:
            await asyncio.to_thread(self.db.record, changes)
        except Exception:
            log.exception("alerts: cannot record %d transitions", len(changes))
        for (alert, transition, _), data in zip(changes, payloads, strict=True):
            # A firing alert is worth a line in the daemon's log (a drill's is not news).
            loud = transition == FIRING and not alert.labels.get("drill")
            log.log(
                logging.WARNING if loud else logging.INFO,
                "alert %s %s (%s, value %s)",
                alert.key,
                transition,
                alert.severity,
                alert.value,
            )
            if transition not in EVENT_TYPES:
                continue
            if self.publish is not None:
                try:
                    self.publish(EVENT_TYPES[transition], data)
                except Exception:
                    log.exception("alerts: cannot publish %s", alert.key)
            # Uplink, like Prometheus to Alertmanager, only what fires and resolves: a pending
            # alert is local news (the bus, the history), not worth a message to the fleet.
            if self.enqueue is not None and not data["silenced"] and transition != PENDING:
                try:
                    await self.enqueue("alert", {"device_id": self.device_id, **data})
                except Exception as exc:  # a full disk must not stop the evaluation
                    log.warning("alerts: cannot queue %s uplink: %s", alert.key, exc)
        for alert, transition, _ in changes:
            for listener in list(self.listeners):
                listener(alert, transition)

    def _payload(self, alert: Alert, transition: str, at: float) -> dict[str, Any]:
        until = self.silenced_until(alert.name, at)
        return {
            "alertname": alert.name,
            "state": transition,
            "severity": alert.severity,
            "value": alert.value,
            "summary": alert.summary,
            "labels": dict(alert.labels),
            "since": iso(alert.since),
            "at": iso(at),
            "acknowledged": alert.acknowledged,
            "silenced": until is not None,
        }

    # -- views --------------------------------------------------------------------------
    def silenced_until(self, name: str, now: float | None = None) -> float | None:
        entry = self.silences.get(name)
        if entry is None or entry[0] <= (self.clock() if now is None else now):
            return None
        return entry[0]

    def alert_list(self, now: float | None = None) -> list[AlertItem]:
        """Pending and firing alerts: firing first, critical first, oldest first."""
        now = self.clock() if now is None else now
        ordered = sorted(
            self.active.values(),
            key=lambda a: (a.state != FIRING, a.severity != "critical", a.since, a.key),
        )
        return [
            a.public(self.silenced_until(a.name, now), self.runbooks.get(a.name)) for a in ordered
        ]

    def silence_list(self, now: float | None = None) -> list[SilenceItem]:
        now = self.clock() if now is None else now
        return [
            SilenceItem(name=name, until=iso(until), comment=comment, created=iso(created))
            for name, (until, comment, created) in sorted(self.silences.items())
            if until > now
        ]

    def _build_section(self, now: float) -> AlertsSection:
        alerts = self.alert_list(now)
        counts = AlertCounts()
        for a in alerts:
            if a.state == FIRING and a.silenced_until is None and a.severity in SEVERITIES:
                setattr(counts, a.severity, getattr(counts, a.severity) + 1)
        return AlertsSection(
            alerts=alerts,
            counts=counts,
            pending=sum(1 for a in alerts if a.state == PENDING),
            silences=self.silence_list(now),
            rules=len(self.rules),
            evaluated_at=iso(now),
        )

    def section(self) -> AlertsSection:
        """The latest `alerts` section (as put into the snapshot by `evaluate`)."""
        return self._section

    # -- actions ------------------------------------------------------------------------
    def _rule_name(self, params: dict[str, Any], what: str) -> str:
        name = params.get("name")
        if not isinstance(name, str) or name not in self.rules:
            known = ", ".join(sorted(self.rules))
            raise APIError(f"{what}: no alert rule named {name!r} (rules: {known})", BAD_PARAMS)
        return name

    async def ack(self, params: dict[str, Any]) -> dict[str, Any]:
        """Mark the pending/firing alerts of a rule as seen (they keep firing)."""
        name = self._rule_name(params, "ack")
        hit = [a for a in self.active.values() if a.name == name]
        if not hit:
            raise APIError(f"ack: alert {name!r} is not pending or firing", BAD_PARAMS)
        for a in hit:
            a.acknowledged = True
        await asyncio.to_thread(self.db.save_ack, hit)
        self._section = self._build_section(self.clock())
        return self.listing({})

    async def silence(self, params: dict[str, Any]) -> dict[str, Any]:
        """Silence a rule by name until `for_s` from now, with a comment."""
        name = self._rule_name(params, "silence")
        for_s = params.get("for_s")
        if isinstance(for_s, bool) or not isinstance(for_s, int | float) or for_s <= 0:
            raise APIError(f"silence {name}: for_s: expected seconds above 0", BAD_PARAMS)
        comment = str(params.get("comment") or "")
        now = self.clock()
        self.silences[name] = (now + float(for_s), comment, now)
        await asyncio.to_thread(self.db.save_silence, name, now + float(for_s), comment, now)
        self._section = self._build_section(now)
        return self.listing({})

    async def unsilence(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        if name not in self.silences:
            raise APIError(f"unsilence: no silence for {name!r}", BAD_PARAMS)
        del self.silences[name]
        await asyncio.to_thread(self.db.delete_silence, str(name))
        self._section = self._build_section(self.clock())
        return self.listing({})

    def listing(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"alerts": to_dict(self.alert_list()), "silences": to_dict(self.silence_list())}

    async def list_method(self, params: dict[str, Any]) -> dict[str, Any]:
        out = self.listing(params)
        if params.get("all"):
            out["history"] = await self.history(params)
        return out

    async def history(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        limit = params.get("limit", 100)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise APIError("history: limit: expected a positive integer", BAD_PARAMS)
        return await asyncio.to_thread(self.db.history, limit)

    async def rules_method(self, _: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "name": r.name,
                "metric": r.metric,
                "check": r.check,
                "op": r.op,
                "warning": r.warning,
                "critical": r.critical,
                "clear": r.clear,
                "for_s": r.for_s,
                "keep_firing_for_s": r.keep_firing_for_s,
                "window_s": r.window_s,
                "summary": r.summary,
                "labels": r.labels,
                "builtin": r.builtin,
            }
            for r in self.rules.values()
        ]

    async def drill(self, params: dict[str, Any]) -> dict[str, Any]:
        """Run a fire drill (drills.py); the reply is its report."""
        from edgetui.alerts.drills import DrillError, run_drill

        if self.drill_hooks is None:
            raise APIError("drills need the runtime's hooks", BAD_PARAMS)
        try:
            return await run_drill(str(params.get("name")), self, self.drill_hooks, params)
        except DrillError as exc:
            raise APIError(str(exc), BAD_PARAMS) from None

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        async def listing(params: dict[str, Any]) -> dict[str, Any]:
            return await self.list_method(params)

        return {
            "alerts.list": listing,
            "alerts.ack": self.ack,
            "alerts.silence": self.silence,
            "alerts.unsilence": self.unsilence,
            "alerts.history": self.history,
            "alerts.rules": self.rules_method,
            "alerts.drill": self.drill,
        }
