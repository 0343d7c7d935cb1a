"""The runtime with the default `[store] encrypt = true`: a data key made on first start, and
a replaced key file refused at the next start with a clear error and no row lost."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from edgetui.config import Config
from edgetui.models.serde import to_dict
from edgetui.runtime import Runtime
from edgetui.sealing import DataKeyring


async def test_new_device_seals_and_a_replaced_key_file_is_refused(
    config: Config, state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config.agents.enabled = []
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        assert rt.store is not None and rt.store.seal_new
        await rt.store.enqueue_many([("event", {"n": i}) for i in range(5)])
        await rt._tick()
        enc = to_dict((await rt.status()).sections["buffer"])["encryption"]
        assert enc["enabled"] and enc["key_file"] == str(state_dir / "keys" / "outbox.key")
    finally:
        await rt.stop()
    key_file = state_dir / "keys" / "outbox.key"
    key_file.rename(state_dir / "keys" / "saved.key")
    DataKeyring.create(key_file)  # someone "fixed" the missing file with a fresh key
    rt = Runtime(config, state_dir)
    with caplog.at_level(logging.ERROR):
        await rt.start()
    try:
        assert rt.store is None and rt.uplink is None  # absent, not faked
        assert "buffer" not in (await rt.status()).sections
        assert "does not hold the key(s) that sealed queued messages" in caplog.text
    finally:
        await rt.stop()
    con = sqlite3.connect(state_dir / "edgetui.db")
    assert con.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'event'").fetchone()[0] == 5
    con.close()
