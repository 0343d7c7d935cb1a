"""Phased rollouts (`edgetui fleet rollout ...`): waves of signed `ota.apply` commands that
start on a success threshold, halt by themselves on a failure rate and can roll back.

Modules: `spec` (create: options, target set, waves), `judge` (one turn, a pure function),
`runner` (turns under the store's lease; records every command before publishing it),
`status` (the status document). Offers `RolloutSpec`, `create_rollout`, `SpecError`,
`parse_waves`, `parse_target`, `duration_option`, `read_manifest_version`,
`spec_from_options` (create's options, for the CLI and the console's form), `RolloutRunner`,
`rollout_status`, `tally` (its counts as printed), `judge`, `one_line` (an error in one
short line), `TRANSITIONS` (what pause, resume and abort do).
"""

from edgetui.fleet.rollout_records import TRANSITIONS, RolloutRecord, RolloutSpec
from edgetui.fleet.rollouts.judge import judge
from edgetui.fleet.rollouts.runner import RolloutRunner, one_line
from edgetui.fleet.rollouts.spec import (
    SpecError,
    create_rollout,
    duration_option,
    parse_target,
    parse_waves,
    read_manifest_version,
    spec_from_options,
)
from edgetui.fleet.rollouts.status import Tally, rollout_status, tally

__all__ = [
    "TRANSITIONS",
    "RolloutRecord",
    "RolloutRunner",
    "RolloutSpec",
    "SpecError",
    "Tally",
    "create_rollout",
    "duration_option",
    "judge",
    "one_line",
    "parse_target",
    "parse_waves",
    "read_manifest_version",
    "rollout_status",
    "spec_from_options",
    "tally",
]
