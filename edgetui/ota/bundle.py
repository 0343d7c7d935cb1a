"""Release side: pack a slot directory into a signed bundle; verify and inspect bundles.

A bundle is a deterministic tar.gz (sorted members, mtime/uid/gid fixed) holding the slot
content plus a generated `slot.json`, and a `manifest.json` signed with Ed25519.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from edgetui.durable import atomic_write
from edgetui.file_digest import sha256_file
from edgetui.keys import load_private_key
from edgetui.models.clock import format_rfc3339
from edgetui.models.slot import PATH_KEYS, SLOT_RECORD, check_inside, parse_slot_record
from edgetui.ota.errors import OtaError
from edgetui.ota.manifest import (
    Manifest,
    parse_manifest,
    verify_manifest,
)

MANIFEST_NAME = "manifest.json"
# Fixed metadata keeps the same source producing the same bytes (reproducible bundles).
FIXED_MTIME = int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0)


class _HashingWriter(io.RawIOBase):
    """File wrapper that hashes and counts what passes through: no second pass over it."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.sha.update(b)
        self.size += len(b)
        return self._f.write(b)


def package_name(version: str) -> str:
    """File name of the package for a version."""
    return f"edgetui-{version}.tar.gz"


def _walk(source: Path) -> list[Path]:
    """Every directory and regular file under source, sorted; refuses links and specials."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        base = Path(dirpath)
        for name in [*dirnames, *sorted(filenames)]:
            p = base / name
            if p.is_symlink():
                raise ValueError(f"{p}: symlinks are not packed; copy the file instead")
            if not (p.is_dir() or p.is_file()):
                raise ValueError(f"{p}: only regular files and directories are packed")
            if p.parent == source and name == SLOT_RECORD:
                continue  # regenerated below
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(source).as_posix())


def slot_record(source: Path, version: str) -> dict[str, Any]:
    """The slot.json a bundle of `source` carries (see edgetui/models/slot.py)."""
    models = sorted(
        (p for p in source.rglob("*.gguf") if p.is_file()),
        key=lambda p: p.relative_to(source).as_posix(),
    )
    model = models[0] if models else None
    return {
        "version": version,
        "model": model.relative_to(source).as_posix() if model else None,
        "model_sha256": sha256_file(model) if model else None,
        "agents": "agents" if (source / "agents").is_dir() else None,
        "golden": "golden.json" if (source / "golden.json").is_file() else None,
    }


def check_record(source: Path, record: bytes) -> None:
    """Build-time twin of the device's check: every path in the record stays inside the
    source once symlinks are resolved (raises ValueError)."""
    data = parse_slot_record(record, f"{source}/{SLOT_RECORD}")
    for key in PATH_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value:
            check_inside(source, source / value, key)


def _tarinfo(name: str, *, size: int = 0, is_dir: bool = False, exe: bool = False):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    ti.mode = 0o755 if (is_dir or exe) else 0o644
    ti.size = 0 if is_dir else size
    ti.mtime = FIXED_MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def write_package(source: Path, version: str, dest: Path) -> tuple[str, int]:
    """Write the tar.gz of `source` (+ slot.json) to dest; returns (sha256 hex, size)."""
    record = json.dumps(slot_record(source, version), indent=2, sort_keys=True).encode()
    check_record(source, record)
    entries = _walk(source)
    with open(dest, "wb") as raw:
        hw = _HashingWriter(raw)
        # mtime=0 and no file name in the gzip header: deterministic output.
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=hw, mtime=0, compresslevel=6) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            tar.addfile(_tarinfo(SLOT_RECORD, size=len(record)), io.BytesIO(record))
            for p in entries:
                rel = p.relative_to(source).as_posix()
                if p.is_dir():
                    tar.addfile(_tarinfo(rel, is_dir=True))
                else:
                    st = p.stat()
                    ti = _tarinfo(rel, size=st.st_size, exe=bool(st.st_mode & 0o100))
                    with open(p, "rb") as f:
                        tar.addfile(ti, f)
        raw.flush()
        os.fsync(raw.fileno())
    return hw.sha.hexdigest(), hw.size


def build_bundle(
    source: Path,
    version: str,
    key: Path,
    out: Path,
    *,
    rollback_version: str | None = None,
    targets: Sequence[str] = ("all",),
    expires_days: float = 30,
    changes: str = "",
    url_base: str | None = None,
    min_ram_mb: int | None = None,
    min_disk_mb: int | None = None,
) -> Manifest:
    """Pack `source` into out/edgetui-<version>.tar.gz and write the signed out/manifest.json."""
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise ValueError(f"{source}: not a directory")
    if expires_days <= 0:
        raise ValueError("expires_days must be above 0")
    if (source / "golden.json").is_file():
        # A bad golden file would fail every health check of this release: refuse it now.
        from edgetui.inference import load_golden

        load_golden(source / "golden.json")  # ValueError naming the file and the case
    private = load_private_key(Path(key))
    out.mkdir(parents=True, exist_ok=True)
    name = package_name(version)
    tmp = out / (name + ".tmp")
    digest, size = write_package(source, version, tmp)
    os.replace(tmp, out / name)
    now = datetime.now(UTC)
    m = Manifest(
        version=version,
        release_date=format_rfc3339(now),
        changes=changes,
        target_devices=list(targets) or ["all"],
        update_package_url=(url_base.rstrip("/") + "/" + name) if url_base else name,
        checksum=f"sha256:{digest}",
        rollback_version=rollback_version,
        size=size,
        expires=format_rfc3339(now + timedelta(days=expires_days)),
        key_id="",
        signature="",
        extra={
            k: v
            for k, v in (("min_ram_mb", min_ram_mb), ("min_disk_mb", min_disk_mb))
            if v is not None
        },
    )
    m.sign(private)
    # Round-trip through the parser: a builder must never emit what devices would refuse.
    m = parse_manifest(m.to_json())
    atomic_write(out / MANIFEST_NAME, m.to_json())
    return m


def local_package_path(manifest_path: Path, m: Manifest) -> Path:
    """Where a manifest's package lies on disk when the URL is relative or file://."""
    url = m.update_package_url
    if url.startswith("file://"):
        from edgetui.ota.fetch import local_path

        return local_path(url)
    if "://" in url:
        # Published under a URL: look for the same file name next to the manifest.
        return Path(manifest_path).parent / url.rstrip("/").rsplit("/", 1)[-1]
    return Path(manifest_path).parent / url


def check_package(path: Path, m: Manifest) -> None:
    """Size, then sha256 of a package file against its manifest; raises OtaError."""
    try:
        actual = path.stat().st_size
    except FileNotFoundError:
        raise OtaError("not_found", f"package {path} not found") from None
    if actual > m.size:
        raise OtaError("too_large", f"package is {actual} bytes, manifest says {m.size}")
    if actual < m.size:
        raise OtaError(
            "size_mismatch",
            f"package is {actual} bytes, shorter than the signed size of {m.size} bytes",
        )
    digest = sha256_file(path)
    if digest != m.sha256:
        raise OtaError(
            "checksum_mismatch",
            f"package sha256 {digest[:16]}… does not match manifest {m.sha256[:16]}… (tampered?)",
        )


def verify_bundle(
    manifest_path: Path,
    package_path: Path | None,
    trusted_keys: Sequence[str | Path],
    revoked: Sequence[str | Path] = (),
) -> Manifest:
    """Parse and verify a manifest, then the package it names (or the one given)."""
    manifest_path = Path(manifest_path)
    try:
        data = manifest_path.read_bytes()
    except FileNotFoundError:
        raise OtaError("not_found", f"manifest {manifest_path} not found") from None
    m = parse_manifest(data)
    verify_manifest(m, list(trusted_keys), list(revoked))
    pkg = Path(package_path) if package_path else local_package_path(manifest_path, m)
    check_package(pkg, m)
    return m


def inspect_bundle(path: Path) -> dict[str, Any]:
    """Describe a manifest.json or a package (no trust decision): JSON-ready dict."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except FileNotFoundError:
        raise OtaError("not_found", f"{path} not found") from None
    if head.lstrip().startswith(b"{"):
        m = parse_manifest(path.read_bytes())
        return {"kind": "manifest", "path": str(path), "manifest": m.to_dict()}
    members: list[dict[str, Any]] = []
    record: dict[str, Any] | None = None
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for ti in tar:
                members.append({"name": ti.name, "type": _type_name(ti), "size": ti.size})
                if ti.name == SLOT_RECORD and ti.isreg() and ti.size < (1 << 20):
                    f = tar.extractfile(ti)
                    if f is not None:
                        try:
                            record = json.loads(f.read())
                        except ValueError:
                            record = None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise OtaError("unsafe_archive", f"{path}: unreadable archive: {exc}") from None
    return {
        "kind": "package",
        "path": str(path),
        "size": path.stat().st_size,
        "sha256": sha256_file(path),
        "slot": record,
        "files": len([m for m in members if m["type"] == "file"]),
        "bytes": sum(m["size"] for m in members if m["type"] == "file"),
        "members": members,
    }


def _type_name(ti: tarfile.TarInfo) -> str:
    if ti.isdir():
        return "dir"
    if ti.isreg():
        return "file"
    if ti.issym():
        return "symlink"
    if ti.islnk():
        return "hardlink"
    if ti.ischr() or ti.isblk():
        return "device"
    if ti.isfifo():
        return "fifo"
    return "other"
