"""`status --json` is a stable contract: the typed sections keep the JSON byte for byte.

`data/status_sample.json` is what `edgetui status --json` printed on the demo device
(`edgetui demo init`, plus `[metrics] listen` and one `validate` run) before the sections
were typed. Decoding it into the typed sections and printing it again must give the same
bytes: a field renamed, reordered, dropped or added in a section type fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgetui.models.sections import SECTION_TYPES
from edgetui.models.serde import to_dict
from edgetui.models.snapshot import Snapshot

SAMPLE = Path(__file__).parent / "data" / "status_sample.json"


def _print_json(obj: object) -> str:
    # The same encoding as the CLI's print_json (cli/context.py).
    return json.dumps(obj, separators=(",", ":"), default=str) + "\n"


def test_sample_round_trips_byte_for_byte_through_the_typed_sections() -> None:
    text = SAMPLE.read_text()
    snap = Snapshot.from_dict(json.loads(text))
    assert _print_json(snap.to_dict(with_history=False)) == text


def test_every_registered_section_in_the_sample_decodes_to_its_type() -> None:
    snap = Snapshot.from_dict(json.loads(SAMPLE.read_text()))
    registered = [name for name in snap.sections if name in SECTION_TYPES]
    for name in registered:
        value = snap.sections[name]
        assert not isinstance(value, dict), f"section {name} stayed a dict"
        # Each typed section, printed alone, is the sample's section again.
        assert to_dict(value) == json.loads(SAMPLE.read_text())[name], name
