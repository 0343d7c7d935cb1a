"""The generic statements of the fleet store, which both engines run (`sql.py`) and which
PostgreSQL replaces with set-based ones (`bulk.py`, keyed by these): their own module, so
neither of the two imports the other."""

from __future__ import annotations

from edgetui.fleet.store.schema import SERIES, TELEMETRY_STATE

_NEWER = "CASE WHEN excluded.{c} IS NULL THEN {t}.{c} WHEN {t}.{c} IS NULL OR excluded.{c} > {t}.{c} THEN excluded.{c} ELSE {t}.{c} END"  # noqa: E501

TOUCH = (
    "INSERT INTO devices (device_id, last_seen, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (device_id) DO UPDATE SET last_seen = "
    + _NEWER.format(c="last_seen", t="devices")
    + ", updated_at = excluded.updated_at"
)
STATUS = (
    "UPDATE devices SET status = ?, status_at = ? "
    "WHERE device_id = ? AND (status_at IS NULL OR status_at <= ?)"
)
TELEMETRY_ROW = (
    "UPDATE devices SET "
    + ", ".join(f"{c} = ?" for c in TELEMETRY_STATE)
    + ", last_telemetry = ?, ingested_by = ? "
    "WHERE device_id = ? AND (last_telemetry IS NULL OR last_telemetry <= ?)"
)
TELEMETRY_POINT = (
    f"INSERT INTO telemetry (device_id, tier, ts, n, {', '.join(SERIES)}) "
    f"VALUES (?, 0, ?, 1, {', '.join('?' for _ in SERIES)}) "
    "ON CONFLICT (device_id, tier, ts) DO NOTHING"
)
ALERT = (
    "INSERT INTO alerts (device_id, alert_key, name, state, severity, value, summary, labels, "
    "since, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (device_id, alert_key) DO UPDATE SET name = excluded.name, "
    "state = excluded.state, severity = excluded.severity, value = excluded.value, "
    "summary = excluded.summary, labels = excluded.labels, since = excluded.since, "
    "at = excluded.at WHERE alerts.at IS NULL OR excluded.at >= alerts.at"
)
ALERT_COUNTS = (
    "UPDATE devices SET "
    "alerts_critical = (SELECT COUNT(*) FROM alerts a WHERE a.device_id = devices.device_id "
    "AND a.state = 'firing' AND a.severity = 'critical'), "
    "alerts_warning = (SELECT COUNT(*) FROM alerts a WHERE a.device_id = devices.device_id "
    "AND a.state = 'firing' AND a.severity = 'warning') WHERE device_id = ?"
)
COMMAND = (
    "INSERT INTO commands (command_id, device_id, command, state, detail, rollout_id, "
    "issued_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (command_id, device_id) DO UPDATE SET "
    "command = COALESCE(excluded.command, commands.command), state = excluded.state, "
    "detail = excluded.detail, rollout_id = COALESCE(commands.rollout_id, excluded.rollout_id), "
    "issued_at = COALESCE(commands.issued_at, excluded.issued_at), "
    "updated_at = excluded.updated_at "
    "WHERE (commands.updated_at IS NULL OR excluded.updated_at >= commands.updated_at) "
    # A device refusing a second delivery of a command id it already has says nothing about
    # that command's outcome: it never overwrites a record (it is kept only when the fleet
    # had none, e.g. someone else replayed a command).
    "AND COALESCE(excluded.detail, '') <> 'replayed'"
)
# A record already kept with the same receive time is the same delivery written again (the
# ingest's spool replayed after a crash between the store's commit and the spool's delete).
AUDIT = (
    "INSERT INTO audit (device_id, received, body) SELECT ?, ?, ? WHERE NOT EXISTS "
    "(SELECT 1 FROM audit WHERE device_id = ? AND received = ? AND body = ?)"
)
ALERT_COLUMNS = "device_id, alert_key, name, state, severity, value, summary, labels, since, at"
COMMAND_COLUMNS = "command_id, device_id, command, state, detail, rollout_id, issued_at, updated_at"
POINT_COLUMNS = f"ts, tier, n, {', '.join(SERIES)}"
