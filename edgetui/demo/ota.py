"""Demo OTA: a demo key pair, a factory slot "a" (1.0.0), and a local update repository
(`<state>/repo/`) holding a signed 1.1.0, so Check then Apply in the dashboard shows an update
commit. Every release carries the shipped decision model (edgetui/data/models/) and its golden
set, which checks actions against a pass bar. `publish()` adds further releases (`--broken`
ones fail their health check, `--regressed` ones carry a model trained on wrong night-motion
labels: their golden accuracy falls under the bar and the update rolls back).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FACTORY_VERSION = "1.0.0"
FIRST_UPDATE = "1.1.0"
BROKEN_SENSOR = '''"""Demo of a bad release (`edgetui demo publish --broken`): crashes on start."""


async def run(ctx):
    raise RuntimeError("demo: this release's sensor agent is broken on purpose")
'''


def paths(state_dir: Path) -> dict[str, Path]:
    """Where the demo keeps its key, repository and factory bundle."""
    return {
        "key": state_dir / "keys" / "demo.key",
        "pub": state_dir / "keys" / "demo.pub",
        "repo": state_dir / "repo",
        "factory": state_dir / "ota" / "factory",
        "work": state_dir / "ota" / "demo-src",
    }


def _source(work: Path, version: str, *, broken: bool, regressed: bool = False) -> Path:
    """A slot's content: the shipped decision model (or its regressed twin), the golden set
    that checks its actions, agents."""
    from edgetui.inference import SHIPPED_GOLDEN, SHIPPED_MODEL, SHIPPED_REGRESSED_MODEL

    src = work / version
    if src.exists():
        shutil.rmtree(src)
    (src / "model").mkdir(parents=True)
    model = SHIPPED_REGRESSED_MODEL if regressed else SHIPPED_MODEL
    shutil.copyfile(model, src / "model" / model.name)
    shutil.copyfile(SHIPPED_GOLDEN, src / "golden.json")
    agents = src / "agents"
    agents.mkdir(parents=True)
    (agents / "README.txt").write_text(
        "Agent modules here override the built-in ones (agents/<name>.py).\n"
    )
    if broken:
        (agents / "sensor.py").write_text(BROKEN_SENSOR)
    return src


def publish(
    state_dir: Path,
    version: str,
    *,
    broken: bool = False,
    regressed: bool = False,
    out: Path | None = None,
) -> dict[str, Any]:
    """Build and sign a demo release into the repository; returns its manifest as a dict."""
    from edgetui.ota.bundle import build_bundle

    p = paths(Path(state_dir))
    if not p["key"].exists():
        raise FileNotFoundError(f"{p['key']}: no demo key; run `edgetui demo init` first")
    src = _source(p["work"], version, broken=broken, regressed=regressed)
    if broken:
        changes = "demo: sensor agent crashes on start (fails its health check)"
    elif regressed:
        changes = "demo: decision model trained on wrong night-motion labels (fails golden)"
    else:
        changes = f"demo: decision model for {version}"
    try:
        m = build_bundle(src, version, p["key"], out or p["repo"], changes=changes)
    finally:
        shutil.rmtree(src, ignore_errors=True)
    return m.to_dict()


def ota_step(state_dir: Path, config: dict[str, Any]) -> None:
    """Demo step: key pair, factory slot a, repository with the first update; config keys."""
    from edgetui.inference import SHIPPED_TEMPERATURE
    from edgetui.keys import generate_keypair
    from edgetui.ota.factory import install_factory
    from edgetui.ota.slots import SlotStore

    p = paths(state_dir)
    if not p["key"].exists():
        generate_keypair(p["key"].with_suffix(""))
    ota = config.setdefault("ota", {})
    ota["manifest_url"] = str(p["repo"] / "manifest.json")
    keys = [str(k) for k in ota.get("trusted_keys", []) if str(k) != str(p["pub"])]
    ota["trusted_keys"] = [str(p["pub"]), *keys]
    ota.setdefault("health_window_s", 5.0)
    # The shipped model is trained for greedy decoding (its confidence is defined for it).
    config.setdefault("inference", {}).setdefault("temperature", SHIPPED_TEMPERATURE)
    if SlotStore(state_dir).load().slots["a"].status == "empty":
        publish(state_dir, FACTORY_VERSION, out=p["factory"])
        install_factory(state_dir, p["factory"] / "manifest.json", [str(p["pub"])])
        log.info("demo: factory slot a holds %s", FACTORY_VERSION)
    if not (p["repo"] / "manifest.json").exists():
        publish(state_dir, FIRST_UPDATE)
        log.info("demo: repository %s offers %s", p["repo"], FIRST_UPDATE)
