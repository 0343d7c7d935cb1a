"""Phased rollouts (`edgetui fleet rollout ...`): waves of signed `ota.apply` commands that
start on a success threshold, halt by themselves on a failure rate and can roll back.

One slice, records to runner: `records` (a rollout, its spec and executions as the store
keeps them), `store` (`RolloutStore`, the protocol the fleet store implements; its SQL is in
`fleet/store/rollouts.py`), `spec` (create: options, target set, waves), `judge` (one turn, a
pure function), `runner` (turns under the store's lease, whose `claim()`/`release()` are the
only lease API; records every command before publishing it), `status` (the status
document). It never imports `edgetui.fleet.store`. Offers `RolloutSpec`, `Execution`,
`RolloutStore`, `create_rollout`, `SpecError`,
`parse_waves`, `parse_target`, `duration_option`, `read_manifest_version`,
`spec_from_options` (create's options, for the CLI and the console's form), `RolloutRunner`,
`rollout_status`, `tally` (its counts as printed), `judge`, `one_line` (an error in one
short line), `TRANSITIONS` (what pause, resume and abort do).
"""

from edgetui.fleet.rollouts.judge import judge
from edgetui.fleet.rollouts.records import TRANSITIONS, Execution, RolloutRecord, RolloutSpec
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
from edgetui.fleet.rollouts.store import RolloutStore

__all__ = [
    "TRANSITIONS",
    "Execution",
    "RolloutRecord",
    "RolloutRunner",
    "RolloutSpec",
    "RolloutStore",
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
