"""The one exception the OTA release/transport functions raise: a slug plus a one-line reason."""

from __future__ import annotations

OTA_ERROR = -32010  # JSON-RPC error code of a refused/failed OTA method; data.code = the slug

# Every code an OtaError may carry; callers switch on `e.code`, users read `str(e)`.
CODES = frozenset(
    {
        "malformed_manifest",
        "bad_signature",
        "unknown_key",
        "revoked_key",
        "expired",
        "downgrade",
        "wrong_target",
        "checksum_mismatch",
        "too_large",
        "size_mismatch",
        "unsafe_archive",
        "bomb",
        "no_space",
        "http_error",
        "timeout",
        "not_found",
        "unsupported_scheme",
        "insufficient_ram",
        "insufficient_disk",
    }
)


class OtaError(Exception):
    """An update step refused or failed: `code` is a slug from CODES, str(e) the reason."""

    def __init__(self, code: str, message: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown OtaError code {code!r}")
        super().__init__(message)
        self.code = code
