"""Security part: what keeps the device safe to hand to a field team (issue 12).

Offers:
- `SdNotifier`: systemd readiness and watchdog notifications (the documented NOTIFY_SOCKET
  protocol); the daemon pings from its event loop, so a hung loop is restarted.
- `PinHash`, `hash_pin`, `PinGuard`, `PinCheck`, `PinError`, `KioskPin`: the kiosk PIN as a
  scrypt hash, with exponential backoff and lockout after too many wrong PINs.

Other parts and faces import only these names.
"""

from edgetui.security.sd_notify import SdNotifier

__all__ = ["SdNotifier"]
