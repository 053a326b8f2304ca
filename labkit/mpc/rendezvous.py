"""Where the parties meet: the torch.distributed rendezvous address, checked before any party starts.

Party 0 listens on ``host:port``; every other party connects there (gloo
backend, TCP initialisation). On party 0's machine :func:`check_rendezvous`
resolves the host and checks that party 0 can listen on the port; on any
other machine :func:`resolve` only resolves it and :func:`probe` waits until
party 0 answers there, failing at once when its host cannot be reached. So a
bad address is an error naming what to change rather than a hang.

gloo advertises, for its own connections between the parties, the address of
one network interface: the one the host name resolves to unless
``GLOO_SOCKET_IFNAME`` names another. :func:`route` finds the interface whose
address this machine sends from towards party 0 (the loopback interface for
a local run), and :func:`gloo_environment` pins gloo to it, so the user gives
party 0's address and port and nothing else.

References
----------
PyTorch documentation, "Distributed communication package - torch.distributed"
(gloo backend, TCP initialisation, ``GLOO_SOCKET_IFNAME``).
Stevens, Fenner & Rudoff, "UNIX Network Programming", vol. 1, 3rd ed. (2003),
section 8.11: ``connect`` on a UDP socket picks the route and the local
address without sending anything.
"""

from __future__ import annotations

import errno
import os
import socket
import time

from .. import validate
from ..errors import InvalidInput, LabkitError


class RendezvousError(LabkitError):
    """The rendezvous address cannot be used (port in use, unknown host, not this machine's)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def resolve(host: str) -> str:
    """The IPv4 address of ``host`` (a name or an address), without checking anything else.

    >>> resolve("127.0.0.1")
    '127.0.0.1'
    """
    if not isinstance(host, str) or not host:
        raise InvalidInput(f"host must be a host name or IP address, not {host!r}.")
    try:
        return socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as exc:
        raise RendezvousError(f"cannot resolve the rendezvous host {host!r} ({exc}); give an IP address.") from None


def check_rendezvous(host: str, port: int | None) -> tuple[str, int]:
    """Resolve ``host`` and check that party 0 can listen on ``port`` here (party 0's machine only).

    Parameters
    ----------
    host : str
        Host name or IP address of party 0.
    port : int or None
        The port party 0 listens on; None picks a free one.

    Returns
    -------
    (str, int)
        The resolved IPv4 address and the port.

    Raises
    ------
    RendezvousError
        With what to change: an unknown host name, an address that is not one
        of this machine's (party 0 must run on the rendezvous host), or a port
        already in use.
    """
    if port is not None:
        port = validate.integer("port", port, low=1, high=65535)
    address = resolve(host)
    if port is None:
        try:
            return address, free_port(address)
        except OSError as exc:
            raise RendezvousError(_bind_message(host, 0, exc)) from None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as torch's store does: connections of a finished run (TIME_WAIT) do not make the port busy
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as exc:
            raise RendezvousError(_bind_message(host, port, exc)) from None
    return address, port


def _bind_message(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use; pass another port, or port=None to pick a free one."
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{host} is not an address of this machine, so party 0 cannot host the rendezvous here; "
            "run party 0 on that host, or use host='127.0.0.1' for a local run."
        )
    return f"cannot listen on {host}:{port} for the rendezvous: {exc}."


def route(address: str) -> tuple[str, str | None]:
    """The local address this machine sends from towards ``address``, and the interface holding it.

    A UDP socket is connected to ``address`` (the kernel picks the route and
    the source address; no packet is sent), then the interface with that
    source address is looked up. For one of this machine's own addresses
    the source is that address itself, so party 0 gets the interface it
    listens on.

    Returns
    -------
    (str, str or None)
        The source address and the interface name (None if no interface holds
        the address, e.g. behind some tunnels: gloo then picks one itself).

    Raises
    ------
    OSError
        No route to ``address`` from this machine (``ENETUNREACH``).

    >>> route("127.0.0.1")[0]
    '127.0.0.1'
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((address, 9))  # any port: a UDP connect only chooses the route
        source = s.getsockname()[0]
    import psutil

    for name, addresses in psutil.net_if_addrs().items():
        if any(a.family == socket.AF_INET and a.address == source for a in addresses):
            return source, name
    return source, None


def probe(address: str, port: int, *, deadline: float, interval: float = 0.2) -> str | None:
    """Wait until party 0's rendezvous at ``address:port`` accepts a TCP connection.

    Returns None as soon as it does. A host that cannot be reached (no route,
    or no machine answers at that address) ends the wait at once; a host that
    refuses the port (party 0 not started yet) or does not answer (a firewall
    dropping the packets) is retried until ``deadline`` (a ``time.time()``).

    Returns
    -------
    str or None
        None when party 0 answered; otherwise why not, as a sentence that says
        what to check.
    """
    why = None
    while True:
        left = deadline - time.time()
        if left <= 0:
            return why or f"no answer from {address}:{port}"
        try:
            with socket.create_connection((address, port), timeout=min(5.0, max(0.05, left))):
                return None
        except OSError as exc:
            code = exc.errno
            if code in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL):
                return (
                    f"{address} cannot be reached from this machine ({os.strerror(code)}); "
                    "check party 0's address and the network between the hosts"
                )
            if code == errno.ECONNREFUSED:
                why = (
                    f"{address} answers but nothing listens on port {port}: start party 0 there with the "
                    "same port, or check the port"
                )
            else:  # a timeout: the packets are dropped on the way (a firewall?) or the host is down
                why = f"no answer from {address}:{port} (is a firewall dropping the port, or is the host down?)"
        time.sleep(min(interval, max(0.0, deadline - time.time())))


def gloo_environment(interface: str | None) -> dict[str, str]:
    """Environment variables that pin gloo to ``interface`` (the one reaching party 0; see :func:`route`).

    A ``GLOO_SOCKET_IFNAME`` already set by the user wins; with no interface
    nothing is set and gloo picks one itself.
    """
    chosen = os.environ.get("GLOO_SOCKET_IFNAME") or interface
    return {"GLOO_SOCKET_IFNAME": chosen} if chosen else {}


def rendezvous_environment(
    rank: int, parties: int, address: str, port: int, threads: int, interface: str | None
) -> dict[str, str]:
    """The torch.distributed variables a party process starts with (rank, world size, rendezvous URL, interface)."""
    return {
        "RANK": str(rank),
        "WORLD_SIZE": str(parties),
        "DISTRIBUTED_BACKEND": "gloo",
        "RENDEZVOUS": f"tcp://{address}:{port}",
        "OMP_NUM_THREADS": str(threads),
        "PYTHONUNBUFFERED": "1",
        **gloo_environment(interface),
    }


__all__ = [
    "RendezvousError",
    "check_rendezvous",
    "free_port",
    "gloo_environment",
    "probe",
    "rendezvous_environment",
    "resolve",
    "route",
]
