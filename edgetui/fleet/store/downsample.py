"""Telemetry downsampled with age (DownsamplePolicy: raw for an hour, 1-minute averages for
a day, 10-minute averages beyond), as SQL both engines run: samples older than a cutoff are
averaged per device and bucket into the next tier, merged with what that bucket already
holds (buffered telemetry can arrive hours late), and deleted from their own tier."""

from __future__ import annotations

from edgetui.fleet.store.schema import SERIES


def _merge(c: str) -> str:
    return (
        f"{c} = CASE WHEN excluded.{c} IS NULL THEN telemetry.{c} "
        f"WHEN telemetry.{c} IS NULL THEN excluded.{c} "
        f"ELSE (telemetry.{c} * telemetry.n + excluded.{c} * excluded.n) "
        f"/ (telemetry.n + excluded.n) END"
    )


def fold_sql(bucket: str, src: int, dst: int) -> tuple[str, str]:
    """(insert, delete) moving tier `src` rows with ts < ? into tier `dst` buckets; both
    take (src, cutoff) as parameters. `bucket` floors `ts` (the engine's expression)."""
    averages = ", ".join(
        f"SUM({c} * n) / NULLIF(SUM(CASE WHEN {c} IS NULL THEN 0 ELSE n END), 0)" for c in SERIES
    )
    insert = (
        f"INSERT INTO telemetry (device_id, tier, ts, n, {', '.join(SERIES)}) "
        f"SELECT device_id, {int(dst)}, {bucket}, SUM(n), {averages} FROM telemetry "
        "WHERE tier = ? AND ts < ? GROUP BY 1, 3 "
        "ON CONFLICT (device_id, tier, ts) DO UPDATE SET n = telemetry.n + excluded.n, "
        + ", ".join(_merge(c) for c in SERIES)
    )
    delete = "DELETE FROM telemetry WHERE tier = ? AND ts < ?"
    return insert, delete
