"""Reading and verifying the audit trail (no writer state: safe on a copied log).

A record is one JSON line: `v`, `seq` (1, 2, ...), `time`, `who`, `what`, `result`,
`prev` (the previous record's `hash`; 64 zeros for the first) and `hash` (SHA-256 of the
canonical JSON of every other field). `verify_log` walks the chain and names the first
record that was edited, deleted, reordered or truncated; with the signed head
(`audit.head.json`) and the device's public key it also catches records cut off the end
before the last signature and an edited head.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edgetui.audit.device_key import verify as verify_signature
from edgetui.models.clock import parse_rfc3339
from edgetui.models.untrusted import no_duplicate_keys

GENESIS = "0" * 64
HEAD_SUFFIX = ".head.json"
MAX_RECORD = 256 * 1024  # a longer line is not a record this code wrote
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_FIELDS = {"v": int, "seq": int, "time": str, "who": dict, "what": dict, "result": dict}


class AuditFormatError(Exception):
    """A line that is not an audit record; the message names the line and why (one line)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def canonical(obj: dict[str, Any]) -> bytes:
    """The bytes that are hashed and signed: sorted keys, no spaces, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 (hex) of the record without its own `hash`."""
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def parse_record(raw: bytes, line: int) -> dict[str, Any]:
    """One line as a record; AuditFormatError (and nothing else) when it is not one."""
    if len(raw) > MAX_RECORD:
        raise AuditFormatError(line, f"longer than {MAX_RECORD} bytes")
    try:
        rec = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AuditFormatError(line, f"not JSON: {str(exc)[:80]}") from None
    if not isinstance(rec, dict):
        raise AuditFormatError(line, "not a JSON object")
    for key, tp in _FIELDS.items():
        value = rec.get(key)
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise AuditFormatError(line, f"{key}: missing or not {tp.__name__}")
    for key in ("prev", "hash"):
        if not isinstance(rec.get(key), str) or not _HEX64.match(rec[key]):
            raise AuditFormatError(line, f"{key}: missing or not 64 hex digits")
    if rec["seq"] < 1:
        raise AuditFormatError(line, "seq: below 1")
    return rec


def iter_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes without the newline, complete) for each line of the log."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            complete = raw.endswith(b"\n")
            yield n, raw.rstrip(b"\n"), complete


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a log, in file order; AuditFormatError at the first bad line."""
    for n, raw, complete in iter_lines(path):
        if not complete:
            raise AuditFormatError(n, "truncated (the last line is incomplete)")
        if raw.strip():
            yield parse_record(raw, n)


def record_time(rec: dict[str, Any]) -> float | None:
    """A record's `time` in epoch seconds (UTC when it has no zone); None when unreadable."""
    try:
        return parse_rfc3339(rec.get("time"), assume_utc=True).timestamp()
    except ValueError:
        return None


@dataclass
class Selection:
    """Records of a log chosen by time and count, and the lines that were not records."""

    records: list[dict[str, Any]] = field(default_factory=list)
    bad: list[AuditFormatError] = field(default_factory=list)


def select_records(path: Path, *, after: float | None = None, last: int = 0) -> Selection:
    """The records of `path` at or after `after` (epoch seconds), the `last` N of them (0:
    all), oldest first; a line that is not a record (or a cut last line) is kept in `bad`,
    never dropped silently. OSError when the file cannot be read."""
    out = Selection()
    for n, raw, complete in iter_lines(path):
        if not raw.strip():
            continue
        try:
            if not complete:
                raise AuditFormatError(n, "truncated (incomplete last line)")
            rec = parse_record(raw, n)
        except AuditFormatError as exc:
            out.bad.append(exc)
            continue
        if after is not None:
            t = record_time(rec)
            if t is None or t < after:
                continue
        out.records.append(rec)
    if last:
        out.records = out.records[-last:]
    return out


def head_path(log_path: Path) -> Path:
    return Path(log_path).with_name(Path(log_path).name + HEAD_SUFFIX)


def read_head(path: Path) -> dict[str, Any] | None:
    """The signed head, or None when there is none yet; AuditFormatError when unreadable."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    try:
        head = json.loads(raw, object_pairs_hook=no_duplicate_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AuditFormatError(0, f"signed head is not JSON: {str(exc)[:80]}") from None
    ok = (
        isinstance(head, dict)
        and isinstance(head.get("seq"), int)
        and isinstance(head.get("hash"), str)
        and isinstance(head.get("signature"), str)
        and isinstance(head.get("key_id"), str)
    )
    if not ok:
        raise AuditFormatError(0, "signed head lacks seq, hash, key_id or signature")
    return head


def head_payload(head: dict[str, Any]) -> bytes:
    """What the device key signs: the head without its signature."""
    return canonical({k: v for k, v in head.items() if k != "signature"})


@dataclass
class Problem:
    """The first thing wrong with a log."""

    kind: str  # edited | deleted | reordered | truncated | unreadable | bad_signature
    line: int
    seq: int | None
    message: str


@dataclass
class VerifyReport:
    """The outcome of `verify_log` (the JSON of `edgetui audit verify --json`)."""

    ok: bool
    path: str
    records: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    head: dict[str, Any] | None = None
    signature: str = "none"  # valid | invalid | unchecked (no public key) | none (unsigned)
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)


def _line_of_seq(rows: list[tuple[int, bytes, bool]], seq: int) -> int | None:
    """The line holding record `seq` among `rows`, if any (tells a move from a deletion)."""
    for n, raw, _ in rows:
        try:
            if parse_record(raw, n)["seq"] == seq:
                return n
        except AuditFormatError:
            continue
    return None


class _Broken(Exception):
    """The first problem found; `verify_log` turns it into the report's verdict."""

    def __init__(self, kind: str, line: int, seq: int | None, msg: str) -> None:
        super().__init__(msg)
        self.problem = Problem(kind, line, seq, msg)


def verify_log(path: Path, public: Ed25519PublicKey | None = None) -> VerifyReport:
    """Walk the chain of `path` and check it against its signed head (when there is one);
    stops at the first problem. Never raises for a bad log, only for an unreadable file
    (OSError)."""
    path = Path(path)
    report = VerifyReport(ok=True, path=str(path))
    try:
        seen = _walk_chain(list(iter_lines(path)) if path.exists() else [], report)
        _check_head(report, path, public, seen)
    except _Broken as broken:
        report.ok, report.problem = False, broken.problem
    return report


def _walk_chain(rows: list[tuple[int, bytes, bool]], report: VerifyReport) -> dict[int, str]:
    """Check every record against the one before; the hash of each seq seen. Counts
    `records` as it goes, and sets `last_seq` and `last_hash` when the whole chain holds."""
    seen: dict[int, str] = {}
    prev_hash, prev_seq = GENESIS, 0
    for i, (n, raw, complete) in enumerate(rows):
        if not complete:
            raise _Broken(
                "truncated", n, prev_seq + 1,
                f"line {n}: the last record is cut short (truncated after record {prev_seq})",
            )  # fmt: skip
        if not raw.strip():
            continue
        try:
            rec = parse_record(raw, n)
        except AuditFormatError as exc:
            raise _Broken("unreadable", n, None, f"{exc} (after record {prev_seq})") from None
        seq = rec["seq"]
        if record_hash(rec) != rec["hash"]:
            raise _Broken("edited", n, seq, f"record {seq} (line {n}) was edited")
        if seq != prev_seq + 1:
            _out_of_order(rows[i + 1 :], n, seq, prev_seq)
        if rec["prev"] != prev_hash:
            raise _Broken(
                "edited", n, seq,
                f"record {seq} (line {n}) does not chain to record {prev_seq}: "
                f"record {prev_seq} was edited or replaced",
            )  # fmt: skip
        prev_hash, prev_seq = rec["hash"], seq
        seen[seq] = rec["hash"]
        report.records += 1
    report.last_seq, report.last_hash = prev_seq, prev_hash  # only once the chain held
    return seen


def _out_of_order(rest: list[tuple[int, bytes, bool]], n: int, seq: int, prev_seq: int) -> None:
    """Record `seq` at line `n` does not follow `prev_seq`: reordered, or some deleted."""
    if seq <= prev_seq:
        raise _Broken(
            "reordered", n, seq,
            f"record {seq} (line {n}) comes after record {prev_seq}: reordered",
        )  # fmt: skip
    later = _line_of_seq(rest, prev_seq + 1)
    if later is not None:
        raise _Broken(
            "reordered", n, seq,
            f"record {seq} (line {n}) comes before record {prev_seq + 1} (line {later}): "
            "reordered",
        )  # fmt: skip
    missing = (
        f"record {prev_seq + 1}" if seq == prev_seq + 2 else f"records {prev_seq + 1}-{seq - 1}"
    )
    raise _Broken("deleted", n, seq, f"{missing} deleted before line {n}")


def _check_head(
    report: VerifyReport, path: Path, public: Ed25519PublicKey | None, seen: dict[int, str]
) -> None:
    """The signed head: its signature (when the public key is known), and that the record
    it names is still there, unchanged."""
    try:
        head = read_head(head_path(path))
    except AuditFormatError as exc:
        raise _Broken("bad_signature", 0, None, str(exc)) from None
    except OSError as exc:
        raise _Broken("unreadable", 0, None, f"signed head: {exc.strerror}") from None
    report.head = head
    if head is None:
        report.notes.append("no signed head yet")
        return
    if public is None:
        report.signature = "unchecked"
        report.notes.append("no device public key: the head's signature was not checked")
    else:
        try:
            sig = base64.b64decode(head["signature"], validate=True)
        except ValueError:
            sig = b""
        if not verify_signature(public, sig, head_payload(head)):
            report.signature = "invalid"
            raise _Broken(
                "bad_signature", 0, head.get("seq"),
                "the signed head's signature does not verify (head edited, or another key)",
            )  # fmt: skip
        report.signature = "valid"
    hseq, last = head["seq"], report.last_seq
    if hseq > last:
        raise _Broken(
            "truncated", 0, last + 1,
            f"the log ends at record {last} but record {hseq} was signed: truncated",
        )  # fmt: skip
    if hseq > 0 and seen.get(hseq) != head["hash"]:
        raise _Broken("edited", 0, hseq, f"record {hseq} differs from the one that was signed")
