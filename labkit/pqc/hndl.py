"""Harvest now, decrypt later: what a recording of a TLS session gives a future quantum attacker.

An eavesdropper who records a TLS 1.3 session today keeps every byte: the
ClientHello and ServerHello in clear (with the key shares and the server name),
then encrypted records. Everything secret in the session is derived from the
key exchange's shared secret and the transcript. With X25519, a large enough
quantum computer running Shor's algorithm recovers that shared secret from the
two recorded public shares, and with it every traffic key: the recording
opens. With X25519MLKEM768 the shared secret is the ML-KEM-768 secret
concatenated with the X25519 one; breaking X25519 yields only half of the
input, and ML-KEM is built to resist quantum attacks, so the recording stays
closed.

No quantum computer is available, so the lab plays its part honestly:
:class:`QuantumOracle` is given the session secrets OpenSSL logged (the
SSLKEYLOGFILE lines) and releases them only for sessions whose recorded key
exchange is purely classical, which is exactly what Shor's algorithm would
yield. The decryption itself is real (HKDF-Expand-Label and the AEAD from
pyca/cryptography applied to the recorded records). :func:`hybrid_combiner`
shows the hybrid side at the level of the primitives: the attacker who knows
the X25519 private key still derives the wrong key, and the AEAD rejects it.

References
----------
RFC 8446 sections 5.2 (record protection), 5.3 (per-record nonce) and 7.1-7.3 (key schedule).
IETF draft-ietf-tls-hybrid-design (concatenated shared secrets); draft-ietf-tls-ecdhe-mlkem.
Shor, "Polynomial-time algorithms for prime factorization and discrete logarithms", SIAM J. Comput. 1997.
Mosca, "Cybersecurity in an era with quantum computers: will we be ready?", IEEE S&P 2018.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..results import Result
from . import tls

CONTENT_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data"}
SUITES = {  # name -> (hash, key length)
    "TLS_AES_128_GCM_SHA256": ("sha256", 16),
    "TLS_AES_256_GCM_SHA384": ("sha384", 32),
    "TLS_CHACHA20_POLY1305_SHA256": ("sha256", 32),
}


def parse_records(stream: bytes) -> list[tuple[int, bytes, bytes]]:
    """Split a recorded byte stream into TLS records: (content type, 5-byte header, payload)."""
    out, i = [], 0
    while i + 5 <= len(stream):
        ctype, length = stream[i], int.from_bytes(stream[i + 3 : i + 5], "big")
        if ctype not in CONTENT_TYPES or i + 5 + length > len(stream):
            raise InvalidInput(f"not a TLS record stream at byte {i}; was it recorded from the start?")
        out.append((ctype, stream[i : i + 5], stream[i + 5 : i + 5 + length]))
        i += 5 + length
    return out


def key_share_group(hello: bytes) -> str | None:
    """The group of the key share in a recorded ServerHello handshake message (None if absent)."""
    if not hello or hello[0] != 2:
        raise InvalidInput("expected a ServerHello handshake message (type 2).")
    pos = 4 + 2 + 32  # header, legacy_version, random
    pos += 1 + hello[pos]  # legacy_session_id_echo
    pos += 2 + 1  # cipher_suite, legacy_compression_method
    end = pos + 2 + int.from_bytes(hello[pos : pos + 2], "big")
    pos += 2
    names = {v: k for k, v in tls.GROUPS.items()}
    while pos + 4 <= end:
        ext, length = int.from_bytes(hello[pos : pos + 2], "big"), int.from_bytes(hello[pos + 2 : pos + 4], "big")
        if ext == 0x0033:  # key_share
            code = int.from_bytes(hello[pos + 4 : pos + 6], "big")
            return names.get(code, f"0x{code:04x}")
        pos += 4 + length
    return None


@dataclass
class Recording:
    """What an eavesdropper stores: both directions of the TCP stream. ``escrow`` is for the oracle only."""

    client_to_server: bytes
    server_to_client: bytes
    group: str
    cipher: str
    escrow: dict[str, bytes] = field(default_factory=dict, repr=False)

    def inventory(self) -> list[dict[str, Any]]:
        """One row per recorded record: direction, type, size, and whether it is readable without keys."""
        rows = []
        for direction, stream in (("client->server", self.client_to_server), ("server->client", self.server_to_client)):
            for ctype, _, payload in parse_records(stream):
                rows.append(
                    {
                        "direction": direction,
                        "type": CONTENT_TYPES[ctype],
                        "bytes": len(payload) + 5,
                        "in_clear": ctype in (20, 22),
                    }
                )
        return rows


def record_session(
    *, group: str = "X25519", secret: bytes = b"patient 4711: diagnosis C34.1", cert: str = "ecdsa-p256"
) -> Recording:
    """Run one real handshake and send ``secret`` to the server; return the wire recording.

    >>> rec = record_session(group="X25519")
    >>> rec.group, b"patient" in rec.client_to_server
    ('X25519', False)
    """
    from .handshakes import Session

    if not isinstance(secret, bytes) or not 1 <= len(secret) <= 1000 or b"\n" in secret:
        raise InvalidInput("secret must be 1 to 1000 bytes without a newline.")
    escrow: dict[str, bytes] = {}

    def keylog(_conn, line: bytes) -> None:
        label, _client_random, value = line.decode().split()
        escrow[label] = bytes.fromhex(value)

    with Session(group=group, cert=cert) as session:
        session.client_ctx.set_keylog_callback(keylog)
        info = tls.client_connection(
            session.client_ctx,
            session.tap,
            session.server.address,
            session.hostname,
            timeout=session.timeout,
            request=b"GET 1 " + secret + b"\n",
            expect=1,
        )
    rec = info["recorder"]
    return Recording(
        b"".join(rec.sent), b"".join(rec.received), tls.canonical_group(info["group"]), info["cipher"], escrow
    )


class QuantumOracle:
    """Stands in for a future quantum computer: breaks classical (EC)DH key exchanges, nothing else.

    It reads the group from the *recorded* ServerHello, and for a purely
    classical group returns the session's secrets (what Shor's algorithm plus
    the public key schedule would give); for a group with ML-KEM it returns None.
    """

    def break_session(self, recording: Recording) -> dict[str, bytes] | None:
        """The session's traffic secrets when its key exchange is classical (Shor), else None."""
        hello = next(p for t, _, p in parse_records(recording.server_to_client) if t == 22)
        group = key_share_group(hello)
        if group in tls.CLASSICAL_GROUPS:
            return dict(recording.escrow)
        return None


def _expand_label(secret: bytes, label: str, length: int, hash_name: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    full = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    algorithm = hashes.SHA384() if hash_name == "sha384" else hashes.SHA256()
    return HKDFExpand(algorithm=algorithm, length=length, info=info).derive(secret)


def _aead(cipher: str, key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

    return ChaCha20Poly1305(key) if "CHACHA20" in cipher else AESGCM(key)


def decrypt_direction(stream: bytes, cipher: str, handshake_secret: bytes, traffic_secret: bytes) -> list[bytes]:
    """Decrypt one direction's protected records (RFC 8446 section 5): returns application data plaintexts."""
    if cipher not in SUITES:
        raise InvalidInput(f"cipher suite {cipher!r} is not one of {', '.join(SUITES)}.")
    hash_name, key_len = SUITES[cipher]
    keys = [
        (_expand_label(s, "key", key_len, hash_name), _expand_label(s, "iv", 12, hash_name))
        for s in (handshake_secret, traffic_secret)
    ]
    phase, seq, out = 0, 0, []
    for ctype, header, payload in parse_records(stream):
        if ctype != 23:
            continue
        key, iv = keys[phase]
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))
        inner = _aead(cipher, key).decrypt(nonce, payload, header).rstrip(b"\x00")
        content, inner_type = inner[:-1], inner[-1]
        seq += 1
        if phase == 0 and inner_type == 22 and content[:1] == b"\x14":  # our Finished: switch to traffic keys
            phase, seq = 1, 0
        elif phase == 1 and inner_type == 23:
            out.append(content)
    return out


def harvest_now_decrypt_later(
    *, secret: bytes = b"patient 4711: diagnosis C34.1", groups: tuple[str, ...] = ("X25519", "X25519MLKEM768")
) -> Result:
    """Record one session per group, then play the future attacker against each recording.

    Returns
    -------
    Result
        ``artifacts["rows"]``: per group, the recorded size, what is visible in clear, whether the
        oracle broke the key exchange, and the plaintext recovered (or None);
        ``metrics["<group>.recovered"]`` is 1 when the secret was read back.
    """
    oracle = QuantumOracle()
    rows, metrics = [], {}
    for group in tls.check_groups(list(groups)):
        rec = record_session(group=group, secret=secret)
        secrets = oracle.break_session(rec)
        recovered = None
        if secrets is not None:
            plain = decrypt_direction(
                rec.client_to_server,
                rec.cipher,
                secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"],
                secrets["CLIENT_TRAFFIC_SECRET_0"],
            )
            recovered = b"".join(plain).decode(errors="replace")
        ok = recovered is not None and secret.decode() in recovered
        metrics[f"{group}.recovered"] = int(ok)
        metrics[f"{group}.recorded_bytes"] = len(rec.client_to_server) + len(rec.server_to_client)
        clear = sum(r["bytes"] for r in rec.inventory() if r["in_clear"])
        rows.append(
            {
                "group": group,
                "recorded_bytes": metrics[f"{group}.recorded_bytes"],
                "bytes_in_clear": clear,
                "server_name_visible": rec.client_to_server.find(b"server.petlab.test") >= 0,
                "key_exchange_broken": secrets is not None,
                "recovered": recovered,
            }
        )
    return Result("pqc", "hndl", params={"groups": list(groups)}, metrics=metrics, artifacts={"rows": rows})


def hybrid_combiner(*, message: bytes = b"patient 4711: diagnosis C34.1") -> Result:
    """The hybrid key exchange at the level of the primitives, and the attacker who broke only X25519.

    Client and server run X25519 and ML-KEM-768, concatenate the two shared
    secrets (ML-KEM first, as X25519MLKEM768 does), extract a key with HKDF and
    encrypt ``message``. The attacker is handed the client's X25519 private key
    (what Shor's algorithm would recover from the recorded public share), so
    knows the X25519 secret exactly, but must guess the ML-KEM secret: the
    derived key is wrong and AES-GCM rejects the ciphertext.

    Returns
    -------
    Result
        ``metrics``: ``hybrid_readable`` (False: the attacker cannot read the hybrid session),
        ``classical_readable`` (True: an X25519-only session falls), ``mlkem_ciphertext_bytes``;
        ``artifacts["guesses_needed"]``.

    References
    ----------
    IETF draft-ietf-tls-hybrid-design (concatenation combiner); NIST FIPS 203 (ML-KEM); RFC 5869 (HKDF).
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    def derive(shared: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"labkit hybrid demo").derive(shared)

    client_x, server_x = x25519.X25519PrivateKey.generate(), x25519.X25519PrivateKey.generate()
    client_kem = mlkem.MLKEM768PrivateKey.generate()
    kem_secret, kem_ct = client_kem.public_key().encapsulate()  # server side
    server_shared = kem_secret + server_x.exchange(client_x.public_key())
    client_shared = client_kem.decapsulate(kem_ct) + client_x.exchange(server_x.public_key())
    nonce = os.urandom(12)
    ciphertext = AESGCM(derive(server_shared)).encrypt(nonce, message, None)
    assert AESGCM(derive(client_shared)).decrypt(nonce, ciphertext, None) == message

    # The attacker: X25519 broken (private key recovered), ML-KEM secret unknown -> a guess.
    x_secret = client_x.exchange(server_x.public_key())
    guess = os.urandom(32) + x_secret
    try:
        AESGCM(derive(guess)).decrypt(nonce, ciphertext, None)
        attacker_reads = True
    except InvalidTag:
        attacker_reads = False
    # For contrast, a classical-only session keyed from the X25519 secret alone falls to the same attacker.
    classical_ct = AESGCM(derive(x_secret)).encrypt(nonce, message, None)
    classical_reads = AESGCM(derive(x_secret)).decrypt(nonce, classical_ct, None) == message
    return Result(
        "pqc",
        "hybrid_combiner",
        params={"message_bytes": len(message)},
        metrics={
            "x25519_secret_known": True,
            "mlkem_secret_known": False,
            "hybrid_readable": attacker_reads,
            "classical_readable": classical_reads,
            "mlkem_ciphertext_bytes": len(kem_ct),
        },
        artifacts={"guesses_needed": "2^256 (the ML-KEM shared secret is 32 random bytes)"},
    )
