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
    """Raise OtaError when the package's first member is a `slot.json` whose paths leave the
    slot or that has a duplicate key.

    Only the first member is read (`bundle build` always puts `slot.json` first): scanning
    the whole archive would decompress it twice. A package that keeps its record elsewhere
    is checked after extraction, when `SlotContent.load` reads the file actually written.
    """
    try:
        with tarfile.open(package, mode="r:*") as tar:
            ti = tar.next()
            if ti is None or ti.name.removeprefix("./") != SLOT_RECORD:
                return
            if not ti.isreg() or ti.size > MAX_RECORD_BYTES:
                raise _bad(f"{SLOT_RECORD} is not a regular file under 1 MiB")
            f = tar.extractfile(ti)
            data = f.read() if f is not None else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise OtaError("unsafe_archive", f"{package}: unreadable archive: {exc}") from None
    try:
        parse_slot_record(data)
    except ValueError as exc:
        raise _bad(str(exc)) from None
