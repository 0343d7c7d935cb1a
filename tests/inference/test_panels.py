"""Inference and Agents panels: Pilot tests and SVG snapshots on fixed sections."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from textual.pilot import Pilot

from edgetui.models.drift import DriftSection
from edgetui.models.inference_section import InferenceSection
from edgetui.models.serde import convert
from edgetui.tui.panels.agents import AgentsPanel
from edgetui.tui.panels.inference import InferencePanel
from tests.support.ui import make_app

INFERENCE: dict[str, Any] = {
    "available": True,
    "reason": None,
    "model": "edgetui-tiny",
    "model_path": "/var/lib/edgetui/slots/current/model/tiny.gguf",
    "origin": "slot",
    "version": "1.0.2",
    "sha256": "3efa9431eed22d69c69a82279029c766817660783da74b127e4a08bb1ccc933f",
    "load_ms": 64.3,
    "queue_size": 8,
    "queued": 1,
    "requests": 42,
    "completed": 41,
    "errors": 0,
    "timeouts": 1,
    "p50_ms": 19.7,
    "p95_ms": 27.9,
    "p99_ms": 61.2,
    "ttft_ms": 0.9,
    "queue_ms": 0.1,
    "tokens_per_s": 3804.0,
    "latency_history": [12.0 + (i * 7) % 30 for i in range(60)],
    "baseline": {
        "version": "1.0.2",
        "p50_ms": 18.2,
        "p95_ms": 25.1,
        "ttft_ms": 0.8,
        "tokens_per_s": 3900.0,
        "cpu_percent": 3.1,
        "rss_mb": 61.5,
        "samples": 120,
        "window_s": 300.0,
        "recorded_at": "2026-05-06T10:00:00.000Z",
    },
    "p95_ratio": 1.112,
    "baseline_recording": None,
    "isolation": "process",
    "worker": {
        "state": "running",
        "pid": 4242,
        "rss_mb": 61.5,
        "max_rss_mb": 512,
        "restarts": 0,
        "crashes": 0,
        "crashes_in_window": 0,
        "max_crashes": 5,
        "crash_window_s": 600.0,
        "next_restart_s": None,
        "last_exit": None,
        "recovery_ms": None,
    },
    "last_decision": {
        "action": "SPEAK_WARNING",
        "message": "Motion at the garage",
        "reason": "edgetui-tiny chose it under the decision grammar (45 tokens, 11 ms)",
        "source": "model",
        "event_type": "MOTION_DETECTED",
        "location": "garage",
        "confidence": 0.87,
    },
}
UNAVAILABLE: dict[str, Any] = {
    "available": False,
    "reason": "model checksum mismatch: tiny.gguf has sha256 3efa9431eed2…, the record says "
    "000000000000… (tampered or truncated: refused)",
    "model": None,
    "origin": "slot",
    "version": "1.0.3",
    "sha256": None,
    "load_ms": None,
    "requests": 0,
    "errors": 0,
    "timeouts": 0,
    "p50_ms": None,
    "p95_ms": None,
    "p99_ms": None,
    "ttft_ms": None,
    "tokens_per_s": None,
    "latency_history": [],
    "last_decision": {
        "action": "NOTIFY",
        "message": "Motion detected at front_door",
        "reason": "model unavailable: model checksum mismatch; rule: motion by day",
        "source": "fallback",
        "event_type": "MOTION_DETECTED",
        "location": "front_door",
    },
}
RESTARTING: dict[str, Any] = {
    **INFERENCE,
    "available": False,
    "reason": "tiny.gguf: model worker crashed (signal 11) while deciding; restarting in 2 s",
    "worker": {
        **INFERENCE["worker"],
        "state": "restarting",
        "pid": None,
        "rss_mb": None,
        "restarts": 1,
        "crashes": 2,
        "crashes_in_window": 2,
        "next_restart_s": 1.6,
        "last_exit": {
            "returncode": -11,
            "during": "decide",
            "at": "2026-05-06T14:31:07.412Z",
            "killed_for": None,
            "stderr_tail": None,
            "cause": "signal 11",
        },
        "recovery_ms": 1843.0,
    },
}
AGENTS: list[dict[str, Any]] = [
    {
        "name": "sensor",
        "status": "idle",
        "restarts": 0,
        "last_error": None,
        "started_at": "2026-05-06T14:00:01.000Z",
        "detail": {"published": 311, "bad_lines": 2},
    },
    {
        "name": "llm",
        "status": "running",
        "restarts": 0,
        "last_error": None,
        "started_at": "2026-05-06T14:00:01.000Z",
        "detail": {"decisions": 17, "last_decision": {"action": "NOTIFY", "source": "model"}},
    },
    {
        "name": "speaker",
        "status": "error",
        "restarts": 3,
        "last_error": "RuntimeError: audio device busy",
        "started_at": "2026-05-06T14:29:58.000Z",
        "detail": {},
    },
]


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.pause()


def text_of(panel: Any) -> str:
    """The panel's content as plain text, rendered at the panel's width."""
    console = Console(width=panel.size.width - 2, record=True, file=io.StringIO())
    console.print(panel.content)
    return console.export_text()


async def test_inference_panel_shows_the_measured_figures() -> None:
    app, _ = make_app({"inference": INFERENCE})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = text_of(app.query_one(InferencePanel))
        for part in (
            "edgetui-tiny",
            "v1.0.2",
            "p50 19.7 ms",
            "p95 27.9 ms",
            "p99 61.2 ms",
            "TTFT 0.9 ms",
            "3804 tok/s",
            "42 requests",
            "1 timeouts",
            'SPEAK_WARNING "Motion at the garage"',
            "Why",
            "decision grammar",
            "[model] conf 87%",
            # The judgement lines: baseline and ratio, validation, drift, confidence.
            "Base    p95 25.1 ms (v1.0.2, n=120)  now 1.11x",
            "Quality golden 11/12 pass 14:05",
            "drift PSI 0.14 moderate",
            "conf 0.74 (ref 0.83)",
        ):
            assert part in text, part
        assert "UNAVAILABLE" not in text


async def test_inference_panel_without_the_validation_part() -> None:
    plain = {k: v for k, v in INFERENCE.items() if k not in ("baseline", "p95_ratio")}
    app, _ = make_app({"inference": plain, "validation": None, "drift": None})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = text_of(app.query_one(InferencePanel))
        assert "Base" not in text and "Quality" not in text and "drift" not in text


async def test_inference_panel_says_plainly_why_the_model_is_unavailable() -> None:
    app, _ = make_app({"inference": UNAVAILABLE})
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        text = text_of(app.query_one(InferencePanel))
        assert "UNAVAILABLE model checksum mismatch" in text
        assert "rule-based fallback active" in text
        assert "[fallback]" in text and "no requests yet" in text


async def test_inference_panel_shows_the_worker_process() -> None:
    app, _ = make_app({"inference": INFERENCE})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = text_of(app.query_one(InferencePanel))
        assert "Worker  running pid 4242  0 restarts  62/512 MB" in text
        assert "exit" not in text


async def test_inference_panel_shows_a_crashed_worker_and_its_restart() -> None:
    app, _ = make_app({"inference": RESTARTING})
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        text = text_of(app.query_one(InferencePanel))
        assert "UNAVAILABLE tiny.gguf: model worker crashed (signal 11) while deciding" in text
        # The line is cut at the panel's width: what matters most comes first.
        assert (
            "Worker  restarting in 2 s  exit signal 11 while deciding 14:31:07  2/5 crash" in text
        )


async def test_agents_panel_lists_status_restarts_and_last_error() -> None:
    app, _ = make_app({"agents": AGENTS})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        lines = text_of(app.query_one(AgentsPanel)).splitlines()
        assert lines[0].startswith("AGENT")
        assert lines[1].split()[:3] == ["sensor", "idle", "0"]
        assert "17 decisions, last NOTIFY (model)" in lines[2]
        assert lines[3].split()[:3] == ["speaker", "error", "3"]
        assert "last error: RuntimeError: audio device busy" in lines[3]


async def test_panels_are_absent_without_their_sections() -> None:
    app, _ = make_app({})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert not app.query(InferencePanel) and not app.query(AgentsPanel)


def test_inference_and_agents_snapshot_100x40(snap_compare: Any) -> None:
    app, _ = make_app({"inference": INFERENCE, "agents": AGENTS})
    assert snap_compare(app, terminal_size=(100, 40), run_before=settle)


def test_crashed_worker_snapshot_100x30(snap_compare: Any) -> None:
    app, _ = make_app({"inference": RESTARTING, "agents": AGENTS})
    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)


def test_unavailable_model_snapshot_80x24(snap_compare: Any) -> None:
    app, _ = make_app({"inference": UNAVAILABLE, "agents": AGENTS})
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_judgement_lines_say_what_is_not_measured_yet() -> None:
    from edgetui.tui.panels.inference import judgement

    recording = {"version": "1.0.0", "samples": 3, "min_samples": 20, "elapsed_s": 12.0,
                 "window_s": 300.0}  # fmt: skip
    drift = {"psi_max": None, "band": "none", "window_samples": 0, "min_samples": 50,
             "reference": {"source": "recording", "samples": 7, "size": 200},
             "confidence_mean": None}  # fmt: skip
    lines = judgement(
        convert(
            InferenceSection,
            {"baseline": None, "p95_ratio": None, "baseline_recording": recording},
        ),
        None,
        convert(DriftSection, drift),
    )
    text = [line.plain for line in lines]
    assert text[0] == "Base    measuring: 3/20 requests, 12/300 s"
    assert text[1] == "Quality drift: reference 7/200"
    drift["reference"] = {"source": "none", "samples": 0, "size": 200}
    lines = judgement(
        convert(InferenceSection, {"baseline": None, "baseline_recording": None}),
        None,
        convert(DriftSection, drift),
    )
    assert lines[0].plain.startswith("Base    no baseline yet")
    assert lines[1].plain == "Quality drift: no reference yet"
    # the part is not running
    assert judgement(convert(InferenceSection, {"p95_ms": 3.0}), None, None) == []
