"""The audit trail: chained records on disk, the signed head, and `edgetui audit verify`
finding the first edited, deleted, reordered or truncated record."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

from edgetui.audit import load_public, verify_log
from edgetui.audit.log import AuditLog, redact
from edgetui.audit.reader import record_hash
from tests.security.helpers import WHO, edit_record, lines, make_log, write_lines
from tests.support.cli import run_cli


def test_a_fresh_chain_verifies_with_a_valid_signature(tmp_path: Path) -> None:
    log, key = make_log(tmp_path, 5)
    report = verify_log(log.path, key.public)
    assert report.ok and report.records == 5 and report.last_seq == 5
    assert report.signature == "valid" and report.head["seq"] == 5
    recs = [json.loads(x) for x in lines(log.path)]
    assert [r["seq"] for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0]["prev"] == "0" * 64
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(recs))
    assert (log.path.stat().st_mode & 0o777) == 0o640
    assert ((tmp_path / "keys" / "device.key").stat().st_mode & 0o777) == 0o600


def test_an_edited_record_is_named(tmp_path: Path) -> None:
    log, key = make_log(tmp_path, 5)
    rows = lines(log.path)
    rows[2] = rows[2].replace(b'"timeout":2', b'"timeout":9')
    write_lines(log.path, rows)
    report = verify_log(log.path, key.public)
    assert not report.ok and report.problem.kind == "edited" and report.problem.seq == 3
    assert "record 3 (line 3) was edited" in report.problem.message


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(tmp_path: Path) -> None:
    log, key = make_log(tmp_path, 5)
    rows = lines(log.path)
    rec = json.loads(rows[1])
    rec["result"] = {"ok": False}
    rec["hash"] = record_hash(rec)
    rows[1] = edit_record(rows[1], result=rec["result"], hash=rec["hash"])
    write_lines(log.path, rows)
    report = verify_log(log.path, key.public)
    assert report.problem.kind == "edited" and report.problem.line == 3
    assert "record 2 was edited or replaced" in report.problem.message


def test_a_deleted_record_is_named(tmp_path: Path) -> None:
    log, key = make_log(tmp_path, 5)
    rows = lines(log.path)
    del rows[1]
    write_lines(log.path, rows)
    report = verify_log(log.path, key.public)
    assert report.problem.kind == "deleted" and "record 2 deleted" in report.problem.message


def test_reordered_records_are_named(tmp_path: Path) -> None:
    log, key = make_log(tmp_path, 5)
    rows = lines(log.path)
    rows[1], rows[2] = rows[2], rows[1]
    write_lines(log.path, rows)
    report = verify_log(log.path, key.public)
    assert report.problem.kind == "reordered" and report.problem.seq == 3
    assert "comes before record 2 (line 3)" in report.problem.message
    log2, key2 = make_log(tmp_path / "other", 5)
    rows2 = lines(log2.path)
    rows2.append(rows2[2])  # record 3 again, after 5
    write_lines(log2.path, rows2)
    report2 = verify_log(log2.path, key2.public)
    assert report2.problem.kind == "reordered" and report2.problem.seq == 3


def test_truncation_after_the_signed_head_and_a_torn_line(tmp_path: Path) -> None:
    log, key = make_log(tmp_path, 5)
    rows = lines(log.path)
    write_lines(log.path, rows[:3])
    report = verify_log(log.path, key.public)
    assert report.problem.kind == "truncated"
    assert "ends at record 3 but record 5 was signed" in report.problem.message
    write_lines(log.path, [*rows[:4], rows[4][:20]])
    report = verify_log(log.path, key.public)
    assert report.problem.kind == "truncated" and report.problem.line == 5


def test_an_edited_head_or_another_key_fails_the_signature(tmp_path: Path) -> None:
    log, key = make_log(tmp_path, 3)
    head = json.loads(log.head_path.read_text())
    head["seq"] = 2
    log.head_path.write_text(json.dumps(head))
    report = verify_log(log.path, key.public)
    assert report.problem.kind == "bad_signature"
    _, other_key = make_log(tmp_path / "o", 3)
    assert verify_log(log.path, other_key.public).problem.kind == "bad_signature"


def test_a_torn_tail_is_kept_aside_and_the_chain_goes_on(tmp_path: Path) -> None:
    log, key = make_log(tmp_path, 3, sign=False)
    log.close()
    with open(log.path, "ab") as f:
        f.write(b'{"v":1,"seq":4,"ti')  # a crash in the middle of the fourth write
    log2 = AuditLog(log.path, key=key)
    log2.open()
    torn = list(log.path.parent.glob("audit.log.torn-*"))
    assert len(torn) == 1 and torn[0].read_bytes() == b'{"v":1,"seq":4,"ti'
    rec = log2.append(WHO, {"method": "ota.commit", "params": {}}, {"ok": True})
    assert rec["seq"] == 4
    assert verify_log(log.path, key.public).ok


def test_two_writers_on_one_log_keep_one_chain(tmp_path: Path) -> None:
    log_a, key = make_log(tmp_path, 0, sign=False)
    log_b = AuditLog(log_a.path, key=key)
    log_b.open()

    def write(log: AuditLog, tag: str) -> None:
        for i in range(50):
            log.append(WHO, {"method": f"{tag}.{i}", "params": {}}, {"ok": True})

    threads = [
        threading.Thread(target=write, args=(lg, t)) for lg, t in ((log_a, "a"), (log_b, "b"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = verify_log(log_a.path, key.public)
    assert report.ok and report.records == 100


def test_secrets_never_reach_a_record() -> None:
    params = {
        "pin": "1234",
        "password_file": "/x",
        "new_pin": "9",
        "key": "k",
        "key_id": "ab",
        "note": "x" * 500,
        "nested": {"token": "t", "ok": 1},
    }
    out = redact(params)
    assert out["pin"] == out["password_file"] == out["new_pin"] == out["key"] == "***"
    assert out["nested"] == {"token": "***", "ok": 1}
    assert out["key_id"] == "ab"
    assert len(out["note"]) < 260


def _cli_device(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    make_log(state, 4)  # the default places: <state>/audit/audit.log, <state>/keys/device.pub
    return state


def test_cli_audit_lists_and_filters(tmp_path: Path) -> None:
    state = _cli_device(tmp_path)
    proc = run_cli("--state-dir", str(state), "audit", "--json")
    assert proc.returncode == 0, proc.stderr
    recs = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [r["seq"] for r in recs] == [1, 2, 3, 4]
    assert recs[0]["who"]["user"] == "root" and recs[0]["what"]["method"] == "buffer.flush"
    proc = run_cli("--state-dir", str(state), "audit", "-n", "2")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 2
    assert "buffer.flush" in proc.stdout and "-> ok" in proc.stdout
    future = run_cli("--state-dir", str(state), "audit", "--json", "--since", "2999-01-01")
    assert future.returncode == 0 and future.stdout == ""
    recent = run_cli("--state-dir", str(state), "audit", "--json", "--since", "1h")
    assert len(recent.stdout.splitlines()) == 4
    bad = run_cli("--state-dir", str(state), "audit", "--since", "yesterday-ish")
    assert bad.returncode == 2 and "--since" in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_cli_audit_verify_exit_codes(tmp_path: Path) -> None:
    state = _cli_device(tmp_path)
    ok = run_cli("--state-dir", str(state), "audit", "verify")
    assert ok.returncode == 0 and "audit trail OK: 4 records" in ok.stdout
    assert "signature valid" in ok.stdout
    path = state / "audit" / "audit.log"
    rows = lines(path)
    rows[1] = rows[1].replace(b'"timeout":1', b'"timeout":7')
    write_lines(path, rows)
    bad = run_cli("--state-dir", str(state), "audit", "verify", "--json")
    assert bad.returncode == 1
    out = json.loads(bad.stdout)
    assert out["ok"] is False and out["problem"]["kind"] == "edited" and out["problem"]["seq"] == 2
    # A copied log checked elsewhere with the device's public key
    key = load_public(state / "keys" / "device.pub")
    assert verify_log(path, key).problem.seq == 2
    copied = run_cli(
        "audit", "verify", "--file", str(path), "--key", str(state / "keys" / "device.pub")
    )
    assert copied.returncode == 1 and "BROKEN (edited)" in copied.stdout


def test_cli_audit_without_a_log_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run_cli("--state-dir", str(tmp_path / "none"), "audit")
    assert proc.returncode == 1 and "no audit trail" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
