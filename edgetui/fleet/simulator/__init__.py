"""`edgetui fleet simulate`: N lightweight simulated devices in one process, publishing
what real devices publish and answering signed commands as real devices do (the real
verifier; simulated A/B slots, health checks and rollbacks). Offers `Simulator`,
`SimDevice`."""

from __future__ import annotations

import math
import random
import time
from typing import Any

from edgetui.fleet.simulator.device import LOW_RAM_MB, RAM_MB, SimDevice
from edgetui.fleet.simulator.ota import ManifestCache, SimOta
from edgetui.fleet.simulator.pool import SimPool
from edgetui.models.broker import BrokerAddress
from edgetui.remote import Verifier

__all__ = ["SimDevice", "Simulator"]

DEVICES_PER_THREAD = 2500


class Simulator:
    """`devices` simulated devices named `<prefix>-00000`..., split over a few pool threads.

    `offline_rate`, `fail_rate` and `low_ram_rate` pick which devices are flaky, will fail
    their update's health check, or have little RAM (a seeded choice: the same run twice
    gives the same fleet). `trusted_keys` (.pub files) are the command keys every device
    trusts; without any, every command is REJECTED (unknown_key). `install_s` and
    `health_s` time an update: installed (SUCCEEDED, on trial), then health checked."""

    def __init__(
        self,
        broker: BrokerAddress,
        devices: int,
        *,
        types: tuple[str, ...] = ("camera",),
        offline_rate: float = 0.0,
        fail_rate: float = 0.0,
        low_ram_rate: float = 0.0,
        telemetry_interval_s: float = 10.0,
        offline_for_s: float = 60.0,
        prefix: str = "sim",
        seed: int = 13,
        threads: int | None = None,
        trusted_keys: tuple[str, ...] = (),
        revoked_keys: tuple[str, ...] = (),
        install_s: float = 0.5,
        health_s: float = 2.0,
        disk_free_mb: float = 8000.0,
    ) -> None:
        for name, rate in (
            ("offline-rate", offline_rate),
            ("fail-rate", fail_rate),
            ("low-ram-rate", low_ram_rate),
        ):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"--{name} {rate}: expected a fraction between 0 and 1")
        if devices < 1:
            raise ValueError(f"--devices {devices}: expected at least 1")
        if telemetry_interval_s <= 0:
            raise ValueError(f"--telemetry-interval {telemetry_interval_s}: must be > 0")
        rng = random.Random(seed)
        self.devices = [
            SimDevice(
                device_id=f"{prefix}-{i:05d}",
                device_type=types[i % len(types)],
                rng=random.Random(rng.random()),
                flaky=rng.random() < offline_rate,
                will_fail=rng.random() < fail_rate,
                low_ram=rng.random() < low_ram_rate,
            )
            for i in range(devices)
        ]
        # The keys are read once; every device's verifier shares them.
        shared = Verifier.from_files(trusted_keys, revoked_keys, "-", "-") if trusted_keys else None
        manifests = ManifestCache()
        for dev in self.devices:
            verifier = None
            if shared is not None:
                verifier = Verifier(shared.trusted, shared.revoked, dev.device_id, dev.device_type)
            dev.ota = SimOta(
                dev.device_id,
                verifier,
                manifests,
                ram_mb=LOW_RAM_MB if dev.low_ram else RAM_MB,
                disk_free_mb=disk_free_mb,
                will_fail=dev.will_fail,
                install_s=install_s,
                health_s=health_s,
            )
        n_threads = threads or min(4, math.ceil(devices / DEVICES_PER_THREAD))
        share = math.ceil(devices / n_threads)
        self.pools = [
            SimPool(
                broker,
                self.devices[k * share : (k + 1) * share],
                interval_s=telemetry_interval_s,
                offline_for_s=offline_for_s,
                name=f"sim-pool-{k}",
            )
            for k in range(n_threads)
        ]

    def start(self) -> None:
        for pool in self.pools:
            pool.start()

    def stop(self) -> None:
        for pool in self.pools:
            pool._halt.set()
        for pool in self.pools:
            pool.stop()

    def connected(self) -> int:
        return sum(p.connected for p in self.pools)

    def wait_connected(self, count: int | None = None, timeout: float = 60.0) -> bool:
        """True once `count` (default: all but the offline ones) devices are connected."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            want = count if count is not None else len(self.devices) - self.offline_now()
            if self.connected() >= want:
                return True
            time.sleep(0.05)
        return False

    def offline_now(self) -> int:
        return sum(p.offline_now for p in self.pools)

    def stats(self) -> dict[str, Any]:
        """`fleet simulate --json` progress lines."""
        return {
            "devices": len(self.devices),
            "connected": self.connected(),
            "offline_now": self.offline_now(),
            "published": sum(p.published for p in self.pools),
            "commands": sum(p.commands for p in self.pools),
            "flaky": sum(d.flaky for d in self.devices),
            "will_fail": sum(d.will_fail for d in self.devices),
            "low_ram": sum(d.low_ram for d in self.devices),
        }
