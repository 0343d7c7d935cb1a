"""The baseline of `edgetui bench fleet`: a bare paho subscriber on the fleet's topics (its
own shared-subscription group, so it gets every message too) that only counts. It prints
the running count once a second: `python -m edgetui.bench.fleet_bare URL`."""

from __future__ import annotations

import sys
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from edgetui.fleet.ingest import topics
from edgetui.fleet.mqtt import parse_broker


def main(url: str) -> None:
    broker = parse_broker(url)
    count = 0

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        nonlocal count
        count += 1

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    c.on_message = on_message
    c.on_connect = lambda cl, u, f, rc, p: cl.subscribe(
        [(t, SubscribeOptions(qos=1)) for t in topics("bench-bare")]
    )
    c.connect(broker.host, broker.port, keepalive=30)
    c.loop_start()
    while True:
        time.sleep(1.0)
        sys.stdout.write(f"{count}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
