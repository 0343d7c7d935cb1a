"""Fault injection for crash tests: `EDGETUI_FAULT=<step>` SIGKILLs this process at that step.

Steps are named where they are reached, e.g. fault_point("ota.after_download"). With
`EDGETUI_FAULT=<step>@N` the kill happens on the N-th time the step is reached.
The variable is read once, when this module is imported (the tests set it in the
environment of the process they start); unset, a fault point costs one comparison, which
matters on the uplink's per-message path.
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("EDGETUI_FAULT") or ""
_STEP, _, _NTH = _SPEC.partition("@")
_counts: dict[str, int] = {}


def fault_point(step: str) -> None:
    """Kill the process with SIGKILL if the environment named this step."""
    if step != _STEP:
        return
    _counts[step] = _counts.get(step, 0) + 1
    if _counts[step] >= int(_NTH or 1):
        os.kill(os.getpid(), signal.SIGKILL)
