"""The `kiosk` section: where the kiosk PIN comes from and how its attempts stand."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PinSource(StrEnum):
    """Where the PIN is checked against."""

    HASH = "hash"  # a scrypt hash (`edgetui kiosk set-pin`)
    PLAIN = "plain"  # `[ui] kiosk_pin` in the config: works, with a warning
    UNAVAILABLE = "unavailable"  # the hash file cannot be read: every PIN is refused


@dataclass
class KioskSection:
    """The PIN's source, the failures against the limit, and the lockout."""

    pin: PinSource
    failures: int
    max_attempts: int
    locked: bool
    retry_in_s: float
    lockouts: int
    warning: str | None = None
