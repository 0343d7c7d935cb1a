"""Security part: what keeps the device safe to hand to a field team (issue 12).

Offers:
- `SdNotifier`: systemd readiness and watchdog notifications (the documented NOTIFY_SOCKET
  protocol); the daemon pings from its event loop, so a hung loop is restarted.
- `KioskPin` (the runtime's "kiosk" service: `kiosk.unlock`, `kiosk.set_pin`), `PinHash`,
  `hash_pin`, `check_pin_format`, `PinGuard`, `PinCheck`, `PinError`: the kiosk PIN as a
  scrypt hash, with exponential backoff and lockout after too many wrong PINs.

Other parts and faces import only these names.
"""

from edgetui.security.kiosk import KioskPin
from edgetui.security.pin import (
    PinCheck,
    PinError,
    PinGuard,
    PinHash,
    check_pin_format,
    hash_pin,
)
from edgetui.security.sd_notify import SdNotifier

__all__ = [
    "KioskPin",
    "PinCheck",
    "PinError",
    "PinGuard",
    "PinHash",
    "SdNotifier",
    "check_pin_format",
    "hash_pin",
]
