"""Check and install: fetch + verify a manifest, then download, extract and stage a bundle in
the inactive slot, and point `current` at it as a trial. Blocking: run in a worker thread.

Nothing touches a slot until the manifest is verified and the package downloaded and
checked; only the inactive slot is ever written.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edgetui.config import OtaConfig
from edgetui.faults import fault_point
from edgetui.models.ota import OtaState
from edgetui.models.ota_section import UpdateOffer
from edgetui.models.slot import SlotContent
from edgetui.ota.errors import OtaError
from edgetui.ota.slots import SlotStore, listing_digest, now_rfc3339

if TYPE_CHECKING:  # imported lazily at run time: a check need not load the bundle code
    from edgetui.ota.manifest import Manifest

log = logging.getLogger(__name__)

# phase, percent (None: indeterminate), message
Progress = Callable[[str, float | None, str], None]
MAX_FILES = 10_000
# A slot may unpack to at most this many times the package (models barely compress).
MAX_EXPANSION = 20
MIN_EXTRACT_BUDGET = 64 * 1024 * 1024


@dataclass
class Offer:
    """A verified manifest and what it means for this device."""

    manifest: Manifest
    manifest_url: str
    installed_version: str | None
    available: bool
    message: str

    def summary(self) -> UpdateOffer:
        """The offer as the `ota` section and `ota.check` show it."""
        m = self.manifest
        return UpdateOffer(
            version=m.version,
            release_date=m.release_date,
            changes=m.changes,
            size=m.size,
            rollback_version=m.rollback_version,
            installed_version=self.installed_version,
            available=self.available,
            message=self.message,
        )


class Updater:
    """The update pipeline for one device (config, identity, slot store)."""

    def __init__(
        self, store: SlotStore, config: OtaConfig, device_id: str, device_type: str
    ) -> None:
        self.store = store
        self.config = config
        self.device_id = device_id
        self.device_type = device_type
        # Replaces shutil.disk_usage(...).free in the download's space check (tests only).
        self.free_space: Callable[[Path], int] | None = None
        # Replaces the device's total RAM (MB) in the manifest's min_ram_mb check (tests only).
        self.ram_total_mb: Callable[[], float] | None = None

    def fetch_offer(
        self, url: str, installed_version: str | None, *, allow_downgrade: bool = False
    ) -> Offer:
        """Fetch, parse and verify the manifest at `url`; raises OtaError with the reason.

        A valid manifest that is not newer is an Offer with available=False, not an error.
        """
        from edgetui.ota.fetch import fetch_manifest
        from edgetui.ota.manifest import (
            check_applicable,
            check_resources,
            parse_manifest,
            verify_manifest,
        )

        m = parse_manifest(fetch_manifest(url, timeout=self.config.download_timeout_s))
        verify_manifest(m, list(self.config.trusted_keys), list(self.config.revoked_keys))
        try:
            check_applicable(
                m,
                installed_version=installed_version,
                device_id=self.device_id,
                device_type=self.device_type,
                allow_downgrade=allow_downgrade,
            )
        except OtaError as exc:
            if exc.code != "downgrade":
                raise
            return Offer(m, url, installed_version, False, str(exc))
        # Before any download: a device without the RAM or disk the release needs refuses
        # it with the reason (insufficient_ram/insufficient_disk), which a rollout groups.
        check_resources(m, ram_mb=self._ram_mb(), disk_free_mb=self._disk_free_mb())
        return Offer(
            m,
            url,
            installed_version,
            True,
            f"{m.version} is available (installed: {installed_version or 'nothing'})",
        )

    def _ram_mb(self) -> float | None:
        if self.ram_total_mb is not None:
            return self.ram_total_mb()
        try:
            import psutil

            return psutil.virtual_memory().total / (1024 * 1024)
        except (ImportError, OSError):
            return None  # not measured: not held against the device

    def _disk_free_mb(self) -> float | None:
        directory = self.store.state_dir
        try:
            free = self.free_space(directory) if self.free_space else None
            if free is None:
                import shutil

                free = shutil.disk_usage(directory).free
        except OSError:
            return None
        return free / (1024 * 1024)

    def install(self, offer: Offer, slot: str, progress: Progress) -> OtaState:
        """Download, verify and extract into `slot` (the inactive one), mark it trial and
        switch `current` to it. Returns the saved state; raises OtaError, slot left empty."""
        from edgetui.ota.bundle import package_name
        from edgetui.ota.fetch import download, resolve_package_url, slow_limit
        from edgetui.ota.package_record import check_package_record

        m = offer.manifest
        version: str = m.version
        size: int = m.size
        url = resolve_package_url(offer.manifest_url, m.update_package_url)
        self.store.ensure()
        self.store.downloads.mkdir(parents=True, exist_ok=True)
        package = self.store.downloads / package_name(version)
        on_download = _percent_reporter(progress, "download", "bytes")
        progress("download", 0, f"fetching {url}")
        download(
            url,
            package,
            size=size,
            sha256=m.sha256,
            timeout=self.config.download_timeout_s,
            slow=slow_limit(self.config),
            progress=on_download,
            free_space=self.free_space,
        )
        fault_point("ota.after_download")
        progress("verify", None, f"package {version}: size and sha256 match the signed manifest")
        # Paths in slot.json must stay inside the slot: checked before the slot is touched.
        check_package_record(package)

        state = self.store.load()
        s = state.slots[slot]
        s.status, s.installing, s.last_error = "empty", version, None
        s.version = s.sha256 = s.content_sha256 = s.installed_at = s.activated_at = None
        s.boot_attempts = 0
        self.store.save(state)  # a kill from here on leaves a slot recorded as empty
        try:
            digest = stage_slot(
                self.store,
                slot,
                package,
                version=version,
                size=size,
                progress=progress,
                free_space=self.free_space,
            )
        except BaseException as exc:
            self._abandon(slot, version, exc)
            raise
        state = self.store.load()
        s = state.slots[slot]
        s.status, s.installing, s.version = "trial", None, version
        s.sha256, s.content_sha256 = m.checksum, digest
        s.installed_at = s.activated_at = now_rfc3339()
        s.boot_attempts, s.last_error = 0, None
        booted = self.store.current()
        from_version = state.slots[booted].version if booted else None
        self.store.record(
            state,
            "update",
            "ok",
            f"installed {version} into slot {slot}; trial boot next",
            slot=slot,
            from_version=from_version,
            to_version=version,
        )
        self.store.save(state)
        fault_point("ota.before_switch")
        progress("switch", None, f"switching current to slot {slot}")
        self.store.switch(slot)
        fault_point("ota.after_switch")
        with contextlib.suppress(OSError):
            package.unlink()
        return state

    def _abandon(self, slot: str, version: str, exc: BaseException) -> None:
        """Leave a failed install's slot empty and say why (best effort on the way out)."""
        if not isinstance(exc, Exception):
            return  # cancelled/killed: the next boot settles the `installing` marker
        reason = str(exc) if isinstance(exc, OtaError) else f"install failed: {exc}"
        try:
            self.store.clear_slot(slot)
            state = self.store.load()
            s = state.slots[slot]
            s.status, s.installing, s.last_error = "empty", None, reason
            self.store.save(state)
        except OSError:
            log.exception("could not clean up slot %s after a failed install", slot)


def stage_slot(
    store: SlotStore,
    slot: str,
    package: Path,
    *,
    version: str,
    size: int,
    progress: Progress | None = None,
    free_space: Callable[[Path], int] | None = None,
) -> str:
    """Empty `slot`, unpack the verified `package` (`size` bytes) into it and check that its
    slot record names `version`; returns the slot's content digest. Blocking.

    The one way content gets into a slot: the updater's install and the factory install both
    come through here, so both apply the same space check, bomb limits and record check.
    Raises OtaError; the caller empties the slot and records why.
    """
    from edgetui.ota.extract import safe_extract
    from edgetui.ota.fetch import check_free_space

    store.clear_slot(slot)
    dest = store.slot_dir(slot)
    budget = max(size * MAX_EXPANSION, MIN_EXTRACT_BUDGET)
    # Space may have gone since the download's check; the budget bounds the rest.
    check_free_space(dest, download=0, extract=size, free_space=free_space)
    if progress is not None:
        progress("extract", 0, f"unpacking into slot {slot}")
    listing = safe_extract(
        package,
        dest,
        max_bytes=budget,
        max_files=MAX_FILES,
        progress=_percent_reporter(progress, "extract", "") if progress else None,
    )
    fault_point("ota.after_extract")
    try:
        content = SlotContent.load(dest)
    except ValueError as exc:
        raise OtaError("malformed_manifest", f"bundle has no valid slot record: {exc}") from None
    if content.version != version:
        raise OtaError(
            "malformed_manifest",
            f"bundle says version {content.version}, manifest says {version}",
        )
    # Built from the hashes taken while extracting (no second read of the content); the
    # same canonical form as content_digest, which the boot uses to check the slot.
    return listing_digest(listing)


def _percent_reporter(progress: Progress, phase: str, unit: str) -> Callable[[int, int], None]:
    """A (done, total) callback that reports `phase` once per whole percent."""
    last = -1

    def report(done: int, total: int) -> None:
        nonlocal last
        pct = int(done * 100 / total) if total else 100
        if pct != last:
            last = pct
            progress(phase, pct, f"{done}/{total} {unit}".rstrip())

    return report
