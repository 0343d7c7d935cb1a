"""The kiosk PIN: what stands between a passer-by and the dashboard's actions on a kiosk.

Offers `KioskPin` (the runtime's "kiosk" service: `kiosk.unlock`, `kiosk.set_pin`, and the
"kiosk" snapshot section), `PinHash`, `hash_pin`, `check_pin_format`, `PinGuard`,
`PinCheck`, `PinError`: a scrypt hash, with exponential backoff and a lockout after too many
wrong PINs.

Modules: `pin` (hash, format, guard), `service` (the part).
"""

from edgetui.kiosk.pin import PinCheck, PinError, PinGuard, PinHash, check_pin_format, hash_pin
from edgetui.kiosk.service import KioskPin

__all__ = [
    "KioskPin",
    "PinCheck",
    "PinError",
    "PinGuard",
    "PinHash",
    "check_pin_format",
    "hash_pin",
]
