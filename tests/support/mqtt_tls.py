"""TLS material and broker configs for uplink tests: a CA, a server certificate for
127.0.0.1/localhost, a client certificate, and a second (untrusted) CA, made with
`cryptography`; a mosquitto password file. Extends tests/support/mosquitto.py."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.mosquitto import Broker, free_port, start_mosquitto


@dataclass
class TlsFiles:
    """Paths of the generated PEM files."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing the broker uses


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _builder(
    cn: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, *, ca: bool
) -> x509.CertificateBuilder:
    """Subject, issuer, key, a fresh serial, valid from yesterday for 30 days."""
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )


def _ca(cn: str, path: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(cn, _name(cn), key, ca=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _leaf(
    cn: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    cert_path: Path,
    key_path: Path,
    *,
    server: bool,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(cn, ca_cert.subject, key, ca=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_path)


def make_tls_files(directory: Path) -> TlsFiles:
    """Generate the whole set into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        other_ca=directory / "other-ca.pem",
    )
    ca_key, ca_cert = _ca("edgetui test CA", files.ca)
    _leaf("127.0.0.1", ca_key, ca_cert, files.server_cert, files.server_key, server=True)
    _leaf("test-device", ca_key, ca_cert, files.client_cert, files.client_key, server=False)
    _ca("some other CA", files.other_ca)
    return files


def write_password_file(path: Path, user: str, password: str) -> Path:
    """A mosquitto password file (mosquitto_passwd when present, else the same format:
    `user:$7$iterations$salt$hash`, PBKDF2-SHA512)."""
    tool = shutil.which("mosquitto_passwd")
    if tool:
        path.unlink(missing_ok=True)
        subprocess.run([tool, "-b", "-c", str(path), user, password], check=True, timeout=30)
    else:
        salt = os.urandom(12)
        iterations = 101
        digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
        path.write_text(
            f"{user}:$7${iterations}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(digest).decode()}\n"
        )
    os.chmod(path, 0o600)
    return path


def start_tls_broker(
    tmp_path: Path,
    tls: TlsFiles,
    *,
    require_certificate: bool = False,
    password_file: Path | None = None,
    name: str = "mosquitto-tls",
) -> Broker:
    """A broker whose only listener is TLS (mqtts) on a free port."""
    port = free_port()
    conf = [
        f"listener {port} 127.0.0.1",
        f"cafile {tls.ca}",
        f"certfile {tls.server_cert}",
        f"keyfile {tls.server_key}",
        f"require_certificate {'true' if require_certificate else 'false'}",
    ]
    if password_file is not None:
        conf += ["allow_anonymous false", f"password_file {password_file}"]
    else:
        conf += ["allow_anonymous true"]
    return start_mosquitto(tmp_path, "\n".join(conf), port=port, listener=False, name=name)


def start_password_broker(
    tmp_path: Path, password_file: Path, name: str = "mosquitto-pw"
) -> Broker:
    """A plain-listener broker that requires a username and password."""
    port = free_port()
    conf = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous false",
        f"password_file {password_file}",
    ]
    return start_mosquitto(tmp_path, "\n".join(conf), port=port, listener=False, name=name)
