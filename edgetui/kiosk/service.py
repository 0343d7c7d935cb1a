"""The kiosk PIN service (status section "kiosk"): checks PINs for the dashboard's kiosk mode.

The check runs in the runtime (the daemon, or the dashboard's own runtime when standalone),
not in the face: the hash and the failure counters stay in the state directory, which the
kiosk's user need not be able to read, and a restarted dashboard cannot reset them.

Where the PIN comes from, first match wins:
1. `<state>/kiosk-pin`: a scrypt hash written by `edgetui kiosk set-pin` (0600);
2. `[ui] kiosk_pin`: plain text (legacy; still loads, with a warning that says how to
   migrate).

Methods: `kiosk.unlock {"pin"}` -> PinCheck; `kiosk.set_pin {"pin_hash"}` (a hash made by
the caller, so the PIN itself never crosses the socket).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgetui.api import APIError
from edgetui.config import UIConfig
from edgetui.kiosk.pin import PinCheck, PinError, PinGuard, PinHash, plain_matches, write_private
from edgetui.models.kiosk import KioskSection, PinSource
from edgetui.models.serde import to_dict

log = logging.getLogger(__name__)

HASH_FILE = "kiosk-pin"
COUNTERS_FILE = "kiosk-pin-failures.json"
INVALID_PARAMS = -32602
PIN_ERROR = -32020  # JSON-RPC code of a refused kiosk.set_pin


class KioskPin:
    """Kiosk PIN checks with backoff and lockout; `on_wrong_pin` is the security monitor's
    hook (called with the PinCheck's dict for every refused try)."""

    name = "kiosk"

    def __init__(
        self,
        config: UIConfig,
        state_dir: Path,
        *,
        config_file: Path | None = None,
        log_warning: bool = True,
        notify: Callable[[str, dict[str, Any]], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.hash_path = Path(state_dir) / HASH_FILE
        self.config_file = config_file
        # The daemon logs the plain-text warning; a standalone CLI command would print it on
        # every run, so there it stays in the status section (and the kiosk dashboard's toast).
        self.log_warning = log_warning
        self._notify = notify
        self.on_wrong_pin: Callable[[dict[str, Any]], None] | None = None
        guard_kw: dict[str, Any] = {"clock": clock} if clock else {}
        self.guard = PinGuard(
            Path(state_dir) / COUNTERS_FILE,
            max_attempts=config.kiosk_max_attempts,
            backoff_s=config.kiosk_backoff_s,
            lockout_s=config.kiosk_lockout_s,
            **guard_kw,
        )
        self.pin_hash: PinHash | None = None
        self.warning: str | None = None
        self._broken = False  # the hash file exists but cannot be used: refuse every try
        self._lock = asyncio.Lock()  # one try at a time: parallel guesses share the backoff

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self._load)

    async def stop(self) -> None:
        return None

    def _load(self) -> None:
        where = str(self.config_file) if self.config_file else "your config file"
        try:
            self.pin_hash = PinHash.parse(self.hash_path.read_text())
        except FileNotFoundError:
            self.pin_hash = None
        except (OSError, PinError) as exc:
            # A damaged hash file must not fall back to the plain PIN: refuse every try.
            self.pin_hash = None
            self.warning = f"{self.hash_path}: {exc}; run `edgetui kiosk set-pin` again"
            log.error("kiosk PIN: %s", self.warning)
            self._broken = True
            return
        self._broken = False
        if self.pin_hash is None:
            self.warning = (
                "the kiosk PIN is plain text ([ui] kiosk_pin): run `edgetui kiosk set-pin` "
                f"to store a scrypt hash, then delete kiosk_pin from {where}"
            )
        elif self.config.kiosk_pin != UIConfig.kiosk_pin:
            self.warning = (
                f"the kiosk PIN hash in {self.hash_path} is used; delete the plain-text "
                f"[ui] kiosk_pin from {where}"
            )
        else:
            self.warning = None
        if self.warning:
            log.log(
                logging.WARNING if self.log_warning else logging.INFO, "kiosk PIN: %s", self.warning
            )

    # -- checks -----------------------------------------------------------------------
    def _verify(self, pin: str) -> bool:
        if self.pin_hash is not None:
            return self.pin_hash.verify(pin)
        return plain_matches(self.config.kiosk_pin, pin)

    async def unlock(self, pin: str) -> PinCheck:
        """Try a PIN (subject to backoff and lockout)."""
        async with self._lock:
            if self._broken:
                result = PinCheck(False, "unavailable", self.warning or "kiosk PIN unavailable")
            else:
                result = self.guard.gate()
                if result is None:
                    ok = await asyncio.to_thread(self._verify, pin)  # scrypt: ~0.1 s
                    result = self.guard.record(ok)
        if not result.ok:
            self._report(result)
        return result

    def _report(self, result: PinCheck) -> None:
        info = {"event": "kiosk_pin_refused", **result.to_dict()}
        log.warning("kiosk PIN refused: %s", result.message)
        if self._notify is not None:
            self._notify("security", info)
        if self.on_wrong_pin is not None:
            try:
                self.on_wrong_pin(info)
            except Exception:
                log.exception("kiosk PIN monitor hook failed")

    async def set_hash(self, text: str) -> None:
        """Store a new PIN hash (validated) and forget past failures."""
        parsed = PinHash.parse(text)
        await asyncio.to_thread(write_private, self.hash_path, (str(parsed) + "\n").encode())
        async with self._lock:
            self.guard.reset()
            await asyncio.to_thread(self._load)

    # -- RuntimeAPI -------------------------------------------------------------------
    def section(self) -> KioskSection:
        if self._broken:
            source = PinSource.UNAVAILABLE
        else:
            source = PinSource.HASH if self.pin_hash is not None else PinSource.PLAIN
        return KioskSection(source, **self.guard.state(), warning=self.warning)

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {"kiosk.unlock": self._m_unlock, "kiosk.set_pin": self._m_set_pin}

    async def _m_unlock(self, params: dict[str, Any]) -> dict[str, Any]:
        pin = params.get("pin")
        if not isinstance(pin, str) or len(pin) > 64:
            raise APIError("kiosk.unlock: 'pin' must be a string", INVALID_PARAMS)
        return (await self.unlock(pin)).to_dict()

    async def _m_set_pin(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("pin_hash")
        if not isinstance(text, str):
            raise APIError("kiosk.set_pin: 'pin_hash' must be a string", INVALID_PARAMS)
        try:
            await self.set_hash(text)
        except PinError as exc:
            raise APIError(f"kiosk.set_pin: {exc}", PIN_ERROR) from None
        except OSError as exc:
            raise APIError(f"kiosk.set_pin: cannot write {self.hash_path}: {exc}") from None
        return {"ok": True, "path": str(self.hash_path), **to_dict(self.section())}
