"""A trial boot reads its model file once, though three checks want its digest."""

from __future__ import annotations

import pytest

from tests.ota.test_service import running, wait_phase
from tests.support.digest import DigestReads
from tests.support.ota import OtaDevice

pytestmark = pytest.mark.timeout(90)


async def test_trial_boot_reads_the_model_once(
    ota_device: OtaDevice, digest_reads: DigestReads
) -> None:
    model = ota_device.store().slot_dir("b") / "model" / "tiny.gguf"
    async with running(ota_device) as (rt, notes):
        await rt.call("ota.apply")
        await wait_phase(notes, "done")
        st = await rt.call("ota.status")
        inference = rt.inference
    checks = {c["name"]: c for c in st["health"]["checks"]}
    # All three wanted the digest: the boot (slot b verified and booted), the engine (it
    # loaded the model) and the health check (model and golden prompts passed).
    assert st["booted"] == "b" and st["slots"]["b"]["status"] == "good"
    assert inference is not None and inference.sha256 is not None
    assert checks["model"]["ok"] is True and checks["golden"]["ok"] is True
    assert digest_reads.of(model) == 1
