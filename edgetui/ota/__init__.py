"""Signed OTA bundles: keys, manifest, bundle build/verify, transport (fetch) and safe extraction.

All functions here are blocking; async callers run them with asyncio.to_thread.
"""

from edgetui.ota.errors import OtaError

__all__ = ["OtaError"]
