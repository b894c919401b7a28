"""TLS material of the emulator: a lab CA and a loopback server certificate.

    paths = ensure_certificates(lab_dir)   # {"ca": .../ca.pem, "cert": .../tls.crt, "key": .../tls.key}

Clients trust `ca.pem` only. The CA's private key is never written: when the leaf is
missing, expired, about to expire or not issued by `ca.pem`, both are made anew.
The certificates pass OpenSSL's X509_STRICT checks (what Python 3.13 enables by
default): critical basic constraints, key usages, subject and authority key ids.
"""

import datetime
import ipaddress
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"
VALIDITY = datetime.timedelta(days=90)
RENEW_BEFORE = datetime.timedelta(days=1)
DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1", "::1")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vmservice.restore lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _serial():
    return int.from_bytes(secrets.token_bytes(16), "big") >> 2  # positive, < 2**126


def make_ca(now=None):
    """(certificate, private key) of a new self-signed lab CA."""
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("vmservice.restore lab supervisor CA")
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(_serial())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_leaf(ca_cert, ca_key, now=None):
    """(certificate, private key) for localhost/127.0.0.1/::1 issued by the CA."""
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName(n) for n in DNS_NAMES] + [x509.IPAddress(ipaddress.ip_address(a)) for a in IP_ADDRESSES]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder()
            .subject_name(_name("localhost")).issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(_serial())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(min(now + VALIDITY, ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path, data, mode):
    tmp = path.with_name(".tmp-" + path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def paths(lab_dir):
    lab_dir = Path(lab_dir)
    return {"ca": lab_dir / CA_FILE, "cert": lab_dir / CERT_FILE, "key": lab_dir / KEY_FILE}


def is_valid(lab_dir, now=None):
    """True when ca.pem, tls.crt and tls.key exist, match and stay valid for a day."""
    now = now or _now()
    files = paths(lab_dir)
    try:
        ca = x509.load_pem_x509_certificate(files["ca"].read_bytes())
        leaf = x509.load_pem_x509_certificates(files["cert"].read_bytes())[0]
        key = serialization.load_pem_private_key(files["key"].read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    same_key = (key.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
                == leaf.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    fresh = all(c.not_valid_before_utc <= now and now + RENEW_BEFORE < c.not_valid_after_utc for c in (ca, leaf))
    return same_key and fresh


def ensure_certificates(lab_dir):
    """Reuse the lab's CA and server certificate when valid, else make and write both."""
    lab_dir = Path(lab_dir)
    lab_dir.mkdir(parents=True, exist_ok=True)
    files = paths(lab_dir)
    if is_valid(lab_dir):
        return files
    ca_cert, ca_key = make_ca()
    leaf, key = make_leaf(ca_cert, ca_key)
    _write(files["key"], key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()), 0o600)
    _write(files["cert"], _pem(leaf) + _pem(ca_cert), 0o644)
    _write(files["ca"], _pem(ca_cert), 0o644)
    return files
