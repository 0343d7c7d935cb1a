"""The embedded demo device: everything `make run` needs, made locally, no downloads.

`prepare(state_dir)` is idempotent: each step leaves what is already there alone.
Parts add their step to STEPS (the demo model, the demo update repository, ...).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# A step gets the state dir and the config dict being built, and adds to both.
Step = Callable[[Path, dict[str, Any]], None]
STEPS: list[Step] = []


def _ota_step(state_dir: Path, config: dict[str, Any]) -> None:
    from edgetui.demo.ota import ota_step  # imported late: it pulls in the OTA tooling

    ota_step(state_dir, config)


STEPS.append(_ota_step)


def _agents_step(state_dir: Path, config: dict[str, Any]) -> None:
    from edgetui.demo.agents import agents_step

    agents_step(state_dir, config)


STEPS.append(_agents_step)


def _access_step(state_dir: Path, config: dict[str, Any]) -> None:
    """Whoever made the demo device administers it: a standalone dashboard runs with its
    user's role, and the default gives a user outside the edgetui group only `viewer`."""
    import os
    import pwd

    try:
        me = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        me = str(os.getuid())
    access = config.setdefault("access", {})
    admins = access.setdefault("admin_users", ["root"])
    if me not in admins:
        admins.append(me)


STEPS.append(_access_step)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def dump_toml(config: dict[str, Any]) -> str:
    """Minimal TOML writer for the demo config (tables of scalars and lists, one level of
    sub-tables)."""
    lines: list[str] = ["# Written by `edgetui demo init`; edit freely.", ""]
    for section, table in config.items():
        lines.append(f"[{section}]")
        subs = {k: v for k, v in table.items() if isinstance(v, dict)}
        for key, value in table.items():
            if key not in subs:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
        for sub, values in subs.items():
            lines.append(f"[{section}.{sub}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
            lines.append("")
    return "\n".join(lines)


def prepare(state_dir: Path) -> Path:
    """Make the demo device under `state_dir` and return its config file path."""
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    config_path = state_dir / "config.toml"
    config: dict[str, Any] = {"device": {"id": "demo-device", "type": "demo-kit"}}
    if config_path.exists():
        config = tomllib.loads(config_path.read_text()) | {}
    for step in STEPS:
        step(state_dir, config)
    tmp = config_path.with_suffix(".tmp")
    tmp.write_text(dump_toml(config))
    tmp.replace(config_path)
    return config_path
