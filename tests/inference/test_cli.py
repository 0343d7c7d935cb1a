"""CLI: model make-tiny/info/verify, agents status, and status --json through a daemon."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.cli import run_cli, run_json, start_daemon


def test_make_tiny_info_and_verify(tmp_path: Path, tiny_sha256: str) -> None:
    out = tmp_path / "m.gguf"
    made = run_json("model", "make-tiny", "--out", str(out), "--json")
    assert made["sha256"] == tiny_sha256 and made["size"] == out.stat().st_size
    info = run_json("model", "info", str(out), "--json")
    assert info["general.architecture"] == "llama" and info["general.name"] == "edgetui-tiny"
    ok = run_cli("model", "verify", str(out), "--sha256", tiny_sha256)
    assert ok.returncode == 0 and "ok:" in ok.stdout and ok.stderr == ""
    bad = run_cli("model", "verify", str(out), "--sha256", "0" * 64)
    assert bad.returncode == 1 and "checksum mismatch" in bad.stderr
    junk = tmp_path / "junk.gguf"
    junk.write_text("not a model")
    assert run_cli("model", "info", str(junk)).returncode == 1
    missing = run_cli("model", "verify", str(tmp_path / "nope"), "--sha256", "00", "--json")
    assert missing.returncode == 1 and json.loads(missing.stdout)["ok"] is False


def test_status_json_has_inference_and_agents_via_the_daemon(
    tmp_path: Path, tiny_model: Path
) -> None:
    state = tmp_path / "state"
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[telemetry]\ninterval_s = 0.2\n[inference]\nmodel_path = "{tiny_model}"\n'
        '[agents]\nenabled = ["sensor", "llm", "speaker"]\n'
        '[agents.speaker]\ncommand = "no-such-espeak"\n'
        "[agents.sensor]\ncpu_temperature_interval_s = 0\n"
    )
    daemon = start_daemon(state, config=cfg)
    try:
        # The daemon answers before every part has started, and an agent subscribes to the
        # bus when it first runs (its status is "updating" until then): an event published
        # before the llm agent is idle would never be decided about.
        deadline = time.monotonic() + 60
        while True:
            agents = run_json("--state-dir", str(state), "status", "--json").get("agents")
            if agents and all(a["status"] in ("idle", "running") for a in agents):
                break
            assert time.monotonic() < deadline, f"agents not started: {agents}"
            time.sleep(0.1)
        pub = run_cli(
            "--config", str(cfg), "--state-dir", str(state),
            "bus", "publish", "MOTION_DETECTED", "--data", '{"location": "gate"}',
        )  # fmt: skip
        assert pub.returncode == 0, pub.stderr
        deadline = time.monotonic() + 60
        while True:
            snap = run_json("--config", str(cfg), "--state-dir", str(state), "status", "--json")
            # The daemon answers before every part started: wait for the decision.
            done = (snap.get("inference") or {}).get("last_decision") is not None
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        inf = snap["inference"]
        assert snap["mode"] == "attached"
        assert inf["available"] and inf["model"] == "edgetui-tiny" and inf["requests"] >= 1
        assert inf["p50_ms"] is not None and inf["last_decision"]["event_type"] == "MOTION_DETECTED"
        names = [a["name"] for a in snap["agents"]]
        assert names == ["sensor", "llm", "speaker"]
        assert all(a["status"] in ("idle", "running") for a in snap["agents"])
        agents = run_json(
            "--config", str(cfg), "--state-dir", str(state), "agents", "status", "--json"
        )
        assert [a["name"] for a in agents["agents"]] == names
        text = run_cli("--config", str(cfg), "--state-dir", str(state), "agents", "status")
        assert text.returncode == 0 and text.stdout.splitlines()[0].startswith("AGENT")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def test_status_json_says_why_a_bad_model_was_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    cfg.write_text(f'[inference]\nmodel_path = "{bad}"\n[agents]\nenabled = []\n')
    snap = run_json("--config", str(cfg), "--state-dir", str(tmp_path / "s"), "status", "--json")
    assert snap["inference"]["available"] is False
    assert "not a readable GGUF" in snap["inference"]["reason"]
    assert "agents" not in snap
