"""TLS 1.3 contexts, a lab server, and a byte-counting client, all through pyOpenSSL.

The OpenSSL here is the one bundled in pyca/cryptography (4.x), which offers
the hybrid key-exchange groups X25519MLKEM768 and SecP256r1MLKEM768, pure
ML-KEM groups, and ML-DSA signatures. Python's own ``ssl`` module links the
system OpenSSL and cannot negotiate them, so the lab drives OpenSSL through
pyOpenSSL and, for two settings pyOpenSSL does not wrap (the group list and
the expected host name), through the cryptography binding it is built on.

The client runs OpenSSL over memory BIOs and moves the bytes over a real TCP
socket itself, so it can count and record every byte on the wire, and see the
handshake messages (with their sizes and the signature scheme) through
OpenSSL's message callback.

References
----------
RFC 8446, The Transport Layer Security (TLS) Protocol Version 1.3.
IETF draft-ietf-tls-ecdhe-mlkem, Post-quantum hybrid ECDHE-MLKEM key agreement for TLSv1.3.
IETF draft-ietf-tls-mldsa, Use of ML-DSA in TLS 1.3.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, LabkitError, VerificationFailed
from .certs import Chain

#: TLS named groups the lab knows, with their IANA code points.
GROUPS = {
    "X25519": 0x001D,
    "secp256r1": 0x0017,
    "secp384r1": 0x0018,
    "X25519MLKEM768": 0x11EC,
    "SecP256r1MLKEM768": 0x11EB,
    "SecP384r1MLKEM1024": 0x11ED,
    "MLKEM512": 0x0200,
    "MLKEM768": 0x0201,
    "MLKEM1024": 0x0202,
}
HYBRID_GROUPS = ("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024")
PQ_GROUPS = (*HYBRID_GROUPS, "MLKEM512", "MLKEM768", "MLKEM1024")
CLASSICAL_GROUPS = ("X25519", "secp256r1", "secp384r1")

#: TLS 1.3 SignatureScheme code points -> names (RFC 8446 section 4.2.3, ML-DSA draft).
SIGNATURE_SCHEMES = {
    0x0403: "ecdsa_secp256r1_sha256",
    0x0503: "ecdsa_secp384r1_sha384",
    0x0807: "ed25519",
    0x0804: "rsa_pss_rsae_sha256",
    0x0805: "rsa_pss_rsae_sha384",
    0x0809: "rsa_pss_pss_sha256",
    0x0904: "mldsa44",
    0x0905: "mldsa65",
    0x0906: "mldsa87",
}
HANDSHAKE_TYPES = {
    1: "ClientHello",
    2: "ServerHello",
    4: "NewSessionTicket",
    8: "EncryptedExtensions",
    11: "Certificate",
    13: "CertificateRequest",
    15: "CertificateVerify",
    20: "Finished",
    24: "KeyUpdate",
}

_X509_REASONS = {
    10: ("expired", "the peer's certificate has expired"),
    9: ("not_yet_valid", "the peer's certificate is not yet valid"),
    18: ("unknown_ca", "the peer's certificate is self-signed and not trusted"),
    19: ("unknown_ca", "the peer's chain ends in a root this side does not trust"),
    20: ("unknown_ca", "the peer's certificate was issued by a CA this side does not trust"),
    21: ("unknown_ca", "the peer's certificate cannot be verified against a trusted CA"),
    62: ("hostname_mismatch", "the server's certificate is not valid for the requested host name"),
}


class HandshakeFailed(LabkitError):
    """A TLS handshake was refused. ``reason`` is a short code, ``detail`` OpenSSL's words.

    Codes: ``no_common_group`` (no key-exchange group both sides accept: the
    client will not be downgraded), ``unknown_ca``, ``expired``,
    ``hostname_mismatch``, ``client_cert_required``, ``bad_client_cert``, ``tampered``, ``other``.
    """

    def __init__(self, reason: str, message: str, *, detail: str = "", side: str = "client"):
        self.reason = reason
        self.detail = detail
        self.side = side
        super().__init__(f"TLS handshake refused ({reason}): {message}." + (f" OpenSSL: {detail}" if detail else ""))


class CertificateRejected(HandshakeFailed, VerificationFailed):
    """The certificate check failed: unknown CA, expired, wrong host name, missing client certificate."""


def binding():
    """The cffi ``(ffi, lib)`` of the OpenSSL bundled in pyca/cryptography (the one pyOpenSSL drives).

    The lab calls it for the settings pyOpenSSL does not wrap: the group list, the expected
    host name, the message callback and the certificate-verification result.
    """
    from cryptography.hazmat.bindings.openssl.binding import Binding

    return Binding.ffi, Binding.lib


def canonical_group(name: str | None) -> str | None:
    """OpenSSL reports "x25519"; the lab spells groups as in :data:`GROUPS`."""
    if name is None:
        return None
    return {g.lower(): g for g in GROUPS}.get(name.lower(), name)


def check_groups(groups: str | list[str] | tuple[str, ...]) -> list[str]:
    """Normalise a group or list of groups (names as OpenSSL spells them) or raise InvalidInput.

    A leading ``*`` (OpenSSL's syntax) asks the client to send a key share for that group in
    its first flight, as browsers do for X25519 beside X25519MLKEM768; without any ``*`` the
    client sends a share for the first group only.

    >>> check_groups("*x25519mlkem768:*X25519")
    ['*X25519MLKEM768', '*X25519']
    """
    items = groups.split(":") if isinstance(groups, str) else list(groups)
    canonical = {g.lower(): g for g in GROUPS}
    out = []
    for g in items:
        if not isinstance(g, str):
            raise InvalidInput(f"key-exchange groups are names such as 'X25519MLKEM768', not {g!r}.")
        star, name = ("*", g.strip()[1:]) if g.strip().startswith("*") else ("", g.strip())
        if name.lower() not in canonical:
            raise InvalidInput(f"unknown key-exchange group {g!r}; choose from {', '.join(GROUPS)}.")
        out.append(star + canonical[name.lower()])
    if not out:
        raise InvalidInput("give at least one key-exchange group, e.g. 'X25519MLKEM768'.")
    return out


def _set_groups(ctx, groups: list[str]) -> None:
    _ffi, lib = binding()
    if lib.SSL_CTX_set1_curves_list(ctx._context, ":".join(groups).encode()) != 1:
        lib.ERR_clear_error()
        raise InvalidInput(
            f"this OpenSSL does not offer the group list {':'.join(groups)}; see labkit.pqc.available_groups()."
        )


@dataclass
class Recorder:
    """What one connection put on the wire, seen from the client."""

    sent: list[bytes] = field(default_factory=list)  # client -> server writes, in order
    received: list[bytes] = field(default_factory=list)  # server -> client reads, in order
    messages: list[tuple[str, str, int]] = field(default_factory=list)  # (direction, type, length)
    signature_schemes: dict[str, str] = field(default_factory=dict)  # direction -> scheme

    @property
    def bytes_sent(self) -> int:
        """Bytes the client wrote to the socket."""
        return sum(map(len, self.sent))

    @property
    def bytes_received(self) -> int:
        """Bytes the client read from the socket."""
        return sum(map(len, self.received))


class _MessageTap:
    """OpenSSL's message callback, routed to the Recorder of the connection being driven."""

    def __init__(self, ctx):
        ffi, lib = binding()
        self.current: Recorder | None = None

        @ffi.callback("void(int, int, int, void *, size_t, SSL *, void *)")
        def tap(write_p, version, content_type, buf, length, ssl, arg):  # pragma: no branch
            rec = self.current
            if rec is None or content_type != 22 or length < 4:
                return
            data = bytes(ffi.buffer(buf, length))
            direction = "client->server" if write_p else "server->client"
            rec.messages.append((direction, HANDSHAKE_TYPES.get(data[0], f"type{data[0]}"), length))
            if data[0] == 15 and length >= 6:
                code = int.from_bytes(data[4:6], "big")
                rec.signature_schemes[direction] = SIGNATURE_SCHEMES.get(code, f"0x{code:04x}")

        self._callback = tap  # keep alive as long as the context
        lib.SSL_CTX_set_msg_callback(ctx._context, tap)


def server_context(chain: Chain, groups: list[str], *, client_ca: str | None = None):
    """A TLS 1.3-only server context for ``chain``; ``client_ca`` turns on mutual TLS."""
    from OpenSSL import SSL

    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    ctx.use_certificate_file(chain.cert_file)
    ctx.use_privatekey_file(chain.key_file)
    ctx.check_privatekey()
    _set_groups(ctx, groups)
    ctx.set_options(SSL.OP_NO_TICKET)
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    if client_ca is not None:
        ctx.load_verify_locations(client_ca)
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT)
    return ctx


def client_context(ca_file: str, groups: list[str], *, client_chain: Chain | None = None):
    """A TLS 1.3-only client context trusting ``ca_file`` only; returns (context, message tap)."""
    from OpenSSL import SSL

    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    ctx.load_verify_locations(ca_file)
    ctx.set_verify(SSL.VERIFY_PEER)
    _set_groups(ctx, groups)
    if client_chain is not None:
        ctx.use_certificate_file(client_chain.cert_file)
        ctx.use_privatekey_file(client_chain.key_file)
    return ctx, _MessageTap(ctx)


def _drain(conn) -> bytes:
    from OpenSSL import SSL

    out = b""
    while True:
        try:
            chunk = conn.bio_read(65536)
        except SSL.WantReadError:
            return out
        if not chunk:
            return out
        out += chunk


def _error_text(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], list):
        return "; ".join(str(e[2]) for e in args[0] if len(e) > 2) or str(exc)
    return str(exc) or type(exc).__name__


def classify(conn, exc: Exception, server_error: str | None, *, mutual: bool) -> HandshakeFailed:
    """Turn an OpenSSL failure into a HandshakeFailed with a reason a learner can act on.

    Parameters
    ----------
    conn : OpenSSL.SSL.Connection
        The client connection whose handshake failed (its certificate-verification result is read).
    exc : Exception
        What pyOpenSSL raised.
    server_error : str or None
        What the server recorded about the same connection (see :func:`wait_for`).
    mutual : bool
        Whether the server required a client certificate.

    Returns
    -------
    HandshakeFailed
        A :class:`CertificateRejected` for certificate problems; raise it.
    """
    ffi, lib = binding()
    detail = _error_text(exc)
    verify = lib.SSL_get_verify_result(conn._ssl)
    if verify in _X509_REASONS:
        reason, message = _X509_REASONS[verify]
        openssl = ffi.string(lib.X509_verify_cert_error_string(verify)).decode()
        return CertificateRejected(reason, f"the client refused: {message}", detail=f"{openssl} ({detail})")
    both = f"{detail} {server_error or ''}".lower()
    if "certificate required" in both or "did not return a certificate" in both:
        return CertificateRejected(
            "client_cert_required",
            "the server requires a client certificate (mutual TLS) and got none",
            detail=f"{detail}; server: {server_error}",
            side="server",
        )
    if mutual and ("unknown ca" in both or "certificate verify failed" in both or "bad certificate" in both):
        return CertificateRejected(
            "bad_client_cert",
            "the server refused the client's certificate",
            detail=f"{detail}; server: {server_error}",
            side="server",
        )
    if "no suitable key share" in both or "handshake failure" in both or "no shared group" in both:
        return HandshakeFailed(
            "no_common_group",
            "client and server share no key-exchange group; the client would rather fail than fall back",
            detail=f"{detail}; server: {server_error}",
        )
    if any(m in both for m in ("bad record mac", "bad signature", "decrypt error", "digest check failed")):
        return HandshakeFailed(
            "tampered",
            "the handshake messages were altered in transit; the transcript no longer matches",
            detail=f"{detail}; server: {server_error}",
        )
    return HandshakeFailed("other", "see OpenSSL's message", detail=f"{detail}; server: {server_error}")


def set_expected_host(conn, hostname: str) -> None:
    """Ask OpenSSL to check the server certificate's name (SNI is sent too)."""
    _ffi, lib = binding()
    conn.set_tlsext_host_name(hostname.encode())
    param = lib.SSL_get0_param(conn._ssl)
    if lib.X509_VERIFY_PARAM_set1_host(param, hostname.encode(), len(hostname.encode())) != 1:
        raise InvalidInput(f"OpenSSL does not accept {hostname!r} as a host name.")


def client_connection(
    ctx,
    tap: _MessageTap,
    address: tuple[str, int],
    hostname: str,
    *,
    timeout: float,
    request: bytes = b"",
    expect: int = 0,
    server_error=lambda: None,
    mutual: bool = False,
) -> dict[str, Any]:
    """Connect, handshake over memory BIOs, optionally send ``request`` and read ``expect`` bytes.

    Returns a dict with the Recorder, timestamps (perf_counter) and what was negotiated.
    Raises HandshakeFailed with a reason when the handshake or the first exchange fails.
    """
    import time

    from OpenSSL import SSL

    rec = Recorder()
    tap.current = rec
    conn = SSL.Connection(ctx, None)
    conn.set_connect_state()
    set_expected_host(conn, hostname)
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t_start, cpu_start = time.perf_counter(), time.process_time()
        hs_sent = hs_received = 0

        def pump_out():
            out = _drain(conn)
            if out:
                sock.sendall(out)
                rec.sent.append(out)

        def pump_in():
            data = sock.recv(65536)
            if not data:
                raise SSL.Error([("", "", "connection closed by the server")])
            rec.received.append(data)
            conn.bio_write(data)

        try:
            while True:
                try:
                    conn.do_handshake()
                    pump_out()
                    break
                except SSL.WantReadError:
                    pump_out()
                    pump_in()
            t_handshake = time.perf_counter()
            hs_sent, hs_received = rec.bytes_sent, rec.bytes_received
            reply = b""
            if request:
                conn.write(request)
                pump_out()
                while len(reply) < expect:
                    try:
                        reply += conn.read(65536)
                    except SSL.WantReadError:
                        pump_in()
            t_done, cpu_done = time.perf_counter(), time.process_time()
        except (SSL.Error, OSError) as exc:
            with contextlib.suppress(OSError):
                pump_out()  # deliver our alert, if any
            tap.current = None
            raise classify(conn, exc, wait_for(server_error), mutual=mutual) from None
        finally:
            tap.current = None
        info = {
            "recorder": rec,
            "t_start": t_start,
            "t_handshake": t_handshake,
            "t_done": t_done,
            # CPU seconds of this process (client and server threads) for the whole connection:
            # far less sensitive than wall time to other programs competing for the cores.
            "cpu": cpu_done - cpu_start,
            "handshake_bytes_sent": hs_sent,
            "handshake_bytes_received": hs_received,
            "reply": reply,
            "group": conn.get_group_name(),
            "cipher": conn.get_cipher_name(),
            "protocol": conn.get_protocol_version_name(),
        }
        try:
            conn.shutdown()
            pump_out()
        except (SSL.Error, OSError):
            pass
    return info


def wait_for(server_error) -> str | None:
    """Give the server thread a moment to record why it failed (for the error message).

    ``server_error`` is a callable such as :meth:`LabServer.last_error`; returns its answer, or None
    after about a quarter of a second.
    """
    import time

    for _ in range(50):
        err = server_error()
        if err:
            return err
        time.sleep(0.005)
    return None


def blocking_with_timeouts(sock: socket.socket, timeout: float) -> None:
    """Prepare a socket for pyOpenSSL: OpenSSL reads the descriptor itself, so keep it
    blocking and bound every read and write with kernel-level timeouts (a Python socket
    timeout would make it non-blocking)."""
    sock.setblocking(True)
    timeval = struct.pack("ll", int(timeout), int((timeout % 1) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LabServer:
    """A TLS 1.3 server on 127.0.0.1 in a background thread (see :func:`labkit.pqc.serve`).

    Each connection is served in its own thread. In "lab" mode a client sends
    ``GET <n>\\n`` and receives n bytes; in "https" mode any HTTP request gets a
    small page naming the negotiated group. ``log`` lists one dict per
    connection: group, cipher, whether a client certificate was presented, or
    the error that ended it.
    """

    def __init__(self, ctx, *, host: str = "127.0.0.1", port: int = 0, https: bool = False, timeout: float = 5.0):
        self.ctx = ctx
        self.https = https
        self.timeout = timeout
        self.log: list[dict[str, Any]] = []
        self.chain = None  # set by serve(): the certificate chain it presents
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(0.05)
        self.address = self._listener.getsockname()[:2]
        self._thread = threading.Thread(target=self._accept_loop, name="labkit-pqc-server", daemon=True)
        self._workers: list[threading.Thread] = []
        self._thread.start()

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return self.address[1]

    @property
    def url(self) -> str:
        """Its address as an https URL."""
        return f"https://{self.address[0]}:{self.port}/"

    def last_error(self) -> str | None:
        """Why the latest connection failed, as OpenSSL said (None when it did not)."""
        with self._lock:
            return self.log[-1].get("error") if self.log else None

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=self._serve_one, args=(sock,), daemon=True)
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
            worker.start()

    def _serve_one(self, sock: socket.socket) -> None:
        from OpenSSL import SSL

        entry: dict[str, Any] = {}
        blocking_with_timeouts(sock, self.timeout)
        conn = SSL.Connection(self.ctx, sock)
        conn.set_accept_state()
        try:
            conn.do_handshake()
            entry.update(
                group=conn.get_group_name(),
                cipher=conn.get_cipher_name(),
                client_cert=conn.get_peer_certificate() is not None,
            )
            self.handle(conn, entry)
            entry["ok"] = True
            conn.shutdown()
        except (SSL.Error, OSError, ValueError) as exc:
            entry.setdefault("error", _error_text(exc))
            if "group" not in entry:
                entry["error"] = _error_text(exc)
        finally:
            with self._lock:
                self.log.append(entry)
            sock.close()

    def handle(self, conn, entry: dict[str, Any]) -> None:
        """Serve one request on an established connection; subclasses override it to speak other requests.

        ``entry`` is this connection's line of :attr:`log` (add what the request did to it); raise
        ``ValueError`` for a request the server does not speak.
        """
        request = b""
        while b"\n" not in request and len(request) < 8192:
            request += conn.recv(8192)
        conn.sendall(self._respond(request, entry))

    def _respond(self, request: bytes, entry: dict[str, Any]) -> bytes:
        if self.https or request.startswith((b"GET / ", b"GET /favicon")):
            body = (
                f"<!doctype html><title>PET Lab PQC</title><p id='group'>{entry.get('group')}</p>"
                f"<p id='cipher'>{entry.get('cipher')}</p>"
            ).encode()
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            return head + body
        parts = request.split()
        if len(parts) >= 2 and parts[0] == b"GET" and parts[1].isdigit():  # "GET <n> [anything]" -> n bytes
            n = min(int(parts[1]), 64 * 1024 * 1024)
            return bytes(n)
        raise ValueError(f"unexpected request {request[:40]!r}")

    def close(self) -> None:
        """Stop accepting, and wait for the connections being served."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()
        for w in self._workers:
            w.join(timeout=2)

    def __enter__(self) -> LabServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
