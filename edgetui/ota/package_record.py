"""The slot record inside a package, checked before anything is written to a slot.

A signed bundle whose `slot.json` names its model or agents outside the slot (`../x.gguf`,
an absolute path) would have the device load files the slot's checksum does not cover.
The updater reads the record straight from the downloaded package and refuses such a
bundle before the inactive slot is touched; after extraction `SlotContent.load` checks the
same paths again with symlinks resolved.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from edgetui.models.slot import SLOT_RECORD, parse_slot_record
from edgetui.ota.errors import OtaError

MAX_RECORD_BYTES = 1 << 20


def _bad(msg: str) -> OtaError:
    return OtaError("unsafe_archive", f"bundle refused: {msg}")


def check_package_record(package: Path) -> None:
    """Raise OtaError unless the package holds exactly one regular `slot.json` whose paths
    stay inside the slot and which has no duplicate keys."""
    data: bytes | None = None
    try:
        with tarfile.open(package, mode="r:*") as tar:
            for ti in tar:
                name = ti.name.removeprefix("./")
                if name != SLOT_RECORD:
                    continue
                if data is not None:
                    raise _bad(f"{SLOT_RECORD} appears twice in the archive")
                if not ti.isreg() or ti.size > MAX_RECORD_BYTES:
                    raise _bad(f"{SLOT_RECORD} is not a regular file under 1 MiB")
                f = tar.extractfile(ti)
                data = f.read() if f is not None else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise OtaError("unsafe_archive", f"{package}: unreadable archive: {exc}") from None
    if data is None:
        raise OtaError("malformed_manifest", f"bundle has no {SLOT_RECORD}")
    try:
        parse_slot_record(data)
    except ValueError as exc:
        raise _bad(str(exc)) from None
