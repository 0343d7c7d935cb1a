"""Signed A/B updates: the device side (slots, trial boot, health check, commit or rollback)
and the release side (manifests, bundle build and verify; key files are edgetui.keys').

Offers `OtaService` (the part the runtime runs: checks, applies, rolls back, reports the
`ota` section), `HealthHooks` (what the health check asks of the other parts, handed in by
the runtime) and `OtaError`. The release tools (`bundle`, `manifest`) and the blocking
transport (`fetch`, `extract`) are modules of their own; async callers run them with
asyncio.to_thread.
"""

from edgetui.ota.errors import OtaError
from edgetui.ota.health import HealthHooks
from edgetui.ota.service import OtaService

__all__ = ["HealthHooks", "OtaError", "OtaService"]
