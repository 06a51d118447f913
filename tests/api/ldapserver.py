"""A throw-away OpenLDAP server for the LDAP realm tests.

`Slapd(workdir).start()` generates a CA and a server certificate for 127.0.0.1 with the
openssl command, writes a slapd.conf and an mdb database under `workdir`, loads a few users
with slapadd and starts Debian's slapd in the foreground on two free loopback ports: one for
ldap:// (plain and StartTLS), one for ldaps://. `stop()` ends it. Nothing outside `workdir`
is touched; a system slapd, if any, is ignored.

Needs the `slapd` and `ldap-utils` packages (scripts/deps.sh test).
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from kwtest import free_port

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SLAPPASSWD = shutil.which("slappasswd") or "/usr/sbin/slappasswd"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

SUFFIX = "dc=example,dc=com"
PEOPLE = "ou=people," + SUFFIX
READER_DN = "cn=reader," + SUFFIX
READER_PW = "reader-Passw0rd-7"

# uid -> (password or None, extra attribute lines)
USERS = {
    "alice": ("alice-Passw0rd-1", ["cn: Alice Liddell", "sn: Liddell",
                                   "mail: alice@example.com", "ou: Engineering"]),
    "bob": ("bob-Passw0rd-2", ["cn: Bob Builder", "sn: Builder", "mail: bob@example.com",
                               "ou: Engineering", "ou: Ops", "employeeNumber: 42"]),
    "carol": (None, ["cn: Carol NoPassword", "sn: NoPassword", "ou: Sales"]),
    "we(ir)d*": ("weird-Passw0rd-3", ["cn: Weird Name", "sn: Name", "ou: Research"]),
    # An entry too large for a token: a binary photo (not UTF-8) and long descriptions.
    "dave": ("dave-Passw0rd-4", ["cn: Dave Large", "sn: Large", "ou: Archive",
                                 "jpegPhoto:: /9j/4AAQSkZJRgABAQ=="] +
             ["description: d%d-%s" % (i, "x" * 900) for i in range(8)]),
}


def available():
    return all(os.path.exists(p) for p in (SLAPD, SLAPADD, SLAPPASSWD))


def _run(cmd, **kw):
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (cmd[0], r.returncode,
                                                    r.stdout.decode(errors="replace")))
    return r.stdout.decode()


def make_ca(d, name):
    """A self-signed EC CA in d/<name>.pem with its key in d/<name>.key."""
    _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-nodes", "-keyout", str(d / (name + ".key")), "-out", str(d / (name + ".pem")),
          "-days", "2", "-subj", "/CN=Keyward test %s" % name,
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    return d / (name + ".pem")


def make_server_cert(d, ca):
    """A server certificate for IP 127.0.0.1 signed by CA `ca` (d/ca.pem + d/ca.key)."""
    ext = d / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    _run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-nodes", "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"),
          "-subj", "/CN=127.0.0.1"])
    _run(["openssl", "x509", "-req", "-in", str(d / "server.csr"), "-CA", str(ca),
          "-CAkey", str(ca.with_suffix(".key")), "-CAcreateserial", "-days", "2",
          "-out", str(d / "server.pem"), "-extfile", str(ext)])


def _ldif(hashes):
    out = ["dn: %s" % SUFFIX, "objectClass: dcObject", "objectClass: organization",
           "o: Example", "dc: example", "",
           "dn: %s" % PEOPLE, "objectClass: organizationalUnit", "ou: people", "",
           "dn: %s" % READER_DN, "objectClass: organizationalRole",
           "objectClass: simpleSecurityObject", "cn: reader",
           "userPassword: %s" % hashes[READER_DN], ""]
    for uid, (pw, attrs) in USERS.items():
        out += ["dn: uid=%s,%s" % (uid, PEOPLE), "objectClass: inetOrgPerson",
                "uid: %s" % uid] + attrs
        if pw is not None:
            out.append("userPassword: %s" % hashes[uid])
        out.append("")
    return "\n".join(out) + "\n"


def _conf(d):
    lines = ["include /etc/ldap/schema/%s.schema" % s for s in SCHEMAS]
    lines += [
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        "pidfile %s" % (d / "slapd.pid"),
        "argsfile %s" % (d / "slapd.args"),
        "TLSCACertificateFile %s" % (d / "ca.pem"),
        "TLSCertificateFile %s" % (d / "server.pem"),
        "TLSCertificateKeyFile %s" % (d / "server.key"),
        "TLSVerifyClient never",
        "database mdb",
        "maxsize 16777216",
        'suffix "%s"' % SUFFIX,
        'rootdn "cn=admin,%s"' % SUFFIX,
        "directory %s" % (d / "db"),
        # The service account may even read password hashes: the realm must still
        # never turn them into claims.
        "access to attrs=userPassword",
        '    by dn.exact="%s" read' % READER_DN,
        "    by anonymous auth",
        "    by * none",
        "access to *",
        '    by dn.exact="%s" read' % READER_DN,
        "    by self read",
        "    by anonymous auth",
        "    by * none",
    ]
    return "\n".join(lines) + "\n"


class Slapd:
    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.port = free_port()
        self.ldaps_port = free_port()
        self.proc = None
        self.ca = self.dir / "ca.pem"
        self.wrong_ca = self.dir / "wrong-ca.pem"
        self._prepared = False

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def ldaps_address(self):
        return "127.0.0.1:%d" % self.ldaps_port

    def ca_pem(self):
        return self.ca.read_text()

    def wrong_ca_pem(self):
        return self.wrong_ca.read_text()

    def prepare(self):
        d = self.dir
        d.mkdir(parents=True, exist_ok=True)
        make_ca(d, "ca")
        make_ca(d, "wrong-ca")
        make_server_cert(d, self.ca)
        (d / "db").mkdir(exist_ok=True)
        conf = d / "slapd.conf"
        conf.write_text(_conf(d))
        hashes = {READER_DN: _run([SLAPPASSWD, "-s", READER_PW]).strip()}
        for uid, (pw, _) in USERS.items():
            if pw is not None:
                hashes[uid] = _run([SLAPPASSWD, "-s", pw]).strip()
        (d / "data.ldif").write_text(_ldif(hashes))
        _run([SLAPADD, "-f", str(conf), "-l", str(d / "data.ldif")])
        self._prepared = True

    def start(self, timeout=30.0):
        if not self._prepared:
            self.prepare()
        urls = "ldap://127.0.0.1:%d/ ldaps://127.0.0.1:%d/" % (self.port, self.ldaps_port)
        self.log = open(self.dir / "slapd.log", "ab")
        # -d keeps slapd in the foreground, so the test owns the process.
        self.proc = subprocess.Popen([SLAPD, "-f", str(self.dir / "slapd.conf"), "-h", urls,
                                      "-d", "0"], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("slapd exited with %s: %s" % (
                    self.proc.returncode, (self.dir / "slapd.log").read_text(errors="replace")))
            if self._listening(self.port) and self._listening(self.ldaps_port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("slapd did not listen within %.0fs" % timeout)

    @staticmethod
    def _listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        self.log.close()
