"""Where the parties meet: the torch.distributed rendezvous address, checked before any party starts.

Party 0 listens on ``host:port``; every other party connects there (gloo
backend, TCP initialisation). :func:`check_rendezvous` resolves the host and
checks that party 0 can listen on the port here, so a bad address is an error
naming what to change rather than a hang. :func:`gloo_environment` gives the
variables that keep gloo's traffic on the interface that reaches party 0
(the loopback interface for a local run).

References
----------
PyTorch documentation, "Distributed communication package - torch.distributed"
(gloo backend, TCP initialisation, ``GLOO_SOCKET_IFNAME``).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys

from .. import validate
from ..errors import InvalidInput, LabkitError


class RendezvousError(LabkitError):
    """The rendezvous address cannot be used (port in use, unknown host, not this machine's)."""


def is_loopback(host: str) -> bool:
    """True for a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def check_rendezvous(host: str, port: int | None) -> tuple[str, int]:
    """Resolve ``host`` and check that rank 0 can listen on ``port`` here.

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
        of this machine's (rank 0 must run on the rendezvous host), or a port
        already in use.
    """
    if not isinstance(host, str) or not host:
        raise InvalidInput(f"host must be a host name or IP address, not {host!r}.")
    if port is not None:
        port = validate.integer("port", port, low=1, high=65535)
    try:
        address = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as exc:
        raise RendezvousError(f"cannot resolve the rendezvous host {host!r} ({exc}); give an IP address.") from None
    if port is None:
        try:
            return address, free_port(address)
        except OSError as exc:
            raise RendezvousError(_bind_message(host, 0, exc)) from None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
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


def gloo_environment(address: str) -> dict[str, str]:
    """Environment variables that pin gloo to the interface reaching party 0 at ``address``.

    For a loopback rendezvous: the loopback interface ("lo" on Linux, "lo0"
    elsewhere), unless ``GLOO_SOCKET_IFNAME`` is set already. For another
    address gloo picks the interface itself (nothing is set).
    """
    if is_loopback(address):
        return {"GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo" if sys.platform == "linux" else "lo0")}
    return {}


def rendezvous_environment(rank: int, parties: int, address: str, port: int, threads: int) -> dict[str, str]:
    """The torch.distributed variables a party process starts with (rank, world size, rendezvous URL)."""
    return {
        "RANK": str(rank),
        "WORLD_SIZE": str(parties),
        "DISTRIBUTED_BACKEND": "gloo",
        "RENDEZVOUS": f"tcp://{address}:{port}",
        "OMP_NUM_THREADS": str(threads),
        "PYTHONUNBUFFERED": "1",
        **gloo_environment(address),
    }


__all__ = [
    "RendezvousError",
    "check_rendezvous",
    "free_port",
    "gloo_environment",
    "is_loopback",
    "rendezvous_environment",
]
