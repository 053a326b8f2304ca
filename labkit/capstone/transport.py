"""Clients upload their round messages to the server over post-quantum mutual TLS on real sockets.

The server is a :class:`labkit.pqc.tls.LabServer` (TLS 1.3 by the OpenSSL bundled
in pyca/cryptography, through pyOpenSSL) that speaks one more request: a client
sends ``PUT <n>\\n`` followed by n bytes, the server keeps them and answers
``OK``. Both sides offer only ``X25519MLKEM768`` (hybrid ML-KEM-768 key
exchange) and the server requires a client certificate from the lab CA. Nothing
here implements cryptography: the handshake, the record layer and the
certificate checks are OpenSSL's.

References
----------
RFC 8446, TLS 1.3; IETF draft-ietf-tls-ecdhe-mlkem (X25519MLKEM768).
NIST FIPS 203 (ML-KEM).
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import InvalidInput
from ..pqc import certs, tls

GROUP = "X25519MLKEM768"
MAX_UPLOAD = 16 * 1024 * 1024


class UploadServer(tls.LabServer):
    """A mutual-TLS server on 127.0.0.1 that stores what each connection uploads (``received``)."""

    def __init__(self, *, cert: str = "ecdsa-p256", groups: str = GROUP, timeout: float = 5.0):
        chain = certs.issue(cert)
        self.client_chain = certs.issue(cert, hostname="client.petlab.test", client=True)
        ctx = tls.server_context(chain, tls.check_groups(groups), client_ca=self.client_chain.ca_file)
        self.received: list[bytes] = []
        self._received_lock = threading.Lock()
        super().__init__(ctx, host="127.0.0.1", port=0, https=False, timeout=timeout)
        self.chain = chain  # LabServer's __init__ resets it

    def handle(self, conn, entry: dict[str, Any]) -> None:
        """``PUT <n>\\n`` then n bytes: keep them, answer ``OK``."""
        data = b""
        while b"\n" not in data and len(data) < 64:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\n")
        parts = head.split()
        if len(parts) != 2 or parts[0] != b"PUT" or not parts[1].isdigit() or int(parts[1]) > MAX_UPLOAD:
            raise ValueError(f"unexpected request {head[:40]!r}")
        n = int(parts[1])
        while len(body) < n:
            chunk = conn.recv(65536)
            if not chunk:
                raise ValueError("connection closed before the upload was complete")
            body += chunk
        with self._received_lock:
            self.received.append(body[:n])
        entry["bytes"] = n
        conn.sendall(b"OK")


def upload(
    server: UploadServer, payload: bytes, *, present_certificate: bool = True, timeout: float = 5.0
) -> dict[str, Any]:
    """Send ``payload`` to ``server`` over a fresh mutual-TLS connection; returns what the handshake negotiated.

    Raises :class:`labkit.pqc.HandshakeFailed` (a ``CertificateRejected`` without a client certificate).
    """
    import socket
    import time

    from OpenSSL import SSL

    if not isinstance(payload, bytes | bytearray) or len(payload) > MAX_UPLOAD:
        raise InvalidInput(f"payload must be bytes, at most {MAX_UPLOAD} of them.")
    ctx, _tap = tls.client_context(
        server.chain.ca_file, [GROUP], client_chain=server.client_chain if present_certificate else None
    )
    t0 = time.perf_counter()
    with socket.create_connection(server.address, timeout=timeout) as sock:
        tls.blocking_with_timeouts(sock, timeout)
        conn = SSL.Connection(ctx, sock)
        conn.set_connect_state()
        tls.set_expected_host(conn, server.chain.hostname)
        try:
            conn.do_handshake()
            t_handshake = time.perf_counter()
            conn.sendall(f"PUT {len(payload)}\n".encode() + bytes(payload))
            reply = b""
            while len(reply) < 2:
                chunk = conn.recv(16)
                if not chunk:
                    break
                reply += chunk
        except (SSL.Error, OSError) as exc:
            raise tls.classify(conn, exc, tls.wait_for(server.last_error), mutual=True) from None
        info = {
            "group": conn.get_group_name(),
            "cipher": conn.get_cipher_name(),
            "bytes": len(payload),
            "handshake_seconds": t_handshake - t0,
            "seconds": time.perf_counter() - t0,
        }
        try:
            conn.shutdown()
        except (SSL.Error, OSError):
            pass
    if reply != b"OK":
        raise InvalidInput(f"the server did not acknowledge the upload (got {reply[:20]!r}).")
    return info
