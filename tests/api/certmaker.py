"""Real X.509 certificates for the inventory tests, made with python3-cryptography.

make_cert() signs a certificate with an issuer (or itself) and returns a Cert holding the
certificate, its key, PEM and DER. Every knob the inventory reads is a parameter.
"""

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.timezone.utc


class Cert:
    def __init__(self, cert, key):
        self.cert = cert
        self.key = key

    @property
    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def der(self):
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def fingerprint(self):
        return self.cert.fingerprint(hashes.SHA256()).hex()

    def key_pem(self):
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()


def new_key(kind="EC_P256"):
    if kind == "EC_P256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "EC_P384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ED25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind.startswith("RSA_"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
    raise ValueError(kind)


def now():
    return datetime.datetime.now(UTC).replace(microsecond=0)


def name(cn, o=None, ou=None, c=None):
    attrs = []
    if c:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, c))
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    if cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def make_cert(cn="leaf.example.com", issuer=None, key="EC_P256", ca=False, days=90,
              start=None, end=None, dns=None, ips=None, o=None, serial=None, hash_alg=None,
              path_length=None, eku=("serverAuth",)):
    """A certificate for `cn`, signed by issuer (a Cert) or self-signed."""
    k = new_key(key) if isinstance(key, str) else key
    start = start or (now() - datetime.timedelta(days=1))
    end = end or (start + datetime.timedelta(days=days))
    subject = name(cn, o=o)
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer.cert.subject if issuer else subject)
         .public_key(k.public_key())
         .serial_number(serial if serial is not None else x509.random_serial_number())
         .not_valid_before(start)
         .not_valid_after(end))
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), False)
    signer = issuer.key if issuer else k
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
        signer.public_key()), False)
    b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                        True)
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False,
                                          False), True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                          False, False), True)
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage(
                [getattr(ExtendedKeyUsageOID, {"serverAuth": "SERVER_AUTH",
                                               "clientAuth": "CLIENT_AUTH"}[e]) for e in eku]),
                False)
    sans = [x509.DNSName(d) for d in (dns or [])]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in (ips or [])]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), False)
    if isinstance(signer, ed25519.Ed25519PrivateKey):
        alg = None
    else:
        alg = hash_alg or hashes.SHA256()
    return Cert(b.sign(signer, alg), k)


def chain(depth=3, leaf_days=90, **leaf):
    """[leaf, intermediate..., root]"""
    root = make_cert("Test Root CA", ca=True, days=3650)
    certs = [root]
    for i in range(depth - 2):
        certs.append(make_cert("Test Intermediate %d" % i, issuer=certs[-1], ca=True,
                               days=1825))
    certs.append(make_cert(issuer=certs[-1], days=leaf_days, **leaf))
    return list(reversed(certs))
