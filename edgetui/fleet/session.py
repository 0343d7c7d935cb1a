"""The fleet session: what one operator process works with, built once from `[fleet]` (and
the options that override it). The CLI's fleet commands, `command send` and the fleet
console are faces over it: none of them opens a store, builds an ingest, a rollout runner or
an MQTT client itself.

Everything is made when first asked for: `fleet status` opens only the store, `command send`
only makes an MQTT client. `close()` (or leaving `with` / `async with`) stops the ingest it
started, then closes the store, in that order: the ingest writes into the store.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgetui.config import FleetConfig
from edgetui.fleet.ingest import Ingest
from edgetui.fleet.mqtt import MqttAuth, make_client
from edgetui.fleet.rollouts import RolloutRunner
from edgetui.fleet.spool import FILENAME, Spool, SpoolError
from edgetui.fleet.store import DownsamplePolicy, FleetStore, StoreError, open_store
from edgetui.models.broker import BrokerAddress, parse_broker

__all__ = ["FleetSession", "SessionError"]


class SessionError(Exception):
    """A session part that cannot be made, in one line; `usage` when the configuration or
    an option is wrong (not the world)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass
class FleetSession:
    """One fleet process's store, broker, spool, ingest and MQTT options (see the module
    docstring). Build it with `from_config`."""

    settings: FleetConfig
    state_dir: Path
    broker_url: str = ""
    store_spec: str = ""
    group: str = "edgetui-fleet"
    auth: MqttAuth = field(default_factory=MqttAuth)
    _store: FleetStore | None = field(default=None, init=False, repr=False)
    _broker: BrokerAddress | None = field(default=None, init=False, repr=False)
    _ingest: Ingest | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_config(
        cls,
        cfg: FleetConfig,
        state_dir: Path,
        *,
        broker: str | None = None,
        store: str | None = None,
        group: str | None = None,
        auth: MqttAuth | None = None,
    ) -> FleetSession:
        """A session for `[fleet]` `cfg`; `broker`, `store`, `group` override its keys, and
        `auth` its TLS files (an option left empty keeps the `[fleet]` value). Raises
        SessionError (usage) for a bad group; nothing is opened yet."""
        group = group or cfg.group
        if any(c in group for c in "/+#"):
            raise SessionError(f"--group {group!r}: expected a name without / + or #", usage=True)
        base = MqttAuth(ca_file=cfg.ca_file, cert_file=cfg.cert_file, key_file=cfg.key_file)
        if auth is not None:
            given = {k: v for k, v in auth.__dict__.items() if v}
            base = replace(base, **given)
        return cls(
            cfg,
            state_dir,
            broker_url=broker or cfg.broker,
            store_spec=store or cfg.store,
            group=group,
            auth=base,
        )

    # -- the parts, each made once --------------------------------------------------------
    @property
    def has_broker(self) -> bool:
        """Whether a broker is named at all (the console without one only views the store)."""
        return bool(self.broker_url)

    @property
    def broker(self) -> BrokerAddress:
        """The broker's address; SessionError (usage) when none is named or its URL is bad."""
        if self._broker is None:
            if not self.broker_url:
                raise SessionError("no broker: give --broker URL or set [fleet] broker", usage=True)
            try:
                self._broker = parse_broker(self.broker_url)
            except ValueError as exc:
                raise SessionError(str(exc), usage=True) from None
        return self._broker

    @property
    def store(self) -> FleetStore:
        """The fleet store, opened on first use; SessionError when it cannot be."""
        if self._store is None:
            try:
                self._store = open_store(self.store_spec, self.state_dir)
            except StoreError as exc:
                raise SessionError(str(exc), usage=exc.usage) from None
        return self._store

    @property
    def policy(self) -> DownsamplePolicy:
        """The telemetry downsampling of `[fleet]`."""
        f = self.settings
        return DownsamplePolicy(f.raw_s, f.mid_bucket_s, f.mid_s, f.old_bucket_s, f.keep_s)

    def spool(self) -> Spool | None:
        """The ingest's spool, `<state>/fleet-spool.db` (None when `spool_max_mb` is 0)."""
        max_mb = self.settings.spool_max_mb
        if max_mb <= 0:
            return None
        try:
            return Spool(self.state_dir / FILENAME, int(max_mb * 1024 * 1024))
        except SpoolError as exc:
            raise SessionError(str(exc)) from None

    def start_ingest(self, name: str | None = None) -> Ingest:
        """Start the ingest into the store (one per session; stopped by `close`). A `name`
        keeps an MQTT session at the broker for `[fleet] session_expiry_s`."""
        if self._ingest is None:
            broker = self.broker  # a missing broker is told before the store is opened
            self._ingest = Ingest(
                self.store,
                broker,
                group=self.group,
                name=name,
                batch_s=self.settings.batch_s,
                policy=self.policy,
                spool=self.spool(),
                session_expiry_s=self.settings.session_expiry_s,
                auth=self.auth,
            )
            self._ingest.start()
        return self._ingest

    @property
    def ingest(self) -> Ingest | None:
        """The ingest started by `start_ingest`, if any."""
        return self._ingest

    def runner(self, rollout_id: str, **options: Any) -> RolloutRunner:
        """A runner of `rollout_id` over the store and broker (options: owner, tick_s,
        lease_s, clock); it holds no lease until its `claim()`."""
        broker = self.broker
        return RolloutRunner(self.store, broker, rollout_id, auth=self.auth, **options)

    def mqtt_client(self, client_id: str = "") -> Any:
        """A paho client (MQTT 5, not connected) for the broker, with the session's TLS;
        SessionError when a TLS file cannot be loaded."""
        try:
            return make_client(self.broker, client_id, auth=self.auth)
        except OSError as exc:  # ssl.SSLError is an OSError
            raise SessionError(f"TLS: {exc}") from None

    # -- the end ----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the ingest (it writes into the store), then close the store."""
        ingest, self._ingest = self._ingest, None
        if ingest is not None:
            ingest.stop()
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def __enter__(self) -> FleetSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> FleetSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Stopping the ingest joins its threads: never on the event loop.
        await asyncio.to_thread(self.close)
