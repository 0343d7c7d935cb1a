"""Signed remote commands: the operator signs, the device verifies and runs.

Offers the part, `RemoteCommands` (verifies signed commands from devices/<id>/commands, runs
them one at a time and reports their states, the AWS IoT Jobs vocabulary of
`models.vocabulary.JobState`, on devices/<id>/commands/result), and the command document
with its Ed25519 signature: `sign_command`, `parse_command`, `verify_command`, `Verifier`,
`CommandRefused`, `SUPPORTED`. The operator side (`edgetui command sign|send`, the fleet's
rollout runner) imports only the document half: no PIN, AES or device-runtime code.

Modules: `commands` (the document and signature), `replay` (the replay window), `service`
(the part).
"""

from edgetui.remote.commands import (
    SUPPORTED,
    CommandRefused,
    Verifier,
    parse_command,
    sign_command,
    verify_command,
)
from edgetui.remote.service import RemoteCommands

__all__ = [
    "SUPPORTED",
    "CommandRefused",
    "RemoteCommands",
    "Verifier",
    "parse_command",
    "sign_command",
    "verify_command",
]
