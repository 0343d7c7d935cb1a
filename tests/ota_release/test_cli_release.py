"""The real `edgetui keys|bundle` commands in a subprocess."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.support.cli import run_cli, run_json

from .conftest import make_source


def test_keys_build_verify_inspect(tmp_path: Path) -> None:
    out = run_json("keys", "generate", "--out", str(tmp_path / "k" / "rel"), "--json")
    key, pub = Path(out["private_key"]), Path(out["public_key"])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and pub.exists()
    src = make_source(tmp_path / "src")
    built = run_json(
        "bundle",
        "build",
        "--source",
        str(src),
        "--version",
        "1.4.0",
        "--key",
        str(key),
        "--out",
        str(tmp_path / "rel"),
        "--rollback-version",
        "1.3.0",
        "--target",
        "gateway",
        "dev-9",
        "--expires-days",
        "7",
        "--changes",
        "new model",
        "--url-base",
        "http://ota.local/u",
        "--json",
    )
    m = built["manifest"]
    assert m["version"] == "1.4.0" and m["key_id"] == out["key_id"]
    assert m["target_devices"] == ["gateway", "dev-9"]
    assert m["update_package_url"] == "http://ota.local/u/edgetui-1.4.0.tar.gz"
    manifest = tmp_path / "rel" / "manifest.json"
    ok = run_json(
        "bundle", "verify", "--manifest", str(manifest), "--trusted-key", str(pub), "--json"
    )
    assert ok["ok"] is True and ok["manifest"]["checksum"] == m["checksum"]
    text = run_cli("bundle", "verify", "--manifest", str(manifest), "--trusted-key", str(pub))
    assert text.returncode == 0 and text.stdout.startswith("OK: version 1.4.0")
    info = run_json("bundle", "inspect", str(manifest), "--json")
    assert info["kind"] == "manifest" and info["manifest"]["changes"] == "new model"
    pkg = run_json("bundle", "inspect", str(tmp_path / "rel" / "edgetui-1.4.0.tar.gz"), "--json")
    assert pkg["slot"]["version"] == "1.4.0" and pkg["slot"]["model"] == "model/tiny.gguf"
    human = run_cli("bundle", "inspect", str(manifest))
    assert human.returncode == 0 and "gateway, dev-9" in human.stdout


def test_verify_rejections_exit_1_with_one_line(tmp_path: Path) -> None:
    run_json("keys", "generate", "--out", str(tmp_path / "a"), "--json")
    run_json("keys", "generate", "--out", str(tmp_path / "b"), "--json")
    src = make_source(tmp_path / "src")
    run_json(
        "bundle",
        "build",
        "--source",
        str(src),
        "--version",
        "2.0.0",
        "--key",
        str(tmp_path / "a.key"),
        "--out",
        str(tmp_path / "rel"),
        "--json",
    )
    manifest = tmp_path / "rel" / "manifest.json"

    unknown = run_cli(
        "bundle", "verify", "--manifest", str(manifest), "--trusted-key", str(tmp_path / "b.pub")
    )
    assert unknown.returncode == 1
    assert unknown.stderr.strip().count("\n") == 0 and "unknown key" in unknown.stderr

    as_json = run_cli(
        "bundle",
        "verify",
        "--manifest",
        str(manifest),
        "--trusted-key",
        str(tmp_path / "b.pub"),
        "--json",
    )
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {
        "ok": False,
        "code": "unknown_key",
        "error": as_json.stderr.split("bundle rejected: ", 1)[1].strip(),
    }

    revoked = run_cli(
        "bundle",
        "verify",
        "--manifest",
        str(manifest),
        "--trusted-key",
        str(tmp_path / "a.pub"),
        "--revoked-key",
        str(tmp_path / "a.pub"),
    )
    assert revoked.returncode == 1 and "revoked" in revoked.stderr

    pkg = tmp_path / "rel" / "edgetui-2.0.0.tar.gz"
    data = bytearray(pkg.read_bytes())
    data[100] ^= 0xFF
    pkg.write_bytes(bytes(data))
    tampered = run_cli(
        "bundle", "verify", "--manifest", str(manifest), "--trusted-key", str(tmp_path / "a.pub")
    )
    assert tampered.returncode == 1 and "does not match" in tampered.stderr

    manifest.write_text(manifest.read_text().replace('"2.0.0"', '"3.0.0"'))
    forged = run_cli(
        "bundle", "verify", "--manifest", str(manifest), "--trusted-key", str(tmp_path / "a.pub")
    )
    assert forged.returncode == 1 and "does not verify" in forged.stderr


def test_build_errors(tmp_path: Path) -> None:
    run_json("keys", "generate", "--out", str(tmp_path / "a"), "--json")
    again = run_cli("keys", "generate", "--out", str(tmp_path / "a"))
    assert again.returncode == 1 and "already exists" in again.stderr
    missing = run_cli(
        "bundle",
        "build",
        "--source",
        str(tmp_path / "none"),
        "--version",
        "1.0.0",
        "--key",
        str(tmp_path / "a.key"),
        "--out",
        str(tmp_path / "o"),
    )
    assert missing.returncode == 1 and "not a directory" in missing.stderr
    badver = run_cli(
        "bundle",
        "build",
        "--source",
        str(tmp_path),
        "--version",
        "latest",
        "--key",
        str(tmp_path / "a.key"),
        "--out",
        str(tmp_path / "o"),
    )
    assert badver.returncode == 2 and "semantic version" in badver.stderr


def test_inspect_malformed_manifest(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.json"
    bad.write_text('{"version": "1.0.0"}')
    proc = run_cli("bundle", "inspect", str(bad))
    assert proc.returncode == 1 and "missing field(s)" in proc.stderr


def test_bench_ota_runs_small() -> None:
    """The bench command runs end to end (figures are not judged here)."""
    out = run_json("bench", "ota", "--size-mb", "1", "--runs", "1", "--json", timeout=120)
    assert out["package_bytes"] > 1 << 20
    assert set(out["edgetui_phases_s"]) == {
        "fetch manifest",
        "verify signature",
        "download+sha256",
        "extract+fsync",
    }
    assert set(out["baseline_phases_s"]) == {"download", "sha256sum", "tar -x"}
    assert out["ratio"] > 0
