"""The signed command document: signing, and every refusal with its reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgetui.keys import key_id
from edgetui.remote import CommandRefused, sign_command, verify_command
from edgetui.remote.commands import Verifier

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def keys() -> tuple[Ed25519PrivateKey, Ed25519PrivateKey]:
    return Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()


def verifier(trusted: list[Ed25519PrivateKey], revoked: tuple[str, ...] = ()) -> Verifier:
    return Verifier({key_id(k): k.public_key() for k in trusted}, set(revoked), "cam-042", "camera")


def doc(key: Ed25519PrivateKey, command: str = "ota.check", **kw) -> dict:
    kw.setdefault("targets", ["cam-042"])
    kw.setdefault("now", NOW)
    return sign_command(key, command, **kw)


def refused(raw: dict | bytes, v: Verifier, now: datetime = NOW) -> CommandRefused:
    data = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    with pytest.raises(CommandRefused) as err:
        verify_command(data, v, now=now)
    assert "\n" not in str(err.value)
    return err.value


def test_a_signed_command_verifies_for_its_targets(keys) -> None:
    k, _ = keys
    v = verifier([k])
    for targets in (["cam-042"], ["type:camera"], ["all"], ["other", "type:camera"]):
        d = doc(k, "ota.apply", targets=targets, params={"manifest_url": "https://x/m.json"})
        cmd = verify_command(json.dumps(d), v, now=NOW + timedelta(minutes=1))
        assert cmd.runtime_call() == ("ota.apply", {"manifest": "https://x/m.json"})
    assert set(d) == {
        "id",
        "command",
        "params",
        "issued_at",
        "expires",
        "targets",
        "key_id",
        "signature",
    }


def test_every_refusal_names_its_reason(keys) -> None:
    k, other = keys
    v = verifier([k])
    tampered = doc(k, "buffer.flush")
    tampered["params"] = {"timeout": 5}
    assert refused(tampered, v).code == "bad_signature"
    assert refused(doc(other), v).code == "unknown_key"
    assert refused(doc(k), verifier([k], revoked=(key_id(k),))).code == "revoked_key"
    late = refused(doc(k, expires_in_s=60), v, now=NOW + timedelta(minutes=2))
    assert late.code == "expired" and "expired at 2026-11-27T12:01:00Z" in str(late)
    assert refused(doc(k), v, now=NOW - timedelta(hours=1)).code == "not_yet_valid"
    away = refused(doc(k, targets=["cam-043", "type:gateway"]), v)
    assert away.code == "not_for_this_device" and "cam-042" in str(away)
    unknown = refused(doc(k, "rm -rf /"), v)
    assert unknown.code == "unknown_command" and unknown.command_id is not None
    assert refused(doc(k, "agents.restart"), v).code == "bad_params"  # needs a name
    assert refused(doc(k, "agents.restart", params={"name": "../x"}), v).code == "bad_params"
    assert refused(doc(k, "ota.apply", params={"manifest_url": "ftp://x"}), v).code == "bad_params"
    assert refused(doc(k, "buffer.flush", params={"timeout": 5, "x": 1}), v).code == "bad_params"
    too_long = refused(doc(k, expires_in_s=3 * 86400), v)
    assert too_long.code == "bad_params" and "max_validity_s" in str(too_long)


def test_malformed_documents(keys) -> None:
    k, _ = keys
    v = verifier([k])
    assert refused(json.dumps({"command": "flush"}).encode(), v).code == "malformed"  # unsigned
    assert refused(b"[" * 100_000, v).code == "malformed"
    assert refused(b"\xff\xfe", v).code == "malformed"
    d = doc(k)
    text = json.dumps(d)
    # A duplicated key: another reader could take the other value.
    dup = text[:-1] + ', "command": "ota.rollback"}'
    err = refused(dup.encode(), v)
    assert err.code == "malformed" and "duplicate key 'command'" in str(err)
    extra = dict(d, note="x")
    assert "unknown field" in str(refused(extra, v))
    long_id = dict(d, id="x" * 10_000)
    assert len(str(refused(long_id, v))) < 200  # input echoed only as a short prefix


def test_trusted_and_revoked_keys_from_files(tmp_path: Path, keys) -> None:
    from edgetui.keys import generate_keypair

    _, pub = generate_keypair(tmp_path / "ops")
    _, pub2 = generate_keypair(tmp_path / "old")
    v = Verifier.from_files([str(pub), str(pub2)], [str(pub2)], "cam-042", "camera")
    assert len(v.trusted) == 2 and len(v.revoked) == 1
    with pytest.raises(ValueError, match="cannot read"):
        Verifier.from_files([str(tmp_path / "none.pub")], [], "d", "t")


def test_remote_config_is_validated() -> None:
    from edgetui.config import ConfigError, parse_config

    cfg = parse_config({"remote": {"trusted_keys": ["/k.pub"]}, "store": {"encrypt": False}})
    assert cfg.remote.trusted_keys == ["/k.pub"] and cfg.store.encrypt is False
    with pytest.raises(ConfigError, match=r"\[remote\] max_validity_s: expected a number above 0"):
        parse_config({"remote": {"max_validity_s": 0}}, "c.toml")
    with pytest.raises(ConfigError, match=r"\[store\] encrypt: expected true or false"):
        parse_config({"store": {"encrypt": "yes"}}, "c.toml")
