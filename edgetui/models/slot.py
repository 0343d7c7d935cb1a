"""What an OTA slot holds, as recorded in its `slot.json` (written by `bundle build`).

Layout of a slot directory (and of a bundle's content):
    slot.json       {"version", "model", "model_sha256", "agents", "golden"} (paths relative)
    model/*.gguf    the model file named by "model"
    agents/*.py     optional agent modules overriding the built-in ones
    golden.json     golden prompts the health check runs
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SLOT_RECORD = "slot.json"


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
        """Read `root/slot.json`; raises ValueError with a one-line reason."""
        root = Path(root)
        record = root / SLOT_RECORD
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{record}: missing slot record") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{record}: unreadable slot record: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            raise ValueError(f"{record}: slot record lacks a version")

        def rel(key: str) -> Path | None:
            value = data.get(key)
            return (root / value) if isinstance(value, str) and value else None

        return cls(
            root=root,
            version=data["version"],
            model=rel("model"),
            model_sha256=data.get("model_sha256") or None,
            agents_dir=rel("agents"),
            golden=rel("golden"),
        )
