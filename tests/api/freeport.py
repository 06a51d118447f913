"""Free TCP ports for the test servers (kwtest, discoverytest, tests/pg/pgctl.sh).

The API suite's passes may run side by side (tests/run-passes.sh). A port found free by
binding port 0 is in the kernel's ephemeral range, so another pass may be handed the same
one before the first server binds it. With KEYWARD_TEST_PORTS=LO-HI (run-passes.sh gives
each pass its own range, below the ephemeral range), ports come from that range only, and a
process never hands the same one out twice in a row. Run as a script (tests/pg/pgctl.sh: a
cluster keeps its port across restarts) it prints one port from the range's last CLUSTER
ports, which the tests' own calls never take: a port is not handed to a server while the
cluster that owns it is down.
"""

import os
import random
import socket

_handed = set()
CLUSTER = 100  # the range's last ports: for the PostgreSQL clusters (pgctl.sh)


def _range():
    spec = os.environ.get("KEYWARD_TEST_PORTS", "")
    if not spec:
        return None
    lo, hi = (int(x) for x in spec.split("-"))
    assert 1024 <= lo < hi <= 65535, "KEYWARD_TEST_PORTS=%s" % spec
    return lo, hi


def _bindable(address, port):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError:
            return None
        return s.getsockname()[1]


def free_port(address="127.0.0.1", cluster=False):
    """A TCP port nothing listens on at `address` just now (`cluster`: for pgctl.sh)."""
    rng = _range()
    if rng is None:
        return _bindable(address, 0)
    lo, hi = rng
    lo, hi = (hi - CLUSTER, hi) if cluster else (lo, hi - CLUSTER)
    if len(_handed) > (hi - lo) // 2:
        _handed.clear()  # the oldest were bound long ago, or given up
    for _ in range(1000):
        port = random.randrange(lo, hi)
        if port not in _handed and _bindable(address, port):
            _handed.add(port)
            return port
    raise RuntimeError("no free port in KEYWARD_TEST_PORTS=%s-%s" % rng)


if __name__ == "__main__":
    print(free_port(cluster=True))
