"""The Runtime API's owner check asks the kernel about one socket (sock_diag) instead of reading /proc/net/tcp."""

from __future__ import annotations

import os
import socket
import time

from kindling.invoke import sockdiag


def test_the_kernel_names_the_uid_behind_a_loopback_connection() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::ffff:127.0.0.1")):
            child = os.fork()
            if child == 0:  # a client of another uid, as a sandboxed runtime is (the JVM's socket is IPv6)
                os.setresuid(61999, 61999, 61999)
                client = socket.socket(family)
                client.connect((host, server.getsockname()[1]))
                time.sleep(5)
                os._exit(0)
            accepted, peer = server.accept()
            try:
                found = [sockdiag.owner(peer, accepted.getsockname(), f) for f in (socket.AF_INET, socket.AF_INET6)]
                assert 61999 in found and set(found) <= {61999, None}
                assert sockdiag.owner(peer, ("127.0.0.1", 1), socket.AF_INET) is None
            finally:
                accepted.close()
                os.kill(child, 9)
                os.waitpid(child, 0)
