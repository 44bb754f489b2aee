"""HTTPS for the stand-in: a certificate authority the suite makes, named to the partner so the
application can trust it, and a certificate for localhost and 127.0.0.1 that it signs.

The authority is made once per user on this machine and kept (key and certificate, in a folder
only this user can read, in the user's cache: $XDG_CACHE_HOME or ~/.cache, not the temporary folder,
which is emptied and shared), so an application configured to trust it keeps working from run to
run; the server certificate is made afresh for each run, and its key is written only for as long as
the TLS context takes to read it. A test authority: it protects nothing beyond the loopback runs of
this suite."""

import base64
import datetime
import hashlib
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def authority_folder() -> Path:
    """Where the authority is kept: the user's cache (the XDG base directory specification)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "visma-connect-suite" / "appside-ca"


CA_NAME = "Visma Connect stand-in test CA (conformance suite)"


# The authority of the stand-in's second certificate (APPC-33): made in memory for one run, trusted by nobody
UNTRUSTED_CA_NAME = "Untrusted test CA (conformance suite, APPC-33)"


@dataclass(frozen=True)
class StandInTls:
    ca_path: Path  # what the application trusts
    context: ssl.SSLContext  # what the stand-in serves with
    spki_sha256: str  # base64 SHA-256 of the server key: the one certificate Chromium may accept
    # the same key and names, signed by an authority nobody trusts (RFC 6749 section 10.9: APPC-33), presented
    # to the application's connections only (the browser's keep `context`: appside.steps.server_certificate)
    untrusted: ssl.SSLContext


def stand_in_tls() -> StandInTls:
    ca_key, ca_cert, ca_path = _authority()
    key = ec.generate_private_key(ec.SECP256R1())
    untrusted_key = ec.generate_private_key(ec.SECP256R1())
    untrusted_ca = _ca_certificate(untrusted_key, UNTRUSTED_CA_NAME, days=2)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return StandInTls(
        ca_path,
        _server_context(key, ca_key, ca_cert),
        base64.b64encode(hashlib.sha256(spki).digest()).decode(),
        _server_context(key, untrusted_key, untrusted_ca),
    )


def _server_context(key, ca_key, ca_cert: x509.Certificate) -> ssl.SSLContext:
    """A TLS server context with a certificate for localhost and 127.0.0.1 of `key`, signed by the authority."""
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # no session tickets: a client that resumed a session would skip the certificate, and APPC-33's evidence
    # (a new connection meets the untrusted certificate) would be a session it validated before
    context.num_tickets = 0
    context.options |= ssl.OP_NO_TICKET
    # ssl reads a key from files only: written into a folder of this run's alone (mode 0700), gone once read
    with tempfile.TemporaryDirectory(prefix="appside-tls-") as run_folder:
        chain, key_path = Path(run_folder) / "server.pem", Path(run_folder) / "server-key.pem"
        chain.write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
        )
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context.load_cert_chain(chain, key_path)
    return context


def _ca_certificate(key, name: str, days: int) -> x509.Certificate:
    """A self-signed authority certificate of `key`."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .sign(key, hashes.SHA256())
    )


def _authority():
    folder = authority_folder()
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o077:
        raise OSError(f"{folder} is not this user's alone; remove it")
    key_path, ca_path = folder / "stand-in-ca-key.pem", folder / "stand-in-ca.pem"
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        certificate = x509.load_pem_x509_certificate(ca_path.read_bytes())
        if certificate.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7):
            return key, certificate, ca_path
    except (OSError, ValueError):
        pass  # none yet, unreadable or about to expire: make a new one
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _ca_certificate(key, CA_NAME, days=365)
    for path, data in (
        (
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        ),
        (ca_path, certificate.public_bytes(serialization.Encoding.PEM)),
    ):
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(data)
        os.chmod(partial, 0o600)
        os.replace(partial, path)  # atomic: a run reading it at the same time sees all or nothing
    return key, certificate, ca_path
