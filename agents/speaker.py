"""Speaker agent: says SPEAK_WARNING messages with espeak-ng when installed (to the audio
device, or to WAV files when `[agents.speaker] wav_dir` is set), otherwise logs them.

Settings: `command` (default "espeak-ng"), `voice` ("en"), `speed` (words/min, 160),
`wav_dir` (""), `keep_wavs` (50 newest kept), `timeout_s` (30).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

from edgetui.agent_host.context import AgentContext


async def run(ctx: AgentContext) -> None:
    """Wait for SPEAK_WARNING and say it; an espeak failure is reported, never a crash."""
    command = shutil.which(ctx.setting("command", "espeak-ng"))
    wav_dir = ctx.setting("wav_dir", "")
    out_dir = Path(wav_dir) if wav_dir else None
    if out_dir is not None:
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    engine = command or "log only (espeak-ng not installed)"
    spoken = 0
    sub = ctx.subscribe("SPEAK_WARNING")
    ctx.set_status("idle", {"engine": engine, "wav_dir": wav_dir or None, "spoken": 0})
    try:
        async for event in sub:
            message = str(event.data.get("message") or "").strip()
            if not message:
                continue
            ctx.set_status("running")
            if command is None:
                ctx.log.warning("speaker would say: %s", message)
                detail = {"last_said": message, "output": "log"}
            else:
                detail = await _speak(ctx, command, message, out_dir, event.id)
            spoken += 1
            ctx.set_status("idle", detail | {"spoken": spoken})
    finally:
        sub.close()


async def _speak(
    ctx: AgentContext, command: str, message: str, out_dir: Path | None, event_id: str
) -> dict[str, object]:
    argv = [command, "-v", ctx.setting("voice", "en"), "-s", str(ctx.setting("speed", 160))]
    wav: Path | None = None
    if out_dir is not None:
        wav = out_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-{event_id[:8]}.wav"
        argv += ["-w", str(wav)]
    argv += ["--", message]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), ctx.setting("timeout_s", 30.0))
    except TimeoutError:
        proc.kill()
        await proc.wait()
        ctx.log.error("espeak-ng timed out saying %r", message)
        return {"last_said": message, "last_problem": "espeak-ng timed out"}
    if proc.returncode != 0:
        problem = err.decode(errors="replace").strip()[:200] or f"exit {proc.returncode}"
        ctx.log.error("espeak-ng failed (%s); message was: %s", problem, message)
        return {"last_said": message, "last_problem": problem}
    if wav is not None and out_dir is not None:
        await asyncio.to_thread(_prune, out_dir, ctx.setting("keep_wavs", 50))
        return {"last_said": message, "output": str(wav), "last_problem": None}
    return {"last_said": message, "output": "audio device", "last_problem": None}


def _prune(out_dir: Path, keep: int) -> None:
    wavs = sorted(out_dir.glob("*.wav"), key=lambda p: p.stat().st_mtime)
    for old in wavs[: max(0, len(wavs) - max(keep, 1))]:
        old.unlink(missing_ok=True)
