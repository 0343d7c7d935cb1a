"""Fault injection for crash tests: `EDGETUI_FAULT=<step>` SIGKILLs this process at that step.

Steps are named where they are reached, e.g. fault_point("ota.after_download"). The spec's
full form is `<step>[=<subject>][@N][:<SIGNAL>]`:
- `@N`: the kill happens on the N-th time the step is reached (counted per process);
- `=<subject>`: only where the step is reached for that subject (the inference worker names
  the model file it loads, so one release's model can crash while the others run);
- `:<SIGNAL>`: the signal, SIGKILL by default (`SEGV` stands in for a native crash).
The variable is read once, when this module is imported (the tests set it in the
environment of the process they start, and children inherit it); unset, a fault point costs
one comparison, which matters on the uplink's per-message path.
"""

from __future__ import annotations

import os
import signal


def _parse(spec: str) -> tuple[str, str | None, int, signal.Signals]:
    rest, _, sig = spec.partition(":")
    rest, _, nth = rest.partition("@")
    step, eq, subject = rest.partition("=")
    signum = signal.Signals[f"SIG{sig.upper().removeprefix('SIG')}"] if sig else signal.SIGKILL
    return step, (subject if eq else None), int(nth or 1), signum


_STEP, _SUBJECT, _NTH, _SIGNAL = _parse(os.environ.get("EDGETUI_FAULT") or "")
_counts: dict[str, int] = {}


def fault_point(step: str, subject: str | None = None) -> None:
    """Kill the process (SIGKILL unless the spec names another signal) if the environment
    named this step (and this subject, when the spec names one)."""
    if step != _STEP:
        return
    if _SUBJECT is not None and subject != _SUBJECT:
        return
    _counts[step] = _counts.get(step, 0) + 1
    if _counts[step] >= _NTH:
        os.kill(os.getpid(), _SIGNAL)
