"""Where an MQTT broker is, and its one parser: `mqtt://host[:port]`, `mqtts://host[:port]`
(TLS), an IPv6 host in brackets (`mqtt://[::1]:1883`). The device's uplink and bus bridge,
the fleet and the CLI all read broker URLs through `parse_broker`, so they accept the same
addresses and refuse the others in the same words."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = {"mqtt": 1883, "mqtts": 8883}  # scheme -> its default port
EXPECTED = "expected mqtt://host[:port] or mqtts://host[:port]"


class BrokerURLError(ValueError):
    """A broker URL that is not one; the text is one line: the URL and what is wrong."""

    def __init__(self, url: object, why: str) -> None:
        super().__init__(f"bad broker URL {str(url)[:120]!r}: {why}")


@dataclass(frozen=True)
class BrokerAddress:
    """A broker's host (an IPv6 address without its brackets), port, and whether to use TLS."""

    host: str
    port: int
    tls: bool

    @property
    def where(self) -> str:
        """`host:port`, `[::1]:port` for an IPv6 host (as in error messages and logs)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.where}"


def parse_broker(url: str) -> BrokerAddress:
    """The address in `url`; BrokerURLError (a ValueError) with a one-line reason."""
    if not isinstance(url, str) or not url.strip():
        raise BrokerURLError(url, f"empty: {EXPECTED}")
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # urlsplit's own complaint: an unclosed or bad bracket
        raise BrokerURLError(url, "bad IPv6 host: write it in brackets, [::1]") from None
    if parts.scheme not in SCHEMES or not text.lower().startswith(f"{parts.scheme}://"):
        raise BrokerURLError(url, EXPECTED)
    netloc = parts.netloc
    if "@" in netloc:
        raise BrokerURLError(url, "no user name or password in the URL: configure them apart")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BrokerURLError(url, "nothing may follow host[:port]")
    if any(c.isspace() for c in netloc):
        raise BrokerURLError(url, "a space in the host")
    bracketed = netloc.startswith("[")
    if not bracketed and netloc.count(":") > 1:
        raise BrokerURLError(url, "an IPv6 host goes in brackets: mqtt://[::1]:1883")
    # The port first: in `mqtt://:x` the bad port is the thing to fix, not the host.
    port_text = netloc.rpartition("]")[2] if bracketed else netloc
    _, colon, port_text = port_text.partition(":")
    if not colon:
        port = SCHEMES[parts.scheme]
    elif not port_text.isascii() or not port_text.isdigit():
        raise BrokerURLError(url, "port is not a number")
    else:
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise BrokerURLError(url, f"port {port} is out of range (1-65535)")
    host = parts.hostname or ""
    if not host:
        raise BrokerURLError(url, "no host")
    if bracketed:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise BrokerURLError(url, f"{host!r} in brackets is not an IPv6 address") from None
    return BrokerAddress(host, port, parts.scheme == "mqtts")
