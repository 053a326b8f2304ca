"""A TLS 1.3 server others can connect to: browsers, ``openssl s_client``, other agents.

References
----------
RFC 8446, The Transport Layer Security (TLS) Protocol Version 1.3.
RFC 9110, HTTP Semantics (the one-page HTTPS mode).
"""

from __future__ import annotations

from ..errors import InvalidInput
from . import certs, tls


def serve(
    *,
    groups: str | list[str] = "X25519MLKEM768:X25519",
    cert: str = "ecdsa-p256",
    host: str = "127.0.0.1",
    port: int = 0,
    https: bool = True,
    client_ca: str | None = None,
    timeout: float = 5.0,
) -> tls.LabServer:
    """Start a TLS 1.3 server in a background thread and return it (use ``with`` or ``.close()``).

    Parameters
    ----------
    groups : str or list of str
        Key-exchange groups the server accepts, in preference order.
    cert : str
        Certificate type (see :data:`labkit.pqc.certs.CERT_TYPES`), issued by a local CA.
        Its root is at ``server.chain.ca_file`` for clients to trust.
    host, port : str, int
        Where to listen; port 0 picks a free port. Only loopback is allowed.
    https : bool
        Answer HTTP requests with a page naming the negotiated group (for browsers);
        False speaks the lab protocol (``GET <n>`` -> n bytes).
    client_ca : str, optional
        PEM file of a CA whose client certificates are required (mutual TLS).

    Returns
    -------
    LabServer
        ``.url``, ``.port``, ``.chain`` and ``.log`` (one dict per connection: group, cipher, error).

    >>> with serve(groups="X25519MLKEM768") as server:
    ...     server.url.startswith("https://127.0.0.1:")
    True
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise InvalidInput(f"serve listens on loopback only (127.0.0.1), not {host!r}.")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidInput(f"port must be an integer from 0 to 65535, not {port!r}.")
    chain = certs.issue(cert)
    ctx = tls.server_context(chain, tls.check_groups(groups), client_ca=client_ca)
    server = tls.LabServer(
        ctx, host="127.0.0.1" if host == "localhost" else host, port=port, https=https, timeout=timeout
    )
    server.chain = chain
    return server
