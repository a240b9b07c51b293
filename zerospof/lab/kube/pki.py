"""The lab's Kubernetes PKI and kubeconfigs: a CA, the API servers' serving certificate, one client certificate
per identity (admin, scheduler, controller-manager, each node) and the service-account signing key.

ECDSA P-256 keys (a few milliseconds each, where RSA 2048 takes ~100 ms on a busy core). Certificates are valid
for 30 days: the lab is rebuilt on every ``zerospof lab up``. Pure file writing; nothing here starts anything.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CONTEXT", "ClientIdentity", "new_key", "pem", "pki_paths", "sign", "write_key", "write_kubeconfig",
           "write_pki"]

CONTEXT = "zerospof-lab"
ClientIdentity = tuple[str, str, tuple[str, ...]]  # (file stem, user name, groups)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def sign(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool = False, usage: list[x509.ObjectIdentifier] | None = None,
          addresses: list[str] | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage or []), critical=False)
    if addresses:
        names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
        names += [x509.DNSName(n) for n in ("localhost", "kubernetes", "kubernetes.default",
                                             "kubernetes.default.svc")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def pki_paths(directory: Path, client_stems: list[str]) -> dict[str, Path]:
    """Where :func:`write_pki` puts each role's file (see there), without writing anything."""
    paths = {"ca": directory / "ca.crt", "ca_key": directory / "ca.key", "serving": directory / "apiserver.crt",
             "serving_key": directory / "apiserver.key", "sa_key": directory / "sa.key", "sa_pub": directory / "sa.pub"}
    for stem in client_stems:
        paths[stem], paths[f"{stem}_key"] = directory / f"{stem}.crt", directory / f"{stem}.key"
    return paths


def write_pki(directory: Path, server_addresses: list[str], clients: list[ClientIdentity]) -> dict[str, Path]:
    """Write the PKI into ``directory``; return paths by role.

    Roles: ``ca``, ``ca_key``, ``serving``/``serving_key`` (valid for every address in ``server_addresses``,
    the API servers' and the API LB's), ``sa_key``/``sa_pub``, and for each ``(stem, user, groups)`` of
    ``clients`` ``<stem>``/``<stem>_key`` (a client certificate, CN ``user``, O ``groups``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = pki_paths(directory, [stem for stem, _, _ in clients])
    ca_key = new_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zerospof-lab-ca")])
    paths["ca"].write_bytes(pem(sign(ca_name, ca_key, ca_name, ca_key, ca=True)))
    write_key(paths["ca_key"], ca_key)
    serving_key = new_key()
    serving_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    paths["serving"].write_bytes(pem(sign(serving_name, serving_key, ca_name, ca_key,
                                            usage=[ExtendedKeyUsageOID.SERVER_AUTH],
                                            addresses=[*server_addresses, "127.0.0.1"])))
    write_key(paths["serving_key"], serving_key)
    sa_key = new_key()
    write_key(paths["sa_key"], sa_key)
    paths["sa_pub"].write_bytes(sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                 serialization.PublicFormat.SubjectPublicKeyInfo))
    for stem, user, groups in clients:
        key = new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
                            + [x509.NameAttribute(NameOID.COMMON_NAME, user)])
        paths[stem].write_bytes(pem(sign(subject, key, ca_name, ca_key, usage=[ExtendedKeyUsageOID.CLIENT_AUTH])))
        write_key(paths[f"{stem}_key"], key)
    return paths


def write_kubeconfig(path: Path, server: str, pki: dict[str, Path], stem: str) -> Path:
    """Write a kubeconfig (context :data:`CONTEXT`) reaching ``server`` as the client ``stem`` of ``pki``."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT, "preferences": {},
        "clusters": [{"name": CONTEXT, "cluster": {"server": server, "certificate-authority": str(pki["ca"])}}],
        "users": [{"name": CONTEXT, "user": {"client-certificate": str(pki[stem]),
                                             "client-key": str(pki[f"{stem}_key"])}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT}}],
    }, sort_keys=False))
    path.chmod(0o600)
    return path
