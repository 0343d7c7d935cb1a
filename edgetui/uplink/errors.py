"""Why the uplink is not connected, in words a technician can act on."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import Any

# kinds: dns_failure, connection_refused, tls_failed, not_authorized, timeout,
# connection_lost, broker_error, config_error, network_error


@dataclass
class LinkError:
    """One failure: `kind` is a stable slug for scripts, `message` the sentence to show."""

    kind: str
    message: str


class ConnectFailed(Exception):
    """A connection attempt failed; `.error` says why."""

    def __init__(self, error: LinkError) -> None:
        super().__init__(error.message)
        self.error = error


_CERT_REQUIRED = ("certificate required", "alert certificate required", "peer did not return")
_NOT_TLS = (
    "wrong version number",
    "record layer failure",
    "packet length too long",
    "unknown protocol",
)


def _tls_text(text: str) -> LinkError | None:
    low = text.lower()
    if any(s in low for s in _CERT_REQUIRED):
        return LinkError(
            "not_authorized",
            "not authorized: the broker requires a client certificate "
            "(set [uplink] cert_file and key_file)",
        )
    if "certificate verify failed" in low:
        return LinkError(
            "tls_failed",
            "TLS handshake failed: the broker's certificate is not trusted by [uplink] ca_file "
            f"({text})",
        )
    if any(s in low for s in _NOT_TLS):
        return LinkError(
            "tls_failed",
            "TLS handshake failed: the broker port does not speak TLS (plain MQTT port?)",
        )
    if "alert" in low and ("bad certificate" in low or "unknown ca" in low):
        return LinkError(
            "not_authorized",
            f"not authorized: the broker rejected our client certificate ({text})",
        )
    return None


def classify_exception(exc: BaseException, where: str, timeout: float, tls: bool) -> LinkError:
    """Map an exception from socket connect / TLS handshake to a LinkError."""
    host = where.rsplit(":", 1)[0]
    if isinstance(exc, socket.gaierror):
        return LinkError("dns_failure", f"DNS failure: cannot resolve {host} ({exc.strerror})")
    if isinstance(exc, ConnectionRefusedError):
        return LinkError(
            "connection_refused",
            f"connection refused by {where} (no broker listening on that port)",
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return LinkError(
            "tls_failed",
            "TLS handshake failed: the broker's certificate is not trusted "
            f"({exc.verify_message}; check [uplink] ca_file)",
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return LinkError("timeout", f"timeout: no answer from {where} within {timeout:g} s")
    if isinstance(exc, ssl.SSLError):
        known = _tls_text(str(exc))
        if known:
            return known
        if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return LinkError(
                "tls_failed",
                "TLS handshake failed: the broker closed the connection during the handshake "
                "(plain MQTT port, or it rejected our certificate)",
            )
        return LinkError("tls_failed", f"TLS handshake failed: {exc.reason or exc}")
    if tls and isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return LinkError(
            "tls_failed",
            "TLS handshake failed: the broker reset the connection during the handshake "
            "(plain MQTT port?)",
        )
    if isinstance(exc, OSError):
        return LinkError("network_error", f"network error reaching {where}: {exc.strerror or exc}")
    return LinkError("network_error", f"cannot connect to {where}: {exc}")


def classify_connack(reason: Any) -> LinkError:
    """A refused CONNACK (paho ReasonCode; MQTT 3.1.1 codes are mapped to v5 values)."""
    value = int(getattr(reason, "value", reason))
    if value in (4, 5, 134, 135):
        detail = "bad username or password" if value in (4, 134) else "bad username or password?"
        return LinkError("not_authorized", f"not authorized by the broker ({detail}): {reason}")
    if value == 140:
        return LinkError("not_authorized", f"not authorized: bad authentication method ({reason})")
    return LinkError("broker_error", f"broker refused the connection: {reason}")


def classify_lost(
    last_log: str | None,
    where: str,
    tls: bool,
    *,
    before_connack: bool,
    handshake_done: bool = False,
    has_cert: bool = False,
) -> LinkError:
    """The connection closed; `last_log` is paho's last error line (it holds TLS alerts)."""
    if last_log:
        known = _tls_text(last_log)
        if known:
            return known
    if before_connack:
        if tls and handshake_done:
            # The handshake succeeded, so this is a TLS port: with TLS 1.3 a broker that
            # wants a client certificate says so only after the handshake.
            if has_cert:
                return LinkError(
                    "not_authorized",
                    f"not authorized: {where} closed the connection after the TLS handshake "
                    "(client certificate rejected?)",
                )
            return LinkError(
                "not_authorized",
                "not authorized: the broker requires a client certificate "
                "(set [uplink] cert_file and key_file)",
            )
        if tls:
            return LinkError(
                "tls_failed",
                f"TLS handshake failed: {where} closed the connection before answering "
                "(plain MQTT port, or it rejected our certificate)",
            )
        return LinkError(
            "connection_lost",
            f"{where} closed the connection before answering CONNECT "
            "(not an MQTT port, or a TLS-only port: use mqtts://)",
        )
    detail = f" ({last_log})" if last_log else ""
    return LinkError("connection_lost", f"connection to {where} lost{detail}")
