"""What an OTA slot holds, as recorded in its `slot.json` (written by `bundle build`).

Layout of a slot directory (and of a bundle's content):
    slot.json       {"version", "model", "model_sha256", "agents", "golden"} (paths relative)
    model/*.gguf    the model file named by "model"
    agents/*.py     optional agent modules overriding the built-in ones
    golden.json     golden prompts the health check runs
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from edgetui.models.untrusted import StrictJSONError, clip, loads_strict

SLOT_RECORD = "slot.json"
PATH_KEYS = ("model", "agents", "golden")  # the record's paths, relative to the slot


def parse_slot_record(data: bytes | str, where: str = SLOT_RECORD) -> dict[str, Any]:
    """Decode a slot record strictly (no duplicate keys) and check its paths lexically:
    each must be relative, without `..`, and name something inside the slot. Raises
    ValueError with a one-line reason. (Symlinks are checked by `check_inside` once the
    content is on disk.)"""
    try:
        record = loads_strict(data)
    except StrictJSONError as exc:
        raise ValueError(f"{where}: unreadable slot record: {exc}") from None
    if not isinstance(record, dict) or not isinstance(record.get("version"), str):
        raise ValueError(f"{where}: slot record lacks a version")
    for key in PATH_KEYS:
        value = record.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValueError(f"{where}: {key} must be a relative path string")
        pure = PurePosixPath(value)
        if pure.is_absolute() or ".." in pure.parts or "\\" in value or "\0" in value:
            raise ValueError(
                f"{where}: {key} path {clip(value)} leaves the slot (absolute or with ..)"
            )
    return record


def check_inside(root: Path, path: Path, key: str) -> None:
    """Raise ValueError unless `path` resolves inside `root` once symlinks are followed."""
    base = Path(root).resolve()
    target = Path(path).resolve()
    if target != base and base not in target.parents:
        raise ValueError(
            f"{Path(root) / SLOT_RECORD}: {key} path resolves to {clip(str(target), 80)}, "
            "outside the slot"
        )


@dataclass
class SlotContent:
    """Paths are absolute once loaded; None where the slot does not provide that part."""

    root: Path
    version: str
    model: Path | None
    model_sha256: str | None
    agents_dir: Path | None
    golden: Path | None

    @classmethod
    def load(cls, root: Path) -> SlotContent:
        """Read `root/slot.json`; raises ValueError with a one-line reason, also when a path
        it names resolves (after symlinks) outside the slot: the slot's checksum would not
        cover what the device then loads or runs."""
        root = Path(root)
        record = root / SLOT_RECORD
        try:
            raw = record.read_bytes()
        except FileNotFoundError:
            raise ValueError(f"{record}: missing slot record") from None
        except OSError as exc:
            raise ValueError(f"{record}: unreadable slot record: {exc}") from None
        data = parse_slot_record(raw, str(record))

        def rel(key: str) -> Path | None:
            value = data.get(key)
            if not (isinstance(value, str) and value):
                return None
            path = root / value
            check_inside(root, path, key)
            return path

        return cls(
            root=root,
            version=data["version"],
            model=rel("model"),
            model_sha256=data.get("model_sha256") or None,
            agents_dir=rel("agents"),
            golden=rel("golden"),
        )
