"""The runtime: composes the parts, owns their asyncio tasks, answers RuntimeAPI.

Offers `Runtime` (run in-process by a standalone face, or inside `edgetui daemon`), `PARTS`
(the attributes that hold the running parts) and `Service` (what a part must look like).
Modules: `core` (the API, lifecycle and telemetry tick), `parts` (how each part is built and
the hooks the parts are handed).
"""

from edgetui.runtime.core import Runtime
from edgetui.runtime.parts import PARTS, Service

__all__ = ["PARTS", "Runtime", "Service"]
