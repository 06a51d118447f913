"""Hand-assembled X.509 certificates, for what python3-cryptography refuses to make.

A tiny DER encoder builds the TBSCertificate byte for byte (negative and 40-byte serials,
any string type with any bytes in a name, empty names, a validity that ends before it
starts, unknown critical extensions, SANs of any size); cryptography's EC key signs it
(ecdsa-with-SHA256). Everything is self-signed by KEY unless an issuer name is given.
"""

import base64
import datetime
import hashlib
import secrets

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

UTC = datetime.timezone.utc

# Universal tags of the string types a name may hold.
UTF8, PRINTABLE, T61, IA5, BMP, UNIVERSAL = 0x0C, 0x13, 0x14, 0x16, 0x1E, 0x1C
CN, O, OU, C = "2.5.4.3", "2.5.4.10", "2.5.4.11", "2.5.4.6"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"
SAN, BASIC_CONSTRAINTS = "2.5.29.17", "2.5.29.19"

KEY = ec.generate_private_key(ec.SECP256R1())
SPKI = KEY.public_key().public_bytes(serialization.Encoding.DER,
                                     serialization.PublicFormat.SubjectPublicKeyInfo)


def _len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + _len(len(content)) + content


def seq(*items):
    return tlv(0x30, b"".join(items))


def set_of(*items):
    return tlv(0x31, b"".join(items))


def integer(v):
    """An INTEGER: an int (two's complement, minimal), or its content bytes as given."""
    if isinstance(v, bytes):
        return tlv(0x02, v)
    return tlv(0x02, v.to_bytes((v.bit_length() + 8) // 8, "big", signed=True))


def oid(dotted):
    p = [int(x) for x in dotted.split(".")]
    out = bytes([40 * p[0] + p[1]])
    for x in p[2:]:
        enc = [x & 0x7F]
        x >>= 7
        while x:
            enc.append(0x80 | (x & 0x7F))
            x >>= 7
        out += bytes(reversed(enc))
    return tlv(0x06, out)


def name(*attrs):
    """A Name of one RDN per (oid, string tag, value bytes or str); name() is empty."""
    return seq(*(set_of(seq(oid(o), tlv(t, v.encode() if isinstance(v, str) else v)))
                 for o, t, v in attrs))


def time(dt):
    """UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5)."""
    if 1950 <= dt.year < 2050:
        return tlv(0x17, dt.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, ("%04d" % dt.year + dt.strftime("%m%d%H%M%SZ")).encode())


def ext(dotted, value, critical=False):
    return seq(oid(dotted), *([tlv(0x01, b"\xff")] if critical else []), tlv(0x04, value))


def san_dns(names, critical=False):
    return ext(SAN, seq(*(tlv(0x82, n.encode() if isinstance(n, str) else n) for n in names)),
               critical)


def now():
    return datetime.datetime.now(UTC).replace(microsecond=0)


def build(serial=None, subject=None, issuer=None, start=None, end=None, extensions=None):
    """The DER of a v3 certificate signed by KEY. Defaults: a random positive serial,
    CN=odd.test, valid from yesterday for 90 days, a SAN of odd.test."""
    subject = subject if subject is not None else name((CN, UTF8, "odd.test"))
    start = start or now() - datetime.timedelta(days=1)
    end = end or start + datetime.timedelta(days=90)
    if extensions is None:
        extensions = [san_dns(["odd.test"])]
    alg = seq(oid(ECDSA_SHA256))
    tbs = seq(tlv(0xA0, integer(2)),
              integer(serial if serial is not None else secrets.randbits(120) | 1 << 120),
              alg, issuer if issuer is not None else subject,
              seq(time(start), time(end)), subject, SPKI,
              tlv(0xA3, seq(*extensions)) if extensions else b"")
    sig = KEY.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return seq(tbs, alg, tlv(0x03, b"\x00" + sig))


def pem(der):
    b = base64.b64encode(der).decode()
    return ("-----BEGIN CERTIFICATE-----\n"
            + "".join(b[i:i + 64] + "\n" for i in range(0, len(b), 64))
            + "-----END CERTIFICATE-----\n")


def fingerprint(der):
    return hashlib.sha256(der).hexdigest()
