"""The signed update manifest: parse, canonical form, signature and applicability checks.

Fields are the seed manifest's (version, release_date, changes, target_devices,
update_package_url, checksum, rollback_version) plus size, expires, key_id and signature,
and two optional ones, `min_ram_mb` and `min_disk_mb` (what a device needs to take the
release; kept in `extra`, so manifests without them verify as before).
The Ed25519 signature covers the canonical JSON of every field except `signature`
(sorted keys, no whitespace, UTF-8), so unknown future fields are signed too.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgetui.keys import key_id, load_public_key
from edgetui.models.clock import parse_rfc3339
from edgetui.models.untrusted import StrictJSONError, clip, loads_strict
from edgetui.ota.errors import OtaError

log = logging.getLogger(__name__)

MAX_MANIFEST_BYTES = 1 << 20
MAX_KEY_ID_CHARS = 64
_SHA256_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_SEMVER_RE = re.compile(
    r"^v?(?P<core>\d+(?:\.\d+){0,3})(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)


@dataclass
class Manifest:
    """One release as announced by the update server."""

    version: str
    release_date: str
    changes: str
    target_devices: list[str]
    update_package_url: str
    checksum: str
    rollback_version: str | None
    size: int
    expires: str
    key_id: str
    signature: str
    extra: dict[str, Any] = field(default_factory=dict)  # unknown fields, kept for the signature

    @property
    def min_ram_mb(self) -> int | None:
        """RAM (MB, the device's total) the release needs, or None when it says nothing."""
        v = self.extra.get("min_ram_mb")
        return v if isinstance(v, int) else None

    @property
    def min_disk_mb(self) -> int | None:
        """Free disk (MB, where the slots live) the release needs, or None."""
        v = self.extra.get("min_disk_mb")
        return v if isinstance(v, int) else None

    @property
    def sha256(self) -> str:
        """The package digest as bare hex."""
        return self.checksum.split(":", 1)[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with every field (extra fields merged at the top level)."""
        d: dict[str, Any] = {k: getattr(self, k) for k in _KNOWN}
        d.update(self.extra)
        return d

    def signing_payload(self) -> bytes:
        """Canonical bytes the signature covers: all fields but `signature`."""
        d = self.to_dict()
        d.pop("signature", None)
        return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def sign(self, private_key: Ed25519PrivateKey) -> None:
        """Set key_id and signature from a private key."""
        self.key_id = key_id(private_key)
        self.signature = base64.b64encode(private_key.sign(self.signing_payload())).decode()

    def to_json(self) -> bytes:
        """Pretty JSON for manifest.json (the signature does not depend on layout)."""
        return (json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n").encode()


# The manifest's named fields, in declaration order: every dataclass field but `extra`, which
# holds the unknown ones. A field added to Manifest is parsed, required and signed with no
# second list to keep in step.
_KNOWN = tuple(f.name for f in fields(Manifest) if f.name != "extra")
# Optional, signed like every field, checked by the device before it downloads anything.
OPTIONAL_REQUIREMENTS = ("min_ram_mb", "min_disk_mb")


def _bad(msg: str) -> OtaError:
    return OtaError("malformed_manifest", f"malformed manifest: {msg}")


def parse_manifest(data: bytes) -> Manifest:
    """Parse and type-check manifest JSON; raises OtaError(malformed_manifest)."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise _bad(f"larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        # Strict: a duplicate key could mean one value to the signature and another to a
        # different reader of the same file.
        obj = loads_strict(data)
    except StrictJSONError as exc:
        raise _bad(str(exc)) from None
    if not isinstance(obj, dict):
        raise _bad("top level is not an object")
    missing = [k for k in _KNOWN if k not in obj]
    if missing:
        raise _bad("missing field(s) " + ", ".join(missing))

    def need_str(k: str, *, empty_ok: bool = False) -> str:
        v = obj[k]
        if not isinstance(v, str) or (not empty_ok and not v.strip()):
            raise _bad(f"{k} must be a non-empty string")
        return v

    version = need_str("version")
    if not _SEMVER_RE.match(version):
        raise _bad(f"version {clip(version)} is not a semantic version")
    rollback = obj["rollback_version"]
    if rollback is not None and (not isinstance(rollback, str) or not _SEMVER_RE.match(rollback)):
        raise _bad("rollback_version must be a semantic version or null")
    for k in ("release_date", "expires"):
        try:
            parse_rfc3339(need_str(k))
        except ValueError:
            raise _bad(f"{k} {clip(obj[k])} is not an RFC 3339 timestamp") from None
    targets = obj["target_devices"]
    if (
        not isinstance(targets, list)
        or not targets
        or not all(isinstance(t, str) and t for t in targets)
    ):
        raise _bad("target_devices must be a non-empty list of strings")
    checksum = need_str("checksum")
    if not _SHA256_RE.match(checksum):
        raise _bad("checksum must be 'sha256:' followed by 64 lowercase hex digits")
    size = obj["size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _bad("size must be a non-negative integer")
    key = need_str("key_id")
    if len(key) > MAX_KEY_ID_CHARS:  # key ids are echoed in refusals: keep them short
        raise _bad(f"key_id longer than {MAX_KEY_ID_CHARS} characters")
    for k in OPTIONAL_REQUIREMENTS:
        v = obj.get(k)
        if k in obj and (not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 1 << 30):
            raise _bad(f"{k} must be a whole number of MB from 0 to {1 << 30}")
    return Manifest(
        version=version,
        release_date=obj["release_date"],
        changes=need_str("changes", empty_ok=True),
        target_devices=list(targets),
        update_package_url=need_str("update_package_url"),
        checksum=checksum,
        rollback_version=rollback,
        size=size,
        expires=obj["expires"],
        key_id=key,
        signature=need_str("signature"),
        extra={k: v for k, v in obj.items() if k not in _KNOWN},
    )


def _revoked_ids(revoked: Sequence[str | Path]) -> set[str]:
    ids: set[str] = set()
    for entry in revoked:
        text = str(entry)
        looks_like_path = isinstance(entry, Path) or text.endswith(".pub") or "/" in text
        if not looks_like_path:
            ids.add(text)
            continue
        try:
            ids.add(key_id(load_public_key(Path(text))))
        except (OSError, ValueError) as exc:
            # Fail closed: a revocation we cannot read could be the one that matters.
            raise OtaError(
                "revoked_key", f"cannot read revoked key {text}: {exc}; fix [ota] revoked_keys"
            ) from None
    return ids


def verify_manifest(
    m: Manifest,
    trusted_keys: Sequence[str | Path],
    revoked: Sequence[str | Path] = (),
    *,
    now: datetime | None = None,
) -> None:
    """Check the signature (trusted, not revoked key) and expiry; raises OtaError."""
    if m.key_id in _revoked_ids(revoked):
        raise OtaError("revoked_key", f"manifest signed by revoked key {m.key_id}")
    if not trusted_keys:
        raise OtaError("unknown_key", "no trusted keys configured ([ota] trusted_keys)")
    match = None
    unreadable: list[str] = []
    for path in trusted_keys:
        try:
            pub = load_public_key(Path(path))
        except (OSError, ValueError) as exc:
            log.warning("trusted key %s unreadable: %s", path, exc)
            unreadable.append(str(path))
            continue
        if key_id(pub) == m.key_id:
            match = pub
            break
    if match is None:
        extra = f" ({len(unreadable)} trusted key file(s) unreadable)" if unreadable else ""
        raise OtaError("unknown_key", f"manifest signed by unknown key {m.key_id}{extra}")
    try:
        sig = base64.b64decode(m.signature, validate=True)
        match.verify(sig, m.signing_payload())
    except (binascii.Error, ValueError, InvalidSignature):
        raise OtaError(
            "bad_signature", f"manifest signature by key {m.key_id} does not verify (tampered?)"
        ) from None
    now = now or datetime.now(UTC)
    expires = parse_rfc3339(m.expires)
    if now >= expires:
        raise OtaError(
            "expired",
            f"manifest expired at {m.expires} (stale metadata refused; re-sign the release)",
        )


def _version_key(v: str) -> tuple[tuple[int, ...], tuple[tuple[int, int | str], ...] | None]:
    mt = _SEMVER_RE.match(v.strip())
    if not mt:
        raise ValueError(f"{v!r} is not a semantic version")
    core = tuple(int(x) for x in mt["core"].split("."))
    core = core + (0,) * (4 - len(core))
    pre = mt["pre"]
    if pre is None:
        return core, None
    # Numeric identifiers sort before alphanumeric ones (semver 11.4.3).
    return core, tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as semantic version a is older, equal or newer than b (1.10.0 > 1.9.0)."""
    (ca, pa), (cb, pb) = _version_key(a), _version_key(b)
    if ca != cb:
        return -1 if ca < cb else 1
    if pa == pb:
        return 0
    if pa is None:  # a release sorts after its pre-releases
        return 1
    if pb is None:
        return -1
    return -1 if pa < pb else 1


def check_applicable(
    m: Manifest,
    *,
    installed_version: str | None,
    device_id: str,
    device_type: str,
    allow_downgrade: bool = False,
) -> None:
    """Refuse a release for another device or not newer than the installed one."""
    targets = set(m.target_devices)
    if not ({"all", device_type, device_id} & targets):
        raise OtaError(
            "wrong_target",
            f"release {m.version} targets {clip(', '.join(m.target_devices), 80, quote=False)}; "
            f"this device is {device_id} (type {device_type})",
        )
    if installed_version is None or allow_downgrade:
        return
    try:
        order = compare_versions(m.version, installed_version)
    except ValueError:
        raise OtaError(
            "downgrade",
            f"installed version {installed_version!r} is not a semantic version; "
            "cannot prove the release is newer",
        ) from None
    if order == 0:
        raise OtaError("downgrade", f"version {m.version} is already installed (not newer)")
    if order < 0:
        raise OtaError(
            "downgrade",
            f"release {m.version} is older than installed {installed_version} "
            "(downgrade refused; roll back explicitly)",
        )


def check_resources(m: Manifest, *, ram_mb: float | None, disk_free_mb: float | None) -> None:
    """Refuse a release this device cannot take (`min_ram_mb`, `min_disk_mb`), before any
    download: OtaError("insufficient_ram"|"insufficient_disk") with a one-line reason.
    A figure the device could not measure (None) is not held against it."""
    need = m.min_ram_mb
    if need is not None and ram_mb is not None and ram_mb < need:
        raise OtaError(
            "insufficient_ram",
            f"release {m.version} needs {need} MB of RAM; this device has {ram_mb:.0f} MB",
        )
    need = m.min_disk_mb
    if need is not None and disk_free_mb is not None and disk_free_mb < need:
        raise OtaError(
            "insufficient_disk",
            f"release {m.version} needs {need} MB of free disk; this device has "
            f"{disk_free_mb:.0f} MB free",
        )
