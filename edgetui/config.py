"""Configuration: TOML sections named for the parts, validated against typed dataclasses.

Lookup order: `--config FILE`, `$EDGETUI_CONFIG`, `/etc/edgetui/config.toml`, built-in defaults.
Every key and its default is documented in `data/config.example.toml`.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SYSTEM_CONFIG = Path("/etc/edgetui/config.toml")


class ConfigError(Exception):
    """A config problem the user must fix; the message is one line naming file and key."""


@dataclass
class DeviceConfig:
    id: str = field(default_factory=socket.gethostname)
    type: str = "generic"


@dataclass
class TelemetryConfig:
    interval_s: float = 1.0
    history_size: int = 300
    publish_interval_s: float = 30.0
    rollup_after_min: int = 0  # 0 disables the hourly rollup of old telemetry


@dataclass
class UIConfig:
    kiosk_pin: str = "0000"


@dataclass
class StoreConfig:
    path: str = ""  # default: <state dir>/edgetui.db
    max_bytes: int = 64 * 1024 * 1024
    max_messages: int = 100_000
    ttl_s: float = 7 * 24 * 3600.0
    on_full: str = "drop_oldest"


@dataclass
class UplinkConfig:
    url: str = ""  # mqtt://host:port or mqtts://host:port; empty: no broker, buffer only
    client_id: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    username: str = ""
    password_file: str = ""
    backoff_min_s: float = 1.0
    backoff_max_s: float = 60.0
    mqtt_version: int = 5
    inflight: int = 20


@dataclass
class OtaConfig:
    manifest_url: str = ""
    trusted_keys: list[str] = field(default_factory=list)
    revoked_keys: list[str] = field(default_factory=list)
    check_interval_s: float = 3600.0
    auto_apply: bool = False
    auto_commit: bool = True
    max_boot_attempts: int = 3
    health_timeout_s: float = 30.0
    health_command: str = ""
    health_window_s: float = 10.0  # agents must stay up this long after a trial boot
    download_timeout_s: float = 30.0  # per network read (manifest and package)
    # A package download slower than this on average over download_slow_s fails (and is
    # resumed, up to three times); 0 turns the check off.
    download_min_bytes_per_s: float = 1024.0
    download_slow_s: float = 60.0


@dataclass
class BusConfig:
    bridge_url: str = ""
    bridge_max_bytes: int = 64 * 1024  # bigger inbound bridge messages are dropped, counted
    queue_size: int = 1000
    history_size: int = 500
    outbox_types: list[str] = field(
        default_factory=lambda: ["MOTION_DETECTED", "SPEAK_WARNING", "NOTIFY"]
    )


@dataclass
class InferenceConfig:
    model_path: str = ""
    model_sha256: str = ""  # checked when set (a slot's model is always checked)
    n_threads: int = 2
    n_ctx: int = 1024  # the tiny model's character vocabulary makes prompts token-hungry
    max_tokens: int = 48
    timeout_s: float = 20.0
    queue_size: int = 8
    temperature: float = 0.7


@dataclass
class AgentsConfig:
    enabled: list[str] = field(default_factory=lambda: ["sensor", "llm", "speaker"])
    backoff_min_s: float = 0.5  # first restart delay after a crash; doubles each time
    backoff_max_s: float = 30.0
    stable_after_s: float = 60.0  # an agent that ran this long restarts at backoff_min_s again
    # One free-form table per agent ([agents.sensor], ...): each agent validates its own.
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class FleetConfig:
    """The operator side (`edgetui fleet ...`); command-line options override these."""

    broker: str = ""  # mqtt://host:port or mqtts://host:port
    store: str = ""  # default: <state dir>/fleet.db; or postgresql://user@host:port/db
    group: str = "edgetui-fleet"  # the shared-subscription group the fleet processes form
    batch_s: float = 0.5  # the ingest writes one batch this often
    raw_s: float = 3600.0  # telemetry kept raw this long,
    mid_bucket_s: float = 60.0  # then averaged per this many seconds
    mid_s: float = 86400.0  # until this age,
    old_bucket_s: float = 600.0  # then per this many seconds
    keep_s: float = 30 * 86400.0  # until this age (0: forever)


@dataclass
class Config:
    """The whole configuration; `source` is the file it came from (None: defaults)."""

    device: DeviceConfig = field(default_factory=DeviceConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    uplink: UplinkConfig = field(default_factory=UplinkConfig)
    ota: OtaConfig = field(default_factory=OtaConfig)
    bus: BusConfig = field(default_factory=BusConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    agents: AgentsConfig = field(default_factory=AgentsConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)
    source: Path | None = None


_SECTIONS = {f.name: f for f in dataclasses.fields(Config) if f.name != "source"}
# Sections whose sub-tables are free-form per-name settings rather than typed keys.
_FREEFORM_TABLES = {"agents": "settings"}


def _describe(tp: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if typing.get_origin(tp) is list:
        return (
            "a list of "
            + _describe(typing.get_args(tp)[0]).removeprefix("a ").removeprefix("an ")
            + "s"
        )
    return names.get(tp, str(tp))


def _check(tp: Any, value: Any) -> Any:
    """Return value coerced to tp, or raise TypeError."""
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise TypeError
        return [_check(item, v) for v in value]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError
        return float(value)
    if tp is int and isinstance(value, bool):
        raise TypeError
    if not isinstance(value, tp):
        raise TypeError
    return value


def _build_section(cls: type, name: str, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{name}]: expected a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    freeform = _FREEFORM_TABLES.get(name)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in table.items():
        if freeform and isinstance(value, dict):
            extra[key] = value
            continue
        if key not in known or key == freeform:
            choices = ", ".join(sorted(known - {freeform} if freeform else known))
            raise ConfigError(f"{where}: [{name}] {key}: unknown key (known keys: {choices})")
        try:
            kwargs[key] = _check(hints[key], value)
        except TypeError:
            raise ConfigError(
                f"{where}: [{name}] {key}: expected {_describe(hints[key])}, got {value!r}"
            ) from None
    if freeform:
        kwargs[freeform] = extra
    return cls(**kwargs)


def _validate_values(cfg: Config, where: str) -> None:
    if cfg.store.on_full not in ("drop_oldest", "reject_new"):
        raise ConfigError(
            f'{where}: [store] on_full: expected "drop_oldest" or "reject_new", '
            f"got {cfg.store.on_full!r}"
        )
    if cfg.uplink.mqtt_version not in (3, 5):
        raise ConfigError(
            f"{where}: [uplink] mqtt_version: expected 3 or 5, got {cfg.uplink.mqtt_version!r}"
        )
    for section, key in (("telemetry", "interval_s"), ("telemetry", "publish_interval_s")):
        if getattr(getattr(cfg, section), key) <= 0:
            raise ConfigError(f"{where}: [{section}] {key}: expected a number above 0")
    for key in ("batch_s", "raw_s", "mid_bucket_s", "mid_s", "old_bucket_s"):
        if getattr(cfg.fleet, key) <= 0:
            raise ConfigError(f"{where}: [fleet] {key}: expected a number above 0")
    if cfg.fleet.keep_s < 0:
        raise ConfigError(f"{where}: [fleet] keep_s: expected 0 (forever) or more")
    if not cfg.fleet.group or any(c in cfg.fleet.group for c in "/+#"):
        raise ConfigError(f"{where}: [fleet] group: expected a name without / + or #")
    for key in ("download_min_bytes_per_s", "download_slow_s"):
        if getattr(cfg.ota, key) < 0:
            raise ConfigError(f"{where}: [ota] {key}: expected 0 (off) or more")


def parse_config(data: dict[str, Any], where: str = "<defaults>") -> Config:
    """Validate a parsed TOML document into a Config."""
    kwargs: dict[str, Any] = {}
    for name, table in data.items():
        if name not in _SECTIONS:
            raise ConfigError(
                f"{where}: [{name}]: unknown section (known: {', '.join(sorted(_SECTIONS))})"
            )
        cls = typing.get_type_hints(Config)[name]
        kwargs[name] = _build_section(cls, name, table, where)
    cfg = Config(**kwargs)
    _validate_values(cfg, where)
    return cfg


def find_config_file(explicit: str | None) -> tuple[Path | None, bool]:
    """Return (path, named_explicitly) following the documented lookup order."""
    if explicit:
        return Path(explicit), True
    env = os.environ.get("EDGETUI_CONFIG")
    if env:
        return Path(env), True
    if SYSTEM_CONFIG.exists():
        return SYSTEM_CONFIG, False
    return None, False


def load_config(explicit: str | None = None) -> Config:
    """Load and validate the configuration, raising ConfigError with a one-line reason."""
    path, named = find_config_file(explicit)
    if path is None:
        return Config()
    if not path.exists():
        how = "named by --config" if explicit else "named by $EDGETUI_CONFIG" if named else ""
        raise ConfigError(f"{path}: config file not found {how}".rstrip())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    cfg = parse_config(data, str(path))
    cfg.source = path
    return cfg


def resolve_state_dir(explicit: str | None) -> Path:
    """State directory: `--state-dir`, `$EDGETUI_STATE_DIR`, systemd's `$STATE_DIRECTORY`,
    else the per-user state dir."""
    for candidate in (
        explicit,
        os.environ.get("EDGETUI_STATE_DIR"),
        os.environ.get("STATE_DIRECTORY"),
    ):
        if candidate:
            return Path(candidate).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_state_dir("edgetui")).resolve()
