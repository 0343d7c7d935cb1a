"""The words the device and the fleet say to each other, spelled once: the topics under
`devices/<id>/`, the states of a remote command (AWS IoT Jobs' vocabulary), and the fleet's
own states of a rollout and of its executions.

Each is a `StrEnum`: a member equals its string, hashes like it and is written as it
(f-strings, `json.dumps`, SQL parameters), so the wire formats and the stores keep their
bytes, and a state read back as a plain string compares equal to its member.
"""

from __future__ import annotations

from enum import StrEnum, auto

TOPIC_ROOT = "devices"


class _Named(StrEnum):
    """A StrEnum whose `auto()` value is the member's name, as written (StrEnum's own
    `auto()` lower-cases it)."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list) -> str:
        return name


class Topic(StrEnum):
    """What follows `devices/<id>/` in a topic (`device_topic` builds the whole name)."""

    STATUS = "status"  # online (retained) / offline (the last will)
    TELEMETRY = "telemetry"
    ALERTS = "alerts"
    EVENTS = "events"
    LOGS = "logs"
    AUDIT = "audit"
    RETRAIN = "retrain"
    COMMANDS = "commands"  # signed commands, to the device
    COMMAND_RESULT = "commands/result"  # their states, from the device
    BUS = "bus"  # the bus bridge: bus/<event type>


def device_topic(device_id: str, topic: Topic | str) -> str:
    """`devices/<device_id>/<topic>`; `device_id` may be the `+` wildcard."""
    return f"{TOPIC_ROOT}/{device_id}/{topic}"


def split_device_topic(topic: str) -> tuple[str, str] | None:
    """(device id, the rest) of `devices/<id>/<rest>`; None for any other topic."""
    parts = topic.split("/", 2)
    if len(parts) != 3 or parts[0] != TOPIC_ROOT or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class JobState(_Named):
    """A remote command's state, as the device reports it on `commands/result` (AWS IoT
    Jobs' execution states). CANCELED is the fleet's: a rollout that ends before sending."""

    QUEUED = auto()
    IN_PROGRESS = auto()
    SUCCEEDED = auto()
    FAILED = auto()
    REJECTED = auto()
    TIMED_OUT = auto()
    CANCELED = auto()


# What a device reports, and which of those end a command.
REPORTED = tuple(s for s in JobState if s is not JobState.CANCELED)
TERMINAL = (JobState.SUCCEEDED, JobState.FAILED, JobState.REJECTED, JobState.TIMED_OUT)
ANSWERING = (JobState.QUEUED, JobState.IN_PROGRESS)  # answered, not finished


class CommandMark(_Named):
    """The fleet's marks on a command it sends, before the device's own state replaces
    them: RECORDED (written, not yet published), SENT (the broker acknowledged it)."""

    RECORDED = auto()
    SENT = auto()


class ExecutionState(_Named):
    """One device's part in a rollout: PENDING (its wave has not started, or the device is
    offline), SENT (the signed ota.apply is recorded and published), INSTALLED (the device
    said SUCCEEDED; waiting for its slot to commit and its health window to pass), then one
    final state, named as the job states."""

    PENDING = auto()
    SENT = auto()
    INSTALLED = auto()
    SUCCEEDED = auto()
    FAILED = auto()
    REJECTED = auto()
    TIMED_OUT = auto()
    CANCELED = auto()


EXEC_OPEN = (ExecutionState.PENDING, ExecutionState.SENT, ExecutionState.INSTALLED)
EXEC_FINAL = tuple(s for s in ExecutionState if s not in EXEC_OPEN)


class RolloutState(_Named):
    """A rollout's state: RUNNING and PAUSED go on; the others are final."""

    RUNNING = auto()
    PAUSED = auto()
    SUCCEEDED = auto()
    HALTED = auto()
    ABORTED = auto()
    TIMED_OUT = auto()


ROLLOUT_FINAL = tuple(
    s for s in RolloutState if s not in (RolloutState.RUNNING, RolloutState.PAUSED)
)


class DeviceStatus(StrEnum):
    """What a device's `status` topic says: `online` (retained, on connect) or `offline`
    (its last will); also the reason an execution waits (`offline`)."""

    ONLINE = "online"
    OFFLINE = "offline"
