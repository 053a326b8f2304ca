"""One real TLS 1.3 handshake (or many) between a lab server and a lab client on 127.0.0.1.

:func:`handshake` is the lab's entry point: pick a key-exchange group and a
certificate type, and it runs real handshakes with OpenSSL (through
pyOpenSSL), the client checking chain, expiry and host name against a local
CA, and reports what was negotiated, how long it took and how many bytes
crossed the wire in each direction. The same function, with one setting
changed, shows each refusal: a classical-only server, an unknown CA, an
expired certificate, a wrong host name, a missing client certificate.

References
----------
RFC 8446, The Transport Layer Security (TLS) Protocol Version 1.3.
IETF draft-ietf-tls-ecdhe-mlkem, Post-quantum hybrid ECDHE-MLKEM key agreement for TLSv1.3.
IETF draft-ietf-tls-hybrid-design, Hybrid key exchange in TLS 1.3.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import bench, validate
from ..errors import InvalidInput
from ..results import Result
from . import certs, tls

#: Path MTU 1500 (Ethernet) minus 20 bytes IPv4 and 20 bytes TCP header.
ETHERNET_MSS = 1460
TRUST_CHOICES = ("lab-ca", "other-ca")


def available_groups() -> list[str]:
    """The key-exchange groups the bundled OpenSSL accepts, in the lab's order.

    >>> "X25519" in available_groups()
    True
    """
    from OpenSSL import SSL

    _ffi, lib = tls.binding()
    ctx = SSL.Context(SSL.TLS_METHOD)
    ok = [g for g in tls.GROUPS if lib.SSL_CTX_set1_curves_list(ctx._context, g.encode()) == 1]
    lib.ERR_clear_error()
    return ok


def available_cert_types() -> list[str]:
    """Certificate types the lab can issue here (ML-DSA needs OpenSSL >= 3.5)."""
    from cryptography.hazmat.primitives.asymmetric import mldsa

    out = [c for c in certs.CERT_TYPES if not c.startswith("ml-dsa")]
    try:
        mldsa.MLDSA44PrivateKey.generate()
    except Exception:
        return out
    return [*out, "ml-dsa-44", "ml-dsa-65", "ml-dsa-87"]


class Session:
    """A lab server plus a configured client: call :meth:`run` for one handshake.

    Parameters mirror :func:`handshake`. Use as a context manager, or call
    :meth:`close`, to stop the server thread.
    """

    def __init__(
        self,
        *,
        group="X25519MLKEM768",
        cert="ecdsa-p256",
        mutual=False,
        client_cert=True,
        server_groups=None,
        hostname=None,
        trust="lab-ca",
        expired=False,
        timeout=5.0,
        https=False,
    ):
        self.groups = tls.check_groups(group)
        self.server_groups = tls.check_groups(server_groups) if server_groups is not None else self.groups
        self.cert_type = certs.check_cert_type(cert)
        validate.choice("trust", trust, TRUST_CHOICES)
        timeout = validate.positive("timeout (seconds)", timeout, high=60)
        if client_cert is not True and client_cert is not False and client_cert != "other-ca":
            raise InvalidInput(f"client_cert must be True, False or 'other-ca', not {client_cert!r}.")
        self.mutual, self.client_cert, self.timeout = bool(mutual), client_cert, timeout
        self.chain = certs.issue(self.cert_type, expired=bool(expired))
        self.hostname = hostname if hostname is not None else self.chain.hostname
        if not isinstance(self.hostname, str) or not self.hostname:
            raise InvalidInput(f"hostname must be a non-empty DNS name, not {hostname!r}.")
        client_chain = certs.issue(self.cert_type, hostname="agent.petlab.test", client=True) if mutual else None
        presented = client_chain
        if mutual and client_cert == "other-ca":  # a client certificate from a CA the server does not trust
            presented = certs.issue(self.cert_type, hostname="intruder.petlab.test", client=True)
        # The client trusts the lab CA, or (to show an unknown CA) the root of an unrelated chain.
        ca_file = (
            self.chain.ca_file if trust == "lab-ca" else certs.issue(self.cert_type, hostname="elsewhere.test").ca_file
        )
        self.client_ctx, self.tap = tls.client_context(
            ca_file, self.groups, client_chain=presented if self.client_cert else None
        )
        server_ctx = tls.server_context(
            self.chain, self.server_groups, client_ca=client_chain.ca_file if client_chain else None
        )
        self.server = tls.LabServer(server_ctx, https=https, timeout=self.timeout)
        self.connect_to: tuple[str, int] | None = None  # e.g. a proxy in front of the server

    def run(self, transfer_bytes: int = 1) -> dict[str, Any]:
        """One handshake, then ``GET transfer_bytes`` (at least one byte, which also confirms mutual TLS)."""
        n = max(1, int(transfer_bytes))
        return tls.client_connection(
            self.client_ctx,
            self.tap,
            self.connect_to or self.server.address,
            self.hostname,
            timeout=self.timeout,
            request=f"GET {n}\n".encode(),
            expect=n,
            server_error=self.server.last_error,
            mutual=self.mutual,
        )

    def close(self) -> None:
        """Stop the lab server."""
        self.server.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _client_hello_size(rec: tls.Recorder) -> int:
    """ClientHello bytes on the wire: handshake message plus its 5-byte record header."""
    for direction, kind, length in rec.messages:
        if direction == "client->server" and kind == "ClientHello":
            return length + 5
    return len(rec.sent[0]) if rec.sent else 0


def summarise(infos: list[dict[str, Any]], *, mss: int = ETHERNET_MSS) -> dict[str, Any]:
    """Metrics and artifacts from the client-side records of several handshakes of one session."""
    last = infos[-1]
    rec: tls.Recorder = last["recorder"]
    latencies = [i["t_handshake"] - i["t_start"] for i in infos]
    hello = _client_hello_size(rec)
    cert_msgs = [length for d, kind, length in rec.messages if d == "server->client" and kind == "Certificate"]
    metrics = {
        "latency_s": float(np.median(latencies)),
        "latency_s_q1": float(np.percentile(latencies, 25)),
        "latency_s_q3": float(np.percentile(latencies, 75)),
        "time_to_last_byte_s": float(np.median([i["t_done"] - i["t_start"] for i in infos])),
        "cpu_s": float(np.median([i["cpu"] for i in infos])),
        "bytes_client_to_server": int(np.median([i["handshake_bytes_sent"] for i in infos])),
        "bytes_server_to_client": int(np.median([i["handshake_bytes_received"] for i in infos])),
        "client_hello_bytes": hello,
        "client_hello_segments": math.ceil(hello / mss),
        "server_certificate_message_bytes": cert_msgs[0] if cert_msgs else 0,
        "handshakes": len(infos),
    }
    artifacts = {
        "group": tls.canonical_group(last["group"]),
        "cipher": last["cipher"],
        "protocol": last["protocol"],
        "signature_scheme": rec.signature_schemes.get("server->client"),
        "client_signature_scheme": rec.signature_schemes.get("client->server"),
        "messages": [list(m) for m in rec.messages],
        "mss": mss,
    }
    return {"metrics": metrics, "artifacts": artifacts, "latencies": latencies}


def handshake(
    *,
    group: str | list[str] = "X25519MLKEM768",
    cert: str = "ecdsa-p256",
    mutual: bool = False,
    client_cert: bool | str = True,
    server_groups: str | list[str] | None = None,
    hostname: str | None = None,
    trust: str = "lab-ca",
    expired: bool = False,
    repeat: int = 1,
    transfer_bytes: int = 1,
    mss: int = ETHERNET_MSS,
    timeout: float = 5.0,
) -> Result:
    """Run ``repeat`` real TLS 1.3 handshakes on 127.0.0.1 and report the outcome.

    The server runs in a thread with a certificate of type ``cert`` from a
    local CA; the client offers ``group`` (a name or a list in preference
    order), verifies the chain, the validity dates and the host name, and
    counts every byte on the wire.

    Parameters
    ----------
    group : str or list of str
        Key-exchange group(s) the client offers, e.g. "X25519MLKEM768", "X25519".
    cert : str
        Server certificate type: "ecdsa-p256", "ed25519", "rsa-2048", "rsa-3072", "ml-dsa-44/65/87".
    mutual : bool
        Mutual TLS: the server requires a client certificate (of the same type) from its own CA.
    client_cert : bool or "other-ca"
        With ``mutual=True``: False makes the client present no certificate, "other-ca" one
        issued by a CA the server does not trust (both refused).
    server_groups : str or list of str, optional
        Groups the server accepts (default: the client's). A classical-only server
        against a hybrid-only client shows there is no silent downgrade.
    hostname : str, optional
        The name the client expects (default: the certificate's); another name is refused.
    trust : {"lab-ca", "other-ca"}
        Whether the client trusts the CA that issued the server's certificate.
    expired : bool
        Serve a certificate that expired yesterday (refused).
    repeat : int
        Handshakes to run; latency is their median.
    transfer_bytes : int
        Bytes the server sends after each handshake (at least 1, to confirm the session).
    mss : int
        Segment size used to count ClientHello packets (1460 = Ethernet path; loopback's MTU is 64 KiB).
    timeout : float
        Socket timeout in seconds.

    Returns
    -------
    Result
        ``artifacts``: ``group``, ``cipher``, ``signature_scheme`` (the server's), ``client_signature_scheme``,
        ``cert_type``, what each side offered; ``metrics``: ``latency_s`` (median handshake latency:
        TCP connected -> client Finished sent), ``bytes_client_to_server`` and ``bytes_server_to_client``
        (handshake only, ints), ``client_hello_bytes``, ``client_hello_segments``, ``time_to_last_byte_s``...

    Raises
    ------
    HandshakeFailed, CertificateRejected
        When the handshake is refused; ``.reason`` says why.

    Examples
    --------
    >>> r = handshake(group="X25519MLKEM768", cert="ecdsa-p256")
    >>> r.artifacts["group"], r.artifacts["cipher"]
    ('X25519MLKEM768', 'TLS_AES_256_GCM_SHA384')
    >>> r.metrics["bytes_client_to_server"] > 1184  # the ML-KEM-768 public key alone is 1184 bytes
    True
    """
    repeat = validate.integer("repeat", repeat, low=1, high=10_000)
    transfer_bytes = validate.integer("transfer_bytes", transfer_bytes, low=0, high=64 << 20)
    mss = validate.integer("mss", mss, low=500, high=65495)
    with Session(
        group=group,
        cert=cert,
        mutual=mutual,
        client_cert=client_cert,
        server_groups=server_groups,
        hostname=hostname,
        trust=trust,
        expired=expired,
        timeout=timeout,
    ) as session:
        infos = [session.run(transfer_bytes) for _ in range(repeat)]
    server_log = list(session.server.log)  # after close(): every worker has finished its entry
    summary = summarise(infos, mss=mss)
    artifacts = summary["artifacts"]
    artifacts.update(
        cert_type=session.cert_type,
        server_group=tls.canonical_group(server_log[-1].get("group")) if server_log else None,
        server_saw_client_cert=bool(server_log and server_log[-1].get("client_cert")),
        offered_groups=session.groups,
        server_groups=session.server_groups,
    )
    metrics = summary["metrics"]
    metrics["cert_der_bytes"] = session.chain.cert_der_size
    timings = {
        "handshake": bench.Timing("handshake", tuple(summary["latencies"])),
        "time_to_last_byte": bench.Timing("time_to_last_byte", tuple(i["t_done"] - i["t_start"] for i in infos)),
    }
    params = {
        "group": session.groups,
        "cert": session.cert_type,
        "mutual": session.mutual,
        "repeat": repeat,
        "transfer_bytes": transfer_bytes,
        "mss": mss,
    }
    result = Result("pqc", "handshake", params=params, metrics=metrics, timings=timings, artifacts=artifacts)
    if artifacts["group"] in tls.CLASSICAL_GROUPS:
        result.flag("classical key exchange: recordings can be decrypted by a future quantum computer")
    return result
