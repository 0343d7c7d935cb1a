"""Signing a command on the operator side loads only what signing needs.

The security code is split by what it does (access, audit, kiosk, keys, remote, sealing):
`from edgetui.remote import sign_command` must not pull in the kiosk PIN (scrypt), the
sealing of the outbox (AES-GCM), the audit trail or the device runtime. Run in a fresh
interpreter, so nothing another test imported counts.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from edgetui.keys import load_private_key
from edgetui.remote import sign_command
print(json.dumps(sorted(sys.modules)))
"""

HEAVY = (
    "edgetui.kiosk",
    "edgetui.sealing",
    "edgetui.audit",
    "edgetui.access",
    "edgetui.runtime",
    "edgetui.store",
    "cryptography.hazmat.primitives.kdf.scrypt",
    "cryptography.hazmat.primitives.ciphers.aead",
)


def test_signing_a_command_imports_no_pin_aes_or_audit_code() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    assert "edgetui.remote.commands" in loaded  # the probe did import the signer
    heavy = [m for m in loaded if m.startswith(HEAVY)]
    assert heavy == []


def test_the_kiosk_pin_does_load_scrypt() -> None:
    # The probe above can fail: the same check sees scrypt where it is used.
    probe = "import json, sys\nimport edgetui.kiosk\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "cryptography.hazmat.primitives.kdf.scrypt" in json.loads(out)
