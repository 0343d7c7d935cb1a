"""One vocabulary: broker URLs, durations, `--since`, RFC 3339 times, job states and topics
are each parsed or spelled in one place, and the source tree is checked for second copies."""

from __future__ import annotations

import ast
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from edgetui.models.broker import BrokerAddress, BrokerURLError, parse_broker
from edgetui.models.clock import format_rfc3339, parse_epoch, parse_rfc3339, rfc3339
from edgetui.models.vocabulary import (
    REPORTED,
    TERMINAL,
    ExecutionState,
    JobState,
    RolloutState,
    Topic,
    device_topic,
    split_device_topic,
)
from edgetui.units import parse_duration, parse_since

SRC = Path(__file__).resolve().parents[2] / "edgetui"
VOCABULARY = SRC / "models" / "vocabulary.py"
# Owned by another engineer this round: its literals move to the enums when the branches
# meet. Listed here so that the exemption is visible and has to be removed on purpose.
NOT_YET = {SRC / "bench"}
# A string equal to a state's name that is not a state: `edgetui validate`'s verdict.
NOT_A_STATE = {(SRC / "cli" / "validate.py", "FAILED")}
STATE_NAMES = {str(s) for enum in (JobState, ExecutionState, RolloutState) for s in enum}


def _sources() -> list[Path]:
    return [p for p in sorted(SRC.rglob("*.py")) if not any(p.is_relative_to(d) for d in NOT_YET)]


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _strings_of(text: str) -> list[tuple[int, str]]:
    """(line, value) of every string constant but docstrings (f-string parts too)."""
    tree = ast.parse(text)
    docs = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def _strings(path: Path) -> list[tuple[int, str]]:
    return _strings_of(path.read_text(encoding="utf-8"))


# -- each appears once --------------------------------------------------------------------
def test_the_scan_sees_what_it_looks_for() -> None:
    # Guards the guards: a scan that found no file, or could not see a literal, passes always.
    assert len(_sources()) > 100
    assert (1, "SUCCEEDED") in _strings_of('s = "SUCCEEDED"\n')
    assert (1, "SUCCEEDED") in _strings_of("n = c['SUCCEEDED']\nf'{n}'\n")
    assert (1, "devices/") in _strings_of('t = f"devices/{d}/commands"\n')
    assert _strings_of('"""A docstring: SUCCEEDED."""\n') == []


def test_fromisoformat_only_in_the_clock() -> None:
    found = [
        f"{p.relative_to(SRC)}"
        for p in _sources()
        if "fromisoformat(" in p.read_text(encoding="utf-8") and p != SRC / "models" / "clock.py"
    ]
    assert found == []


@pytest.mark.parametrize("name", ["parse_duration", "parse_since", "parse_url", "parse_broker"])
def test_one_parser_of_each(name: str) -> None:
    defs = [
        str(p.relative_to(SRC))
        for p in _sources()
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
    ]
    assert len(defs) <= 1, defs
    assert name == "parse_url" or len(defs) == 1


def test_state_literals_only_in_the_vocabulary() -> None:
    found = [
        f"{p.relative_to(SRC)}:{line}: {value!r}"
        for p in _sources()
        if p != VOCABULARY
        for line, value in _strings(p)
        if value in STATE_NAMES and (p, value) not in NOT_A_STATE
    ]
    assert found == []


def test_device_topics_are_built_in_the_vocabulary() -> None:
    found = [
        f"{p.relative_to(SRC)}:{line}: {value!r}"
        for p in _sources()
        if p != VOCABULARY
        for line, value in _strings(p)
        if value.startswith("devices/") or "/devices/" in value
    ]
    assert found == []


# -- broker addresses -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("mqtt://broker.local", BrokerAddress("broker.local", 1883, False)),
        ("mqtts://broker.local", BrokerAddress("broker.local", 8883, True)),
        ("mqtt://127.0.0.1:1884", BrokerAddress("127.0.0.1", 1884, False)),
        ("mqtt://127.0.0.1:1884/", BrokerAddress("127.0.0.1", 1884, False)),
        ("MQTTS://Broker.Example:8884", BrokerAddress("broker.example", 8884, True)),
        ("  mqtt://h:1  ", BrokerAddress("h", 1, False)),
        ("mqtt://[::1]:1883", BrokerAddress("::1", 1883, False)),
        ("mqtts://[2001:db8::5]", BrokerAddress("2001:db8::5", 8883, True)),
    ],
)
def test_broker_urls(url: str, want: BrokerAddress) -> None:
    assert parse_broker(url) == want


def test_an_ipv6_address_is_written_back_in_brackets() -> None:
    a = parse_broker("mqtt://[::1]:1883")
    assert (a.where, str(a)) == ("[::1]:1883", "mqtt://[::1]:1883")
    assert str(parse_broker("mqtts://h")) == "mqtts://h:8883"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "empty: expected mqtt://host[:port] or mqtts://host[:port]"),
        ("http://x", "expected mqtt://host[:port] or mqtts://host[:port]"),
        ("broker:1883", "expected mqtt://host[:port] or mqtts://host[:port]"),
        ("mqtt:broker", "expected mqtt://host[:port] or mqtts://host[:port]"),
        ("mqtt://", "no host"),
        ("mqtt://:1883", "no host"),
        ("mqtt://:x", "port is not a number"),
        ("mqtt://h:x", "port is not a number"),
        ("mqtt://h:", "port is not a number"),
        ("mqtt://h:-1", "port is not a number"),
        ("mqtt://h:0", "port 0 is out of range (1-65535)"),
        ("mqtt://h:65536", "port 65536 is out of range (1-65535)"),
        ("mqtt://h:1883/topic", "nothing may follow host[:port]"),
        ("mqtt://h:1883?x=1", "nothing may follow host[:port]"),
        ("mqtt://u:pw@h:1883", "no user name or password in the URL: configure them apart"),
        ("mqtt://::1:1883", "an IPv6 host goes in brackets: mqtt://[::1]:1883"),
        ("mqtt://[::1:1883", "bad IPv6 host: write it in brackets, [::1]"),
        ("mqtt://[nothost]:1883", "bad IPv6 host: write it in brackets, [::1]"),
        ("mqtt://[::1]:x", "port is not a number"),
        ("mqtt://ho st:1883", "a space in the host"),
    ],
)
def test_bad_broker_urls_say_what_is_wrong(url: str, why: str) -> None:
    with pytest.raises(BrokerURLError) as err:
        parse_broker(url)
    assert str(err.value) == f"bad broker URL {url!r}: {why}"


def test_the_brief_s_example_error() -> None:
    with pytest.raises(ValueError, match=r"^bad broker URL 'mqtt://:x': port is not a number$"):
        parse_broker("mqtt://:x")


# -- durations ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("2w", 1209600),
        ("1h30m", 5400),
        ("1d2h3m4s", 93784),
        ("1.5h", 5400),
        (" 1 H 30 M ", 5400),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)
    assert parse_duration(text, bare_seconds=True) == pytest.approx(seconds)


def test_bare_numbers_are_seconds_only_where_asked() -> None:
    assert parse_duration("90", bare_seconds=True) == 90
    assert parse_duration("2.5", bare_seconds=True) == 2.5
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("90")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "not a duration: '' (e.g. 500ms, 30s, 15m, 1h30m, 2d, 2w)"),
        ("x", "not a duration: 'x' (e.g."),
        ("1h x", "not a duration: '1h x' (e.g."),
        ("1y", "not a duration: '1y' (e.g."),
        ("h1", "not a duration: 'h1' (e.g."),
        ("-5m", "not a duration: '-5m' (e.g."),
        ("1e3s", "not a duration: '1e3s' (e.g."),
        ("0m", "not a duration above 0: '0m'"),
        ("0", "not a duration above 0: '0'"),
        ("9" * 400 + "s", "is too long"),
    ],
)
def test_bad_durations(text: str, why: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text, bare_seconds=True)
    assert why in str(err.value) and "\n" not in str(err.value)


def test_every_old_grammar_s_inputs_still_work() -> None:
    # cli/alerts (bare, w, sums), cli/command (`30 s`), rollouts spec (ms, bare), dashboard.
    for text, want in [("90", 90), ("1h30m", 5400), ("2w", 1209600), ("30 s", 30)]:
        assert parse_duration(text, bare_seconds=True) == want
    for text, want in [("500ms", 0.5), ("10", 10), ("2d", 172800)]:
        assert parse_duration(text, bare_seconds=True) == want
    for text, want in [("2h30m", 9000), ("1D", 86400)]:
        assert parse_duration(text) == want


async def test_2w_on_the_dashboard_s_silence_screen() -> None:
    """The dashboard's silence form reads `2w` as the CLI does (it used to refuse it)."""
    from edgetui.tui.screens import alert_action
    from tests.support.ui import make_app, until
    from tests.tui.test_alerts_panel import settle

    assert alert_action.parse_duration is parse_duration  # the same function, not a copy
    app, api = make_app()
    api.results["alerts.silence"] = {"name": "agent_crash_loop"}
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, alert_action.AlertActionScreen))
        await pilot.press("enter", "backspace", "backspace", "2", "w", "enter", "enter")
        want = {"name": "agent_crash_loop", "for_s": 1209600.0, "comment": ""}
        await until(pilot, lambda: ("alerts.silence", want) in api.calls)


# -- --since --------------------------------------------------------------------------------
NOW = datetime(2026, 5, 6, 14, 30, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2h", NOW - 7200),
        ("7d", NOW - 7 * 86400),
        ("1h30m", NOW - 5400),
        ("2026-05-06T12:00:00Z", NOW - 9000),
        ("2026-05-06T14:00:00+02:00", NOW - 9000),
        ("2026-05-06T12:00:00", NOW - 9000),
        ("2026-05-06", NOW - 14.5 * 3600),
    ],
)
def test_since(text: str, want: float) -> None:
    assert parse_since(text, NOW) == pytest.approx(want)


@pytest.mark.parametrize("text", ["soon", "yesterday-ish", "1x", "", "2026-13-01", "12:00"])
def test_bad_since_names_the_option_in_one_line(text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_since(text, NOW, option="--since")
    assert str(err.value).startswith("--since: ") and "\n" not in str(err.value)


# -- RFC 3339 --------------------------------------------------------------------------------
def test_rfc3339_round_trip() -> None:
    ts = 1778077800.123
    assert parse_rfc3339(rfc3339(ts)).timestamp() == pytest.approx(ts)
    dt = parse_rfc3339("2026-05-06T16:30:00+02:00")
    assert format_rfc3339(dt) == "2026-05-06T14:30:00Z"
    assert parse_rfc3339("2026-05-06T14:30:00z") == parse_rfc3339("2026-05-06T14:30:00Z")
    assert parse_rfc3339("2026-05-06T14:30:00Z").tzinfo is not None
    assert parse_rfc3339("2026-05-06T14:30:00", assume_utc=True).utcoffset() == timedelta(0)
    east = parse_rfc3339("2026-05-06T14:30:00+05:30")
    assert east.tzinfo == timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2026-05-06T14:30:00", "a time without a zone: '2026-05-06T14:30:00' (add Z or an"),
        ("yesterday", "not an RFC 3339 time: 'yesterday' (e.g. 2026-05-06T14:30:00Z)"),
        ("", "not an RFC 3339 time: ''"),
        ("2026-05-06T14:30:00Z\nx", "not an RFC 3339 time: '2026-05-06T14:30:00Z\\nx'"),
        ("2" * 41, "(too long)"),
        (None, "not an RFC 3339 time: NoneType"),
        (12, "not an RFC 3339 time: int"),
    ],
)
def test_bad_times(value: object, why: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_rfc3339(value)
    assert why in str(err.value) and "\n" not in str(err.value)


def test_epoch_from_what_a_device_sent() -> None:
    assert parse_epoch("2026-05-06T14:30:00Z") == NOW
    assert parse_epoch("2026-05-06T14:30:00") == NOW  # no zone: UTC
    assert parse_epoch(12) == 12.0 and parse_epoch(1.5) == 1.5
    assert [parse_epoch(v) for v in (None, True, "", "x", [])] == [None] * 5
    assert math.isfinite(parse_epoch("0001-01-01T00:00:00Z") or 0.0)


# -- states and topics ----------------------------------------------------------------------
def test_states_compare_and_serialise_as_their_strings() -> None:
    assert JobState.IN_PROGRESS == "IN_PROGRESS" and f"{JobState.TIMED_OUT}" == "TIMED_OUT"
    assert json.dumps({"state": JobState.SUCCEEDED}) == '{"state": "SUCCEEDED"}'
    assert "REJECTED" in TERMINAL and "QUEUED" not in TERMINAL
    assert [str(s) for s in REPORTED] == [
        "QUEUED",
        "IN_PROGRESS",
        "SUCCEEDED",
        "FAILED",
        "REJECTED",
        "TIMED_OUT",
    ]
    assert ExecutionState.SUCCEEDED == JobState.SUCCEEDED == RolloutState.SUCCEEDED
    assert {RolloutState.PAUSED: 1}["PAUSED"] == 1  # a state read back as text finds its key


def test_topics() -> None:
    assert device_topic("cam-1", Topic.COMMAND_RESULT) == "devices/cam-1/commands/result"
    assert device_topic("+", Topic.STATUS) == "devices/+/status"
    assert split_device_topic("devices/cam-1/commands/result") == ("cam-1", "commands/result")
    for bad in ("devices/cam-1", "devices//status", "other/cam-1/status", "devices/cam-1/"):
        assert split_device_topic(bad) is None
