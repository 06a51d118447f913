"""Helpers for the webhook tests (test_webhooks.py, test_authz_matrix.py): certificates that
make events, the settings a binary knows, waiting for deliveries.

The events come from the certificate inventory (API.md 7.1, 7.2): importing a certificate
whose validityEnd has passed makes one certificate.expired event. Where the binary has no
certificates resource yet, the tests that need events are skipped (`need_certificates`).
"""

import datetime
import subprocess

import pytest

import kwtest
from kwtest import KEYWARD_BIN, rand

SECRET = "whsec-0123456789abcdef"


def known_settings():
    """The setting names `keyward config` prints."""
    out = subprocess.run([str(KEYWARD_BIN), "config"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split("=")[0].strip() for line in out.splitlines()
            if "=" in line and not line.startswith("#")}


def delivery_config(**extra):
    """A server config with quick retries (and a quick monitor sweep where there is one)."""
    c = {"webhook_retry_delay": "1s", "webhook_max_attempts": 3, "webhook_timeout": "3s",
         "login_failures_per_address_max": 0}
    if "monitor_interval" in known_settings():
        c["monitor_interval"] = "1s"
    c.update(extra)
    return c


def need_certificates(client):
    """Skip the test when the server has no certificates resource (no event source yet)."""
    r = client.get("/certificates", ns="/")
    if r.status == 404:
        pytest.skip("no /certificates resource in this build: the webhook events' source "
                    "(API.md 7.1) has not landed")


def expired_certificate(cn=None, days_ago=2, ends_in=None):
    """A self-signed certificate whose validity ended `days_ago` days ago, or ends in
    `ends_in` seconds when given: (PEM, DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cn = cn or ("expired-%s.example" % rand(6))
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=days_ago + 30))
            .not_valid_after(now + datetime.timedelta(seconds=ends_in) if ends_in is not None
                             else now - datetime.timedelta(days=days_ago))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            cert.public_bytes(serialization.Encoding.DER))


def import_expired(client, ns, **kw):
    """Import a new expired certificate into `ns`; returns the certificate object."""
    pem, _ = expired_certificate(**kw)
    return client.ok(client.post("/certificates", {"certificate": pem}, ns=ns))


def webhook_body(url, events=("certificate.expired",), **attrs):
    body = {"name": "w" + rand(8), "url": url, "events": list(events), "secret": SECRET}
    body.update(attrs)
    return body


def wait_for(pred, timeout=20.0, step=0.1):
    """kwtest.wait_for with a delivery's longer default (retries, back-off)."""
    return kwtest.wait_for(pred, timeout, step)


def deliveries(client, ns, q=None):
    params = {"q": q} if q else None
    return client.ok(client.get("/webhookdeliveries", ns=ns, params=params))


def wait_delivery(client, ns, pred, q=None, timeout=30.0):
    """The first delivery of `ns` for which pred() holds, within `timeout`; fails otherwise."""
    got = wait_for(lambda: [d for d in deliveries(client, ns, q) if pred(d)], timeout)
    assert got, "no delivery as wanted in %s: %r" % (ns, deliveries(client, ns, q))
    return got[0]
