"""`doctor.report` on a real runtime: a viewer may call it, and it diagnoses the runtime's
latest snapshot with the device's runbooks (the same report as `edgetui doctor --json`)."""

from __future__ import annotations

from pathlib import Path

from edgetui.config import AccessConfig, load_config
from edgetui.runtime import Runtime


async def test_a_viewer_gets_the_report_of_the_latest_snapshot(tmp_path: Path) -> None:
    config = load_config(None)
    config.agents.enabled = []
    config.access = AccessConfig(admin_users=[], operator_groups=[])  # root is a viewer
    rt = Runtime(config, tmp_path)
    await rt.start()
    try:
        await rt.tick_once()
        report = await rt.call("doctor.report")
        assert report["state"] in ("OK", "WARNING", "CRITICAL")
        assert report["runbook_errors"] == []
        snap = (await rt.status()).to_dict(with_history=False)
        firing = [
            a["name"] for a in snap["alerts"]["alerts"] if a["state"] in ("firing", "pending")
        ]
        assert [f["name"] for f in report["findings"] if f["kind"] == "alert"] == sorted(firing)
    finally:
        await rt.stop()
