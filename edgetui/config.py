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
    kiosk_pin: str = "0000"  # plain text (legacy): `edgetui kiosk set-pin` stores a hash
    kiosk_max_attempts: int = 5  # wrong PINs in a row before the lockout
    kiosk_backoff_s: float = 1.0  # wait after the first wrong PIN; doubles each time (max 60)
    kiosk_lockout_s: float = 300.0  # how long the lockout lasts


@dataclass
class TuiConfig:
    """How the dashboard draws: for a slow line (a serial console), slower and leaner."""

    low_bandwidth: bool = False  # also on by itself on a serial tty at 115200 baud or less
    low_bandwidth_refresh_s: float = 5.0  # how often a low-bandwidth dashboard redraws
    ascii: bool = False  # ASCII gauges, sparklines and borders (a terminal without Unicode)


@dataclass
class StoreConfig:
    path: str = ""  # default: <state dir>/edgetui.db
    max_bytes: int = 64 * 1024 * 1024
    max_messages: int = 100_000
    ttl_s: float = 7 * 24 * 3600.0
    on_full: str = "drop_oldest"
    # Payloads sealed with AES-256-GCM under the device data key (edgetui.sealing);
    # turning it on seals the clear rows of an existing database at the next start.
    encrypt: bool = True
    key_file: str = ""  # default: <state dir>/keys/outbox.key (0600, outside the database)


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
class RemoteConfig:
    """Signed remote commands on devices/<id>/commands (edgetui.remote.RemoteCommands)."""

    trusted_keys: list[str] = field(default_factory=list)  # Ed25519 .pub files
    revoked_keys: list[str] = field(default_factory=list)  # key ids or .pub files
    max_validity_s: float = 86400.0  # a command valid longer than this is refused
    clock_skew_s: float = 300.0  # issued_at may be this far in the future
    replay_window: int = 10000  # command ids remembered (until they expire)
    command_timeout_s: float = 600.0  # IN_PROGRESS longer than this: TIMED_OUT
    max_queued: int = 16  # accepted commands waiting their turn; more are REJECTED


@dataclass
class BusConfig:
    bridge_url: str = ""
    bridge_max_bytes: int = 64 * 1024  # bigger inbound bridge messages are dropped, counted
    queue_size: int = 1000
    history_size: int = 500
    outbox_types: list[str] = field(
        default_factory=lambda: ["MOTION_DETECTED", "SPEAK_WARNING", "NOTIFY"]
    )
    # Events are bounded by size (a bigger one is refused) and the history by bytes too.
    max_event_bytes: int = 32 * 1024
    history_max_bytes: int = 4 * 1024 * 1024


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
    # A model decision whose confidence (P of its action) is under this goes to the rule
    # policy, which says why. 0 = off. The shipped model's wrong decisions average 0.76.
    min_confidence: float = 0.0
    # The model runs in a worker process (inference/child.py). It is killed when its resident
    # memory passes max_rss_mb (0 = no limit) or a load takes longer than load_timeout_s; a
    # request with no answer within timeout_s counts as a hang and kills it too.
    max_rss_mb: int = 0
    load_timeout_s: float = 120.0
    # A dead worker is restarted after restart_backoff_s, doubled per crash before an answer,
    # up to restart_backoff_max_s; max_crashes within crash_window_s: the rules decide.
    restart_backoff_s: float = 1.0
    restart_backoff_max_s: float = 60.0
    max_crashes: int = 5
    crash_window_s: float = 600.0
    # llama.cpp's CPU-specific weight repacking at load (AMX, q4_0 8x8): off by default, it
    # crashed q4_0 models on AMX CPUs (inference/load_params.py).
    repack_weights: bool = False


@dataclass
class ValidationConfig:
    enabled: bool = True
    db_path: str = ""  # baselines and drift references; default: <state dir>/validation.db
    golden_path: str = ""  # golden prompts when the active slot has none
    latency_ratio_max: float = 1.5  # validate fails when golden p95 > this x the baseline p95
    agents_wait_s: float = 10.0  # validate waits this long for freshly started agents
    baseline_window_s: float = 300.0  # a committed model's baseline is measured this long...
    baseline_requests: int = 0  # ...or over this many requests, if sooner (0: time only)
    baseline_min_samples: int = 20  # a window with fewer requests goes on until it has them
    drift_reference_size: int = 200  # decisions after commit that become the drift reference
    drift_window: int = 200  # the most recent decisions compared with the reference
    drift_min_samples: int = 50  # PSI is computed once the window holds this many


@dataclass
class RetrainConfig:
    """`[retrain]`: the llm agent's recent inputs sent to the fleet when a drift or
    confidence alert fires (README "Retraining set"). Off unless the owner opts in."""

    share_inputs: bool = False  # opt-in: nothing leaves the device while false
    max_samples: int = 200  # recent decisions kept, and sent at most per firing alert
    max_per_day: int = 1000  # samples sent per UTC day, over every alert (0: none)
    # The alerts whose firing sends the samples (the built-in drift and confidence rules).
    rules: list[str] = field(default_factory=lambda: ["drift_high", "confidence_drop"])


@dataclass
class AgentsConfig:
    enabled: list[str] = field(default_factory=lambda: ["sensor", "llm", "speaker"])
    backoff_min_s: float = 0.5  # first restart delay after a crash; doubles each time
    backoff_max_s: float = 30.0
    stable_after_s: float = 60.0  # an agent that ran this long restarts at backoff_min_s again
    # One free-form table per agent ([agents.sensor], ...): each agent validates its own.
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


ALERT_OPS = (">", ">=", "<", "<=", "==", "!=")


@dataclass
class AlertRuleConfig:
    """One `[[alerts.rules]]` table: a new rule, or an override of a built-in by `name`
    (keys left out keep the built-in's values; None here means "not set")."""

    name: str
    metric: str | None = None  # dotted path into the status, e.g. "resources.cpu_percent"
    op: str | None = None  # one of ALERT_OPS
    warning: float | None = None
    critical: float | None = None
    clear: float | None = None  # hysteresis: firing holds until the value passes this
    for_s: float | None = None
    keep_firing_for_s: float | None = None
    window_s: float | None = None  # for built-in checks that count over a window
    summary: str | None = None
    enabled: bool | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class AlertsConfig:
    enabled: bool = True
    temperature_limit_c: float = 85.0  # the device's limit: built-in rule temperature_high
    rules: list[AlertRuleConfig] = field(default_factory=list)


@dataclass
class MetricsConfig:
    listen: str = ""  # "127.0.0.1:9101": serve Prometheus /metrics; "" = off
    textfile: str = ""  # node_exporter textfile, written atomically; "" = off
    textfile_interval_s: float = 15.0  # how often the textfile is rewritten


@dataclass
class AccessConfig:
    """Roles on the control socket: user names/uids and group names/gids per role."""

    admin_users: list[str] = field(default_factory=lambda: ["root"])
    admin_groups: list[str] = field(default_factory=list)
    operator_users: list[str] = field(default_factory=list)
    operator_groups: list[str] = field(default_factory=lambda: ["edgetui"])
    viewer_users: list[str] = field(default_factory=list)
    viewer_groups: list[str] = field(default_factory=list)
    default_role: str = "viewer"  # anyone else who can open the socket; "none": refused


@dataclass
class AuditConfig:
    path: str = ""  # default: <state dir>/audit/audit.log
    sign_interval_s: float = 300.0  # the chain's head is signed with the device key this often
    verify_interval_s: float = 3600.0  # the whole chain is re-verified this often; 0: off
    uplink: bool = True  # also queue each record for devices/<id>/audit


@dataclass
class SecurityConfig:
    slot_check_interval_s: float = 3600.0  # re-hash of the booted slot; 0: off
    events_kept: int = 100  # security events kept for the status section


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
    # The broker keeps a named ingest's MQTT session (subscriptions, queued QoS 1 messages)
    # this long while it is away (0: a clean session, nothing kept).
    session_expiry_s: float = 86400.0
    # What the store refuses is spooled to <state>/fleet-spool.db, up to this size, oldest
    # dropped past it (0: no spool, kept in memory only).
    spool_max_mb: float = 256.0
    # TLS for an mqtts:// broker: the CA to trust (empty: the system's), and a client
    # certificate and key for mutual TLS (empty: none). Every fleet MQTT client uses them.
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


@dataclass
class Config:
    """The whole configuration; `source` is the file it came from (None: defaults)."""

    device: DeviceConfig = field(default_factory=DeviceConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    tui: TuiConfig = field(default_factory=TuiConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    uplink: UplinkConfig = field(default_factory=UplinkConfig)
    ota: OtaConfig = field(default_factory=OtaConfig)
    bus: BusConfig = field(default_factory=BusConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    agents: AgentsConfig = field(default_factory=AgentsConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    remote: RemoteConfig = field(default_factory=RemoteConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
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


def _threshold(value: Any) -> float:
    """A rule threshold: a number, or true/false (compared as 1/0, e.g. golden_ok == false)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, int | float):
        raise TypeError
    return float(value)


def _build_rules(rules: Any, where: str) -> list[AlertRuleConfig]:
    """`[[alerts.rules]]`: each table checked key by key; errors name the rule and the key."""
    if not isinstance(rules, list):
        raise ConfigError(f"{where}: [alerts] rules: expected an array of tables [[alerts.rules]]")
    hints = typing.get_type_hints(AlertRuleConfig)
    known = {f.name for f in dataclasses.fields(AlertRuleConfig)}
    out: list[AlertRuleConfig] = []
    seen: set[str] = set()
    for i, table in enumerate(rules):
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [[alerts.rules]] #{i + 1}: expected a table")
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: [[alerts.rules]] #{i + 1} name: expected a rule name")
        at = f"{where}: [[alerts.rules]] {name}"
        if name in seen:
            raise ConfigError(f"{at}: name: defined twice")
        seen.add(name)
        kwargs: dict[str, Any] = {}
        for key, value in table.items():
            if key not in known:
                raise ConfigError(
                    f"{at}: {key}: unknown key (known keys: {', '.join(sorted(known))})"
                )
            try:
                if key in ("warning", "critical", "clear"):
                    kwargs[key] = _threshold(value)
                elif key == "labels":
                    if not isinstance(value, dict) or not all(
                        isinstance(v, str) for v in value.values()
                    ):
                        raise TypeError
                    kwargs[key] = dict(value)
                else:
                    tp = typing.get_args(hints[key])[0] if key != "name" else str
                    kwargs[key] = _check(tp, value)
            except TypeError:
                expected = {
                    "warning": "a number or true/false",
                    "critical": "a number or true/false",
                    "clear": "a number or true/false",
                    "labels": "a table of strings",
                }.get(key) or _describe(typing.get_args(hints[key])[0])
                raise ConfigError(f"{at}: {key}: expected {expected}, got {value!r}") from None
        rule = AlertRuleConfig(**kwargs)
        if rule.op is not None and rule.op not in ALERT_OPS:
            raise ConfigError(
                f"{at}: op: unknown operator {rule.op!r} (known: {' '.join(ALERT_OPS)})"
            )
        for key in ("for_s", "keep_firing_for_s", "window_s"):
            value = getattr(rule, key)
            if value is not None and value < 0:
                raise ConfigError(f"{at}: {key}: expected 0 or more seconds, got {value!r}")
        if rule.metric is not None and not _is_path(rule.metric):
            raise ConfigError(
                f"{at}: metric: expected a dotted path such as resources.cpu_percent, "
                f"got {rule.metric!r}"
            )
        out.append(rule)
    return out


def _is_path(path: str) -> bool:
    parts = path.split(".")
    return len(parts) >= 2 and all(p and p.replace("_", "a").isalnum() for p in parts)


def _build_section(cls: type, name: str, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{name}]: expected a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    freeform = _FREEFORM_TABLES.get(name)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in table.items():
        if cls is AlertsConfig and key == "rules":
            kwargs[key] = _build_rules(value, where)
            continue
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


# The numeric bounds of the config, as data: (section, keys, lowest allowed, whether the
# lowest itself is refused, the words of the error). Checked in this order.
_BOUNDS: tuple[tuple[str, tuple[str, ...], float, bool, str], ...] = (
    ("telemetry", ("interval_s", "publish_interval_s"), 0, True, "a number above 0"),
    ("inference", ("timeout_s", "load_timeout_s", "restart_backoff_s", "crash_window_s"), 0,
     True, "a number above 0"),
    ("inference", ("max_crashes",), 1, False, "1 or more"),
    ("inference", ("max_rss_mb",), 0, False, "0 (no limit) or more"),
    ("ui", ("kiosk_max_attempts",), 1, False, "1 or more"),
    ("tui", ("low_bandwidth_refresh_s",), 0, True, "a number of seconds above 0"),
    ("ui", ("kiosk_backoff_s", "kiosk_lockout_s"), 0, False, "0 or more seconds"),
    ("bus", ("max_event_bytes", "history_max_bytes"), 0, True, "a number of bytes above 0"),
    ("remote", ("max_validity_s", "command_timeout_s", "replay_window", "max_queued"), 0, True,
     "a number above 0"),
    ("remote", ("clock_skew_s",), 0, False, "0 or more"),
    ("validation", ("latency_ratio_max", "baseline_window_s"), 0, True, "a number above 0"),
    ("validation", ("baseline_min_samples", "drift_reference_size", "drift_window"), 1, False,
     "an integer of 1 or more"),
    ("validation", ("baseline_requests", "agents_wait_s", "drift_min_samples"), 0, False,
     "0 or more"),
    ("retrain", ("max_samples",), 1, False, "an integer of 1 or more"),
    ("retrain", ("max_per_day",), 0, False, "0 or more"),
    ("fleet", ("batch_s", "raw_s", "mid_bucket_s", "mid_s", "old_bucket_s"), 0, True,
     "a number above 0"),
    ("fleet", ("keep_s",), 0, False, "0 (forever) or more"),
    ("fleet", ("session_expiry_s", "spool_max_mb"), 0, False, "0 (off) or more"),
    ("ota", ("download_min_bytes_per_s", "download_slow_s"), 0, False, "0 (off) or more"),
    ("audit", ("sign_interval_s", "verify_interval_s"), 0, False, "0 (off) or more"),
    ("security", ("slot_check_interval_s",), 0, False, "0 (off) or more"),
    ("security", ("events_kept",), 1, False, "1 or more"),
)  # fmt: skip


def _check_bounds(cfg: Config, where: str) -> None:
    for section, keys, lowest, strict, words in _BOUNDS:
        for key in keys:
            value = getattr(getattr(cfg, section), key)
            if value < lowest or (strict and value == lowest):
                raise ConfigError(f"{where}: [{section}] {key}: expected {words}")


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
    if cfg.metrics.listen:
        host, _, port = cfg.metrics.listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                f'{where}: [metrics] listen: expected "HOST:PORT" such as "127.0.0.1:9101", '
                f"got {cfg.metrics.listen!r}"
            )
    if not 0.0 <= cfg.inference.min_confidence <= 1.0:
        raise ConfigError(f"{where}: [inference] min_confidence: expected a number in [0, 1]")
    _check_bounds(cfg, where)
    if cfg.inference.restart_backoff_max_s < cfg.inference.restart_backoff_s:
        raise ConfigError(
            f"{where}: [inference] restart_backoff_max_s: expected at least restart_backoff_s"
        )
    if not cfg.fleet.group or any(c in cfg.fleet.group for c in "/+#"):
        raise ConfigError(f"{where}: [fleet] group: expected a name without / + or #")
    roles = ("none", "viewer", "operator", "admin")
    if cfg.access.default_role not in roles:
        raise ConfigError(
            f"{where}: [access] default_role: expected one of {', '.join(roles)}, "
            f"got {cfg.access.default_role!r}"
        )


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
