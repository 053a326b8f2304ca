"""What the TLS lab refuses, and why: one real handshake per attack or misconfiguration.

Each case changes one thing against a working hybrid handshake and checks
that OpenSSL refuses with the expected reason. The "fallback" case is the
contrast to "downgrade": a client that *allows* a classical group gets it,
visibly (the Result names the group and carries a flag), never silently.

References
----------
RFC 8446 sections 4.1.1 (key-share negotiation), 4.4.2.2 (server certificate selection) and 4.6.2;
RFC 6125 (host-name checks); RFC 5280 section 6 (path validation);
IETF draft-ietf-tls-hybrid-design, section 3.1 (downgrade considerations).
"""

from __future__ import annotations

from typing import Any

from ..results import Result
from .handshakes import handshake
from .tls import HandshakeFailed

#: case -> (what changes, keyword arguments to handshake, the refusal reason expected)
CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "downgrade": (
        "hybrid-only client, classical-only server",
        {"group": "X25519MLKEM768", "server_groups": "X25519:secp256r1"},
        "no_common_group",
    ),
    "unknown_ca": ("client does not trust the issuing CA", {"trust": "other-ca"}, "unknown_ca"),
    "expired": ("server certificate expired yesterday", {"expired": True}, "expired"),
    "wrong_hostname": ("client expects another host name", {"hostname": "bank.example"}, "hostname_mismatch"),
    "no_client_cert": (
        "mutual TLS, client presents no certificate",
        {"mutual": True, "client_cert": False},
        "client_cert_required",
    ),
    "untrusted_client_cert": (
        "mutual TLS, client certificate from a CA the server does not trust",
        {"mutual": True, "client_cert": "other-ca"},
        "bad_client_cert",
    ),
}


def try_case(case: str, *, cert: str = "ecdsa-p256") -> dict[str, Any]:
    """Run one case; returns {case, change, refused, reason, expected, message}."""
    change, kwargs, expected = CASES[case]
    kwargs = {"group": "X25519MLKEM768", "cert": cert, **kwargs}
    try:
        r = handshake(**kwargs)
    except HandshakeFailed as exc:
        return {
            "case": case,
            "change": change,
            "refused": True,
            "reason": exc.reason,
            "expected": expected,
            "message": str(exc),
        }
    return {
        "case": case,
        "change": change,
        "refused": False,
        "reason": None,
        "expected": expected,
        "message": f"handshake completed with {r.artifacts['group']}",
    }


def refusals(*, cert: str = "ecdsa-p256") -> Result:
    """Run every case in :data:`CASES` plus the visible fallback, and tabulate the outcomes.

    Returns
    -------
    Result
        ``metrics["refused_as_expected"]`` counts the cases refused with the expected
        reason (out of ``metrics["cases"]``); ``artifacts["rows"]`` holds one row per case.
    """
    rows = [try_case(case, cert=cert) for case in CASES]
    fallback = handshake(group=["X25519MLKEM768", "X25519"], server_groups="X25519", cert=cert)
    rows.append(
        {
            "case": "fallback_allowed",
            "change": "client allows X25519 too, server only X25519",
            "refused": False,
            "reason": None,
            "expected": None,
            "message": f"negotiated {fallback.artifacts['group']}; flags: {'; '.join(fallback.flags)}",
        }
    )
    ok = sum(1 for r in rows if r["expected"] and r["refused"] and r["reason"] == r["expected"])
    return Result(
        "pqc",
        "refusals",
        params={"cert": cert},
        metrics={"refused_as_expected": ok, "cases": len(CASES)},
        artifacts={"rows": rows},
    )


class TamperingProxy:
    """A man in the middle on loopback that flips one bit of the client's first flight (the ClientHello).

    It models an active attacker who edits the hello messages, for example to
    remove the hybrid group. TLS 1.3 signs and MACs the transcript of every
    handshake message, so the edit must be detected. ``flipped_at`` is the
    byte offset changed (default: inside the ClientHello's random).
    """

    def __init__(self, target: tuple[str, int], *, offset: int = 20):
        import socket
        import threading

        self.target, self.offset, self.flipped = target, offset, False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(5)
        self.address = self._listener.getsockname()[:2]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import socket
        import threading

        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        server = socket.create_connection(self.target, timeout=5)
        client.settimeout(5)

        def pipe(src, dst, tamper: bool) -> None:
            first = tamper
            try:
                while data := src.recv(65536):
                    if first and len(data) > self.offset:
                        data = data[: self.offset] + bytes([data[self.offset] ^ 0x01]) + data[self.offset + 1 :]
                        self.flipped, first = True, False
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        up = threading.Thread(target=pipe, args=(client, server, True), daemon=True)
        up.start()
        pipe(server, client, False)
        up.join(timeout=5)
        client.close()
        server.close()

    def close(self) -> None:
        """Stop the proxy."""
        self._listener.close()
        self._thread.join(timeout=5)


def tampered_handshake(*, group: str = "X25519MLKEM768", cert: str = "ecdsa-p256", offset: int = 20) -> Result:
    """Run a handshake through :class:`TamperingProxy`, which flips one byte of the ClientHello.

    Returns
    -------
    Result
        ``metrics``: ``flipped`` (the proxy changed a byte), ``refused`` (the handshake failed);
        ``artifacts``: ``reason`` (e.g. "tampered") and ``message``.

    References
    ----------
    RFC 8446, TLS 1.3, section 4.4.4 (Finished covers the transcript).
    """
    from .handshakes import Session

    with Session(group=group, cert=cert) as session:
        proxy = TamperingProxy(session.server.address, offset=offset)
        session.connect_to = proxy.address
        try:
            session.run()
            refused, reason, message = False, None, "handshake completed"
        except HandshakeFailed as exc:
            refused, reason, message = True, exc.reason, str(exc)
        finally:
            proxy.close()
    return Result(
        "pqc",
        "tampered_handshake",
        params={"group": group, "cert": cert, "offset": offset},
        metrics={"flipped": bool(proxy.flipped), "refused": refused},
        artifacts={"reason": reason, "message": message},
    )
