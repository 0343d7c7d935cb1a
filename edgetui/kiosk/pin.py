"""The kiosk PIN as a scrypt hash, and the attempt accounting around it.

`hash_pin` stores a PIN as `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64, no padding; the
PHC string layout), never the PIN. `PinGuard` decides whether a PIN may be tried at all:
after each wrong PIN the next try waits twice as long (backoff), and after `max_attempts`
wrong PINs in a row every try is refused until the lockout ends. Its counters live in a
small file so that restarting the dashboard or the daemon does not reset them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from edgetui.durable import fsync_dir

log = logging.getLogger(__name__)

# 2**15 x 8 x 128 bytes = 32 MiB and about 0.1 s per try on the development machine: a
# brute force of a short PIN is slowed by the hash offline and by PinGuard online.
SCRYPT_LN, SCRYPT_R, SCRYPT_P = 15, 8, 1
PIN_RE = re.compile(r"^[0-9]{4,16}$")
_HASH_RE = re.compile(
    r"^\$scrypt\$ln=(?P<ln>\d{1,2}),r=(?P<r>\d{1,2}),p=(?P<p>\d{1,2})"
    r"\$(?P<salt>[A-Za-z0-9+/]{16,88})\$(?P<hash>[A-Za-z0-9+/]{43})$"
)


class PinError(ValueError):
    """A PIN or a stored PIN hash that cannot be used; the message is one line."""


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, mode 0600 from the first byte, power-cut safe."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def check_pin_format(pin: str) -> None:
    """Raise PinError unless the PIN is 4 to 16 digits (what the kiosk keypad can type)."""
    if not PIN_RE.match(pin):
        raise PinError("a kiosk PIN is 4 to 16 digits")


@dataclass(frozen=True)
class PinHash:
    """A parsed scrypt PIN hash."""

    ln: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> PinHash:
        """Parse `$scrypt$ln=..,r=..,p=..$salt$hash`; PinError if malformed."""
        m = _HASH_RE.match(text.strip())
        if not m:
            raise PinError("not a kiosk PIN hash (expected $scrypt$ln=N,r=R,p=P$salt$hash)")
        ln, r, p = int(m["ln"]), int(m["r"]), int(m["p"])
        if not (10 <= ln <= 20 and 1 <= r <= 32 and 1 <= p <= 16):
            raise PinError(f"kiosk PIN hash parameters out of range (ln={ln}, r={r}, p={p})")
        try:
            return cls(ln, r, p, _unb64(m["salt"]), _unb64(m["hash"]))
        except (binascii.Error, ValueError):
            raise PinError("kiosk PIN hash is not valid base64") from None

    def _kdf(self) -> Scrypt:
        return Scrypt(salt=self.salt, length=len(self.digest), n=2**self.ln, r=self.r, p=self.p)

    def verify(self, pin: str) -> bool:
        """True when `pin` matches (constant-time comparison; blocking, ~0.1 s)."""
        try:
            self._kdf().verify(pin.encode(), self.digest)
        except InvalidKey:
            return False
        return True

    def __str__(self) -> str:
        return f"$scrypt$ln={self.ln},r={self.r},p={self.p}${_b64(self.salt)}${_b64(self.digest)}"


def hash_pin(pin: str, *, ln: int = SCRYPT_LN, salt: bytes | None = None) -> str:
    """The stored form of a PIN (checked with check_pin_format first). Blocking."""
    check_pin_format(pin)
    salt = salt or os.urandom(16)
    kdf = Scrypt(salt=salt, length=32, n=2**ln, r=SCRYPT_R, p=SCRYPT_P)
    return str(PinHash(ln, SCRYPT_R, SCRYPT_P, salt, kdf.derive(pin.encode())))


def plain_matches(expected: str, pin: str) -> bool:
    """Constant-time comparison for the legacy plain-text `[ui] kiosk_pin`."""
    return hmac.compare_digest(expected.encode(), pin.encode())


@dataclass
class PinCheck:
    """The answer to one PIN try (crosses the control socket as JSON).

    `reason`: ok | wrong | backoff (too soon after a wrong PIN; not tried) | locked (too
    many wrong PINs; not tried) | unavailable. `retry_in_s` is 0 when a try is allowed now.
    """

    ok: bool
    reason: str
    message: str
    failures: int = 0
    max_attempts: int = 0
    retry_in_s: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class _Counters:
    failures: int = 0
    next_try_at: float = 0.0  # wall-clock seconds: the counters outlive a restart
    locked_until: float = 0.0
    lockouts: int = 0


class PinGuard:
    """Backoff and lockout for PIN tries, persisted in `path` (0600)."""

    def __init__(
        self,
        path: Path,
        *,
        max_attempts: int = 5,
        backoff_s: float = 1.0,
        backoff_max_s: float = 60.0,
        lockout_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.lockout_s = lockout_s
        self.clock = clock
        self.counters = self._load()

    def _load(self) -> _Counters:
        try:
            raw = json.loads(self.path.read_text())
            return _Counters(**{k: raw[k] for k in asdict(_Counters()) if k in raw})
        except FileNotFoundError:
            return _Counters()
        except (OSError, ValueError, TypeError) as exc:
            # Fail closed: unreadable counters start a lockout rather than a clean slate.
            log.warning("kiosk PIN counters %s unreadable (%s): locking out", self.path, exc)
            return _Counters(locked_until=self.clock() + self.lockout_s)

    def _save(self) -> None:
        try:
            write_private(self.path, json.dumps(asdict(self.counters)).encode())
        except OSError as exc:
            log.warning("kiosk PIN counters not saved to %s: %s", self.path, exc)

    def state(self) -> dict[str, Any]:
        """failures, locked, retry_in_s: for the status section."""
        wait = self.wait_s()
        c = self.counters
        return {
            "failures": c.failures,
            "max_attempts": self.max_attempts,
            "locked": c.locked_until > self.clock(),
            "retry_in_s": round(wait, 1),
            "lockouts": c.lockouts,
        }

    def wait_s(self) -> float:
        """Seconds before the next try is allowed (0: now)."""
        now = self.clock()
        return max(0.0, self.counters.locked_until - now, self.counters.next_try_at - now)

    def gate(self) -> PinCheck | None:
        """A refusal when no try is allowed now, else None (then call record())."""
        now, c = self.clock(), self.counters
        if c.locked_until > now:
            wait = c.locked_until - now
            why = f"locked after {self.max_attempts} wrong PINs; try again in {_words(wait)}"
            return self._refusal("locked", why, wait)
        if c.locked_until and c.failures >= self.max_attempts:
            c.failures = 0  # the lockout is over: a fresh series of tries
            c.locked_until = 0.0
        if c.next_try_at > now:
            wait = c.next_try_at - now
            return self._refusal(
                "backoff", f"too soon after a wrong PIN; try again in {_words(wait)}", wait
            )
        return None

    def _refusal(self, reason: str, message: str, wait: float) -> PinCheck:
        return PinCheck(
            False, reason, message, self.counters.failures, self.max_attempts, round(wait, 1)
        )

    def record(self, ok: bool) -> PinCheck:
        """Book the outcome of a try that gate() allowed."""
        c, now = self.counters, self.clock()
        if ok:
            self.counters = _Counters(lockouts=c.lockouts)
            self._save()
            return PinCheck(True, "ok", "PIN accepted", 0, self.max_attempts)
        c.failures += 1
        if c.failures >= self.max_attempts:
            c.locked_until = now + self.lockout_s
            c.next_try_at = 0.0
            c.lockouts += 1
            self._save()
            return PinCheck(
                False,
                "locked",
                f"wrong PIN ({c.failures} of {self.max_attempts}); locked for "
                f"{_words(self.lockout_s)}",
                c.failures,
                self.max_attempts,
                self.lockout_s,
            )
        delay = min(self.backoff_max_s, self.backoff_s * 2 ** (c.failures - 1))
        c.next_try_at = now + delay
        self._save()
        return PinCheck(
            False,
            "wrong",
            f"wrong PIN ({c.failures} of {self.max_attempts}); next try in {_words(delay)}",
            c.failures,
            self.max_attempts,
            delay,
        )

    def reset(self) -> None:
        """A new PIN was set: forget the failures."""
        self.counters = _Counters(lockouts=self.counters.lockouts)
        self._save()


def _words(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"
