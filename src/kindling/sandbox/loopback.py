"""The one way out of a sandbox without network: Kindling's endpoint, at the same address as everywhere.

Runs inside the fork server (standard library only), in an environment cloned into an empty network
namespace. As root it brings the namespace's loopback up and listens on ``127.0.0.1:PORT`` (the server's
port, so ``AWS_ENDPOINT_URL`` is the same with and without network); once privileges are dropped it forks
a forwarder that pipes each connection to the server's Unix socket, bound into the sandbox, and each UDP
datagram to the same port (the X-Ray daemon's, ``AWS_XRAY_DAEMON_ADDRESS``) to the server's Unix datagram
socket. Nothing else is reachable: the namespace has no other interface and no route.

A function given an egress allowlist (``--egress``) also has each allowed network made local in its namespace
(an alias of ``lo``) and each allowed port listened on: a connection to an allowed address and port lands in
the forwarder, which hands it, with the address it was meant for, to the server's egress socket for that
allowlist (``egress.py``), where the rules are enforced again and the real connection made. Any other
address still has no route.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import struct
import threading

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFREQ = "16sh22x"  # struct ifreq: the name, then ifr_flags in the union (40 bytes in all)
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891C
IFADDR = "16sH2x4s16x"  # struct ifreq: the name, then a sockaddr_in (family, port, address) in the union
PR_SET_PDEATHSIG = 1
CHUNK = 1 << 16


def listen(port: int) -> socket.socket:
    """As root in the new network namespace: ``lo`` up, and the endpoint's port listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        name, flags = struct.unpack(IFREQ, fcntl.ioctl(control, SIOCGIFFLAGS, struct.pack(IFREQ, b"lo", 0)))
        fcntl.ioctl(control, SIOCSIFFLAGS, struct.pack(IFREQ, name, flags | IFF_UP))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    return listener


def listen_datagrams(port: int) -> socket.socket:
    """As root in the new network namespace, after ``listen``: the daemon's UDP port on the same number."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", port))
    return receiver


def listen_egress(rules: list[list]) -> list[socket.socket]:
    """As root in the new network namespace, after ``listen``: the allowed networks local, their ports listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        for index, cidr in enumerate(sorted({cidr for cidr, _ in rules}), 1):
            address, prefix = cidr.split("/")
            name = f"lo:{index}".encode()
            mask = struct.pack("!I", (0xFFFFFFFF << (32 - int(prefix))) & 0xFFFFFFFF)
            fcntl.ioctl(control, SIOCSIFADDR, struct.pack(IFADDR, name, socket.AF_INET, socket.inet_aton(address)))
            fcntl.ioctl(control, SIOCSIFNETMASK, struct.pack(IFADDR, name, socket.AF_INET, mask))
    listeners = []
    for port in sorted({port for _, port in rules}):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", port))
        listener.listen(128)
        listeners.append(listener)
    return listeners


def forward(
    listener: socket.socket,
    target: str,
    libc: object,
    datagrams: socket.socket | None = None,
    datagram_target: str = "",
    egress: tuple[list[socket.socket], str] = ([], ""),
) -> None:
    """Fork the forwarder (it dies with the runtime); the runtime keeps no copy of the listeners."""
    egress_listeners, egress_target = egress
    if os.fork():
        for sock in (listener, datagrams, *egress_listeners):
            if sock is not None:
                sock.close()
        return
    code = 0
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # type: ignore[attr-defined]
        last = 0
        for keep in sorted(sock.fileno() for sock in (listener, datagrams, *egress_listeners) if sock is not None):
            os.closerange(last, keep)
            last = keep + 1
        os.closerange(last, 4096)
        if datagrams is not None:
            threading.Thread(target=_relay, args=(datagrams, datagram_target), daemon=True).start()
        for outward in egress_listeners:
            threading.Thread(target=_accept, args=(outward, egress_target, True), daemon=True).start()
        _accept(listener, target, False)
    except BaseException:
        code = 70
    os._exit(code)


def _accept(listener: socket.socket, target: str, tell_destination: bool) -> None:
    while True:
        conn, _ = listener.accept()
        header = b""
        if tell_destination:  # the address the connection was meant for: the server's egress proxy decides
            address, port = conn.getsockname()[:2]
            header = f"{address} {port}\n".encode()
        threading.Thread(target=_connect, args=(conn, target, header), daemon=True).start()


def _relay(receiver: socket.socket, target: str) -> None:
    """Each datagram as it came, to the server's datagram socket (lost if the server is not there, as UDP)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        while True:
            data = receiver.recv(CHUNK)
            with contextlib.suppress(OSError):
                sender.sendto(data, target)


def _connect(conn: socket.socket, target: str, header: bytes = b"") -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(target)
        upstream.sendall(header)
    except OSError:
        conn.close()
        upstream.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
    back.start()
    _pump(conn, upstream)
    back.join()
    conn.close()
    upstream.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """One direction, until its end: then the other side learns it (half-close), as over a direct connection."""
    with contextlib.suppress(OSError):
        while data := source.recv(CHUNK):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
