"""The fleet store's tables, one text for both engines (`{real}` is the float type).

Times are epoch seconds. Schema version 1: devices, alerts, telemetry (tiered), commands,
audit. Version 2 adds the phased rollouts: `rollouts` (spec, state, wave, lease) and
`executions` (one row per target device); `commands.rollout_id` links a command record to
its rollout. Version 3 adds `retrain_samples`: the decision inputs devices send when a
drift or confidence alert fires (`devices/<id>/retrain`), one row per (device, sample id), so
a resend is the same row. Every table is created if missing, so an older store steps up in
place.
"""

from __future__ import annotations

SCHEMA_VERSION = 3

DEVICE_COLUMNS = (
    "device_id",
    "device_type",
    "status",
    "status_at",
    "version",
    "release",
    "slot",
    "slot_status",
    "cpu_percent",
    "memory_free_mb",
    "memory_total_mb",
    "inference_p50_ms",
    "inference_p95_ms",
    "buffer_queued",
    "agent_status",
    "alerts_critical",
    "alerts_warning",
    "last_seen",
    "last_telemetry",
    "ingested_by",
    "updated_at",
)

# What a telemetry message sets on the device row (newest device timestamp wins): every
# column but the key, the status, the alert counts and the bookkeeping, in the same order.
_COUNTED_ON = DEVICE_COLUMNS.index("alerts_critical")  # the counts, then the bookkeeping
NOT_TELEMETRY = frozenset({"device_id", "status", "status_at", *DEVICE_COLUMNS[_COUNTED_ON:]})
TELEMETRY_STATE = tuple(c for c in DEVICE_COLUMNS if c not in NOT_TELEMETRY)

# Averaged into coarser buckets as telemetry ages.
SERIES = ("cpu_percent", "memory_free_mb", "inference_p50_ms", "inference_p95_ms", "buffer_queued")

TABLES = """
CREATE TABLE IF NOT EXISTS fleet_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    device_id        TEXT PRIMARY KEY,
    device_type      TEXT,
    status           TEXT,
    status_at        {real},
    version          TEXT,
    release          TEXT,
    slot             TEXT,
    slot_status      TEXT,
    cpu_percent      {real},
    memory_free_mb   {real},
    memory_total_mb  {real},
    inference_p50_ms {real},
    inference_p95_ms {real},
    buffer_queued    BIGINT,
    agent_status     TEXT,
    alerts_critical  INTEGER NOT NULL DEFAULT 0,
    alerts_warning   INTEGER NOT NULL DEFAULT 0,
    last_seen        {real},
    last_telemetry   {real},
    ingested_by      TEXT,
    updated_at       {real}
);
CREATE INDEX IF NOT EXISTS devices_updated ON devices (updated_at);
CREATE TABLE IF NOT EXISTS alerts (
    device_id TEXT NOT NULL,
    alert_key TEXT NOT NULL,
    name      TEXT NOT NULL,
    state     TEXT NOT NULL,
    severity  TEXT,
    value     {real},
    summary   TEXT,
    labels    TEXT NOT NULL,
    since     {real},
    at        {real},
    PRIMARY KEY (device_id, alert_key)
);
CREATE TABLE IF NOT EXISTS telemetry (
    device_id        TEXT NOT NULL,
    tier             INTEGER NOT NULL,
    ts               {real} NOT NULL,
    n                INTEGER NOT NULL,
    cpu_percent      {real},
    memory_free_mb   {real},
    inference_p50_ms {real},
    inference_p95_ms {real},
    buffer_queued    {real},
    PRIMARY KEY (device_id, tier, ts)
);
CREATE INDEX IF NOT EXISTS telemetry_age ON telemetry (tier, ts);
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    command    TEXT,
    state      TEXT,
    detail     TEXT,
    rollout_id TEXT,
    issued_at  {real},
    updated_at {real},
    PRIMARY KEY (command_id, device_id)
);
CREATE INDEX IF NOT EXISTS commands_device ON commands (device_id, updated_at);
CREATE TABLE IF NOT EXISTS audit (
    device_id TEXT NOT NULL,
    received  {real} NOT NULL,
    body      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_device ON audit (device_id, received);
CREATE TABLE IF NOT EXISTS rollouts (
    rollout_id  TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,
    state       TEXT NOT NULL,
    wave        INTEGER NOT NULL,
    halt_reason TEXT,
    created_at  {real} NOT NULL,
    updated_at  {real} NOT NULL,
    wave_done   TEXT NOT NULL,
    lease_owner TEXT,
    lease_until {real}
);
CREATE TABLE IF NOT EXISTS executions (
    rollout_id     TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    wave           INTEGER NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT,
    attempt        INTEGER NOT NULL,
    command_id     TEXT,
    sent_at        {real},
    installed_at   {real},
    committed_at   {real},
    finished_at    {real},
    rollback_id    TEXT,
    rollback_state TEXT,
    PRIMARY KEY (rollout_id, device_id)
);
CREATE INDEX IF NOT EXISTS commands_rollout ON commands (rollout_id);
CREATE TABLE IF NOT EXISTS retrain_samples (
    device_id     TEXT NOT NULL,
    sample_id     TEXT NOT NULL,
    alert         TEXT,
    model_version TEXT,
    at            {real},
    event_type    TEXT NOT NULL,
    data          TEXT NOT NULL,
    context       TEXT NOT NULL,
    action        TEXT,
    message       TEXT,
    source        TEXT,
    confidence    {real},
    received      {real} NOT NULL,
    PRIMARY KEY (device_id, sample_id)
);
CREATE INDEX IF NOT EXISTS retrain_received ON retrain_samples (received);
-- The console's device view lists a device's executions (created on open, so an older
-- version 2 store gets it too).
CREATE INDEX IF NOT EXISTS executions_device ON executions (device_id);
"""


def statements(real: str) -> list[str]:
    """The DDL as single statements for an engine whose float type is `real`."""
    return [s.strip() for s in TABLES.format(real=real).split(";") if s.strip()]
