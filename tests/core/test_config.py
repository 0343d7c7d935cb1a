"""Config lookup and validation: every bad case is one line naming file and key, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetui.config import Config, ConfigError, load_config, parse_config
from tests.support.cli import run_cli


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_defaults_without_any_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGETUI_CONFIG", raising=False)
    monkeypatch.setattr("edgetui.config.SYSTEM_CONFIG", Path("/nonexistent/edgetui.toml"))
    cfg = load_config(None)
    assert cfg.telemetry.interval_s == 1.0
    assert cfg.source is None


def test_values_are_read_and_ints_widen_to_floats(tmp_path: Path) -> None:
    cfg = load_config(str(write(tmp_path, '[device]\nid = "cam-1"\n[telemetry]\ninterval_s = 2\n')))
    assert cfg.device.id == "cam-1"
    assert cfg.telemetry.interval_s == 2.0 and isinstance(cfg.telemetry.interval_s, float)


def test_env_var_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGETUI_CONFIG", str(write(tmp_path, '[device]\ntype = "kiosk"\n')))
    assert load_config(None).device.type == "kiosk"


def test_example_config_documents_every_key() -> None:
    import tomllib

    text = (Path(__file__).parents[2] / "data" / "config.example.toml").read_text()
    # Uncomment the commented defaults (`# key = value` lines directly under a section).
    data = tomllib.loads(text)
    cfg = parse_config(data, "config.example.toml")
    defaults = Config()
    for section in ("telemetry", "store", "uplink", "ota", "bus", "inference"):
        assert getattr(cfg, section) == getattr(defaults, section), section
    documented = {
        line.split("=")[0].strip("# ").strip() for line in text.splitlines() if "=" in line
    }
    import dataclasses

    for section in dataclasses.fields(Config):
        if section.name == "source":
            continue
        for f in dataclasses.fields(getattr(defaults, section.name)):
            if f.name != "settings":
                assert f.name in documented, f"{section.name}.{f.name} undocumented"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[nope]\n", "[nope]: unknown section"),
        ("[store]\nmax_bites = 1\n", "[store] max_bites: unknown key"),
        ('[store]\nmax_bytes = "big"\n', "[store] max_bytes: expected an integer, got 'big'"),
        ("[ota]\nauto_apply = 1\n", "[ota] auto_apply: expected true or false, got 1"),
        ('[ota]\ntrusted_keys = "k.pub"\n', "[ota] trusted_keys: expected a list of strings"),
        ('[store]\non_full = "explode"\n', '[store] on_full: expected "drop_oldest" or'),
        ("[telemetry]\ninterval_s = 0\n", "[telemetry] interval_s: expected a number above 0"),
        ("[ota]\ndownload_slow_s = -1\n", "[ota] download_slow_s: expected 0 (off) or more"),
        ("[device\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_with_exit_2(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=None) as exc:
        load_config(str(path))
    assert message in str(exc.value)
    assert str(path) in str(exc.value)
    proc = run_cli("--config", str(path), "--state-dir", str(tmp_path / "s"), "status", "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]


def test_missing_explicit_file_is_exit_2(tmp_path: Path) -> None:
    proc = run_cli("--config", str(tmp_path / "absent.toml"), "status")
    assert proc.returncode == 2
    assert "absent.toml: config file not found" in proc.stderr


def test_unknown_command_is_usage_error() -> None:
    proc = run_cli("frobnicate")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr
