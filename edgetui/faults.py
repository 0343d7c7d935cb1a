"""Fault injection for crash tests: `EDGETUI_FAULT=<step>` SIGKILLs this process at that step.

Steps are named where they are reached, e.g. fault_point("ota.after_download"). With
`EDGETUI_FAULT=<step>@N` the kill happens on the N-th time the step is reached.
Never set in production; costs one dict lookup when unset.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def fault_point(step: str) -> None:
    """Kill the process with SIGKILL if the environment names this step."""
    spec = os.environ.get("EDGETUI_FAULT")
    if not spec:
        return
    name, _, nth = spec.partition("@")
    if name != step:
        return
    _counts[step] = _counts.get(step, 0) + 1
    if _counts[step] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
