"""Factory install: put a verified bundle into a slot as the good, booted one (no trial).

Used by `edgetui demo init` and tests to make a device that starts with slot "a" in place,
the way a device leaves the factory with its first image flashed.
"""

from __future__ import annotations

from pathlib import Path

from edgetui.ota.bundle import local_package_path, verify_bundle
from edgetui.ota.slots import SlotStore, now_rfc3339
from edgetui.ota.updater import stage_slot


def install_factory(
    state_dir: Path, manifest_path: Path, trusted_keys: list[str], slot: str = "a"
) -> str:
    """Verify the bundle at `manifest_path`, extract it into `slot`, mark it good and booted.

    Returns the installed version. Refuses to overwrite a slot that is not empty.
    """
    store = SlotStore(state_dir)
    store.ensure()
    state = store.load()
    if state.slots[slot].status != "empty":
        raise ValueError(f"slot {slot} is not empty ({state.slots[slot].status})")
    m = verify_bundle(manifest_path, None, trusted_keys)
    package = local_package_path(manifest_path, m)
    digest = stage_slot(store, slot, package, version=m.version, size=m.size)
    s = state.slots[slot]
    s.status, s.version, s.sha256 = "good", m.version, m.checksum
    s.content_sha256 = digest
    s.installed_at = s.activated_at = now_rfc3339()
    s.boot_attempts, s.last_error, s.installing = 0, None, None
    store.record(state, "update", "ok", "factory install", slot=slot, to_version=m.version)
    store.save(state)
    store.switch(slot)
    return m.version
