"""Runbooks: for one alert rule or validate check, its probable causes and the next step.

A runbook is a TOML file (`edgetui/data/runbooks/<name>.toml` ships one per built-in rule and
validate check; `<state dir>/runbooks/<name>.toml` adds or overrides one):

    alert = "disk_low"              # or: check = "golden" (a failing `validate` check)
    summary = "The data partition is nearly full."

    [[cause]]                       # in the order to try them; the doctor ranks them
    title = "The buffer holds a backlog while the uplink is down"
    when = ["buffer.queued_bytes > 50000000"]   # all must hold (snapshot paths)
    evidence = ["buffer.state_text", "buffer.queued_bytes"]
    next = "edgetui buffer stats"   # a command to run ...
    key = "Buffer panel: f (flush)" # ... and/or a key to press

A condition is `PATH OP VALUE` (OP one of < <= > >= == !=; VALUE a number, true/false,
null or a word) or a bare `PATH` (true when the value is truthy). A path is dotted into the
status JSON; `[*]` walks a list (`agents[*].last_error`). A file that does not parse, or
that names an unknown rule or check, is one error line naming the file (and line); the
others still load.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

OPS = ("<=", ">=", "==", "!=", "<", ">")
_COND = re.compile(r"^\s*([A-Za-z_][\w.\[\]*]*)\s*(?:(<=|>=|==|!=|<|>)\s*(\S.*?))?\s*$")
_KEYS = {"alert", "check", "summary", "cause"}
_CAUSE_KEYS = {"title", "when", "evidence", "next", "key"}


class RunbookError(Exception):
    """A runbook file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Condition:
    """`path op value`; op None: the value at path is truthy."""

    path: str
    op: str | None = None
    value: object = None

    @classmethod
    def parse(cls, text: str) -> Condition:
        m = _COND.match(text)
        if m is None:
            raise ValueError(f"condition {text!r}: expected PATH [OP VALUE], OP one of {OPS}")
        path, op, raw = m.groups()
        return cls(path, op, _literal(raw) if op else None)


def _literal(raw: str) -> object:
    words = {"true": True, "false": False, "null": None}
    if raw in words:
        return words[raw]
    try:
        return float(raw)
    except ValueError:
        return raw.strip("\"'")


@dataclass
class Cause:
    """One probable cause: when it holds, what to show, what to do."""

    title: str
    when: list[Condition] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    next: str = ""
    key: str = ""


@dataclass
class Runbook:
    """The causes and next steps of one alert rule (`kind` "alert") or check ("check")."""

    name: str
    kind: str
    summary: str
    causes: list[Cause]
    path: str


def parse_runbook(path: Path, known: dict[str, set[str]]) -> Runbook:
    """One file; RunbookError (one line: file, line when TOML says it, what) otherwise.
    `known` holds the names a runbook may be for: {"alert": rules, "check": checks}."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RunbookError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"{path}:{line.group(1)}" if line else str(path)
        raise RunbookError(f"{where}: not TOML: {str(exc).splitlines()[0]}") from None
    unknown = set(doc) - _KEYS
    if unknown:
        raise RunbookError(f"{path}: unknown key {sorted(unknown)[0]!r} (known: {sorted(_KEYS)})")
    kinds = [k for k in ("alert", "check") if k in doc]
    if len(kinds) != 1 or not isinstance(doc[kinds[0]], str):
        raise RunbookError(f'{path}: expected one of alert = "RULE" or check = "CHECK"')
    kind, name = kinds[0], doc[kinds[0]]
    if name not in known.get(kind, set()):
        names = ", ".join(sorted(known.get(kind, set())))
        raise RunbookError(f"{path}: unknown {kind} {name!r} (known: {names})")
    causes = doc.get("cause", [])
    if not isinstance(causes, list) or not causes:
        raise RunbookError(f"{path}: expected at least one [[cause]]")
    return Runbook(name, kind, str(doc.get("summary", "")), [_cause(path, c) for c in causes],
                   str(path))  # fmt: skip


def _cause(path: Path, c: object) -> Cause:
    if not isinstance(c, dict) or not isinstance(c.get("title"), str):
        raise RunbookError(f"{path}: each [[cause]] needs a title")
    unknown = set(c) - _CAUSE_KEYS
    if unknown:
        raise RunbookError(f"{path}: cause {c['title']!r}: unknown key {sorted(unknown)[0]!r}")
    try:
        when = [Condition.parse(str(w)) for w in c.get("when", [])]
    except ValueError as exc:
        raise RunbookError(f"{path}: cause {c['title']!r}: {exc}") from None
    evidence = [str(e) for e in c.get("evidence", [])]
    return Cause(c["title"], when, evidence, str(c.get("next", "")), str(c.get("key", "")))


def shipped_dir() -> Path:
    """The runbooks that ship with edgetui (package data)."""
    return Path(__file__).resolve().parent.parent / "data" / "runbooks"


def load_runbooks(
    dirs: list[Path], known: dict[str, set[str]]
) -> tuple[dict[tuple[str, str], Runbook], list[str]]:
    """Every `*.toml` of `dirs`, a later directory overriding an earlier one for the same
    rule or check; (runbooks by (kind, name), one error line per file that failed)."""
    books: dict[tuple[str, str], Runbook] = {}
    errors: list[str] = []
    for d in dirs:
        for path in sorted(d.glob("*.toml")) if d.is_dir() else []:
            try:
                book = parse_runbook(path, known)
            except RunbookError as exc:
                errors.append(str(exc))
                continue
            books[(book.kind, book.name)] = book
    return books, errors
