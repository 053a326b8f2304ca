"""The pqc ``support`` and ``assess`` doors: one model update of the user's architecture over hybrid vs classical TLS.

A federated client sends its model update to the server after every round.
Anyone on the path can record that upload today; if the session's key
exchange is classical (X25519), a future quantum computer recovers its keys
from the recording and reads the update, and an update leaks its client's
data (gradient inversion). :func:`assess` measures what hybrid ML-KEM
(X25519MLKEM768) costs for an update of this architecture, and what it stops:

- the update: every trainable parameter of the model (weights, biases,
  normalisation scales and shifts) as little-endian float32, in the federated
  round's envelope (an 8-byte length, then the values), uploaded with
  ``PUT <n>`` to the capstone's upload server
  (:class:`labkit.capstone.transport.UploadServer`: mutual TLS 1.3, client
  certificate from the lab CA);
- two such servers on 127.0.0.1, one accepting only X25519MLKEM768, one only
  X25519, each connection driven by the lab's byte-counting client
  (:func:`labkit.pqc.tls.client_connection`) and the two timed interleaved
  (:func:`labkit.bench.overhead`): handshake and transfer time, bytes on the
  wire each way, the key-share bytes;
- one more connection of each kind, recorded, is handed to the lab's stand-in
  for a future quantum computer (:class:`labkit.pqc.hndl.QuantumOracle`): the
  classical recording is decrypted and the update read back; the hybrid one
  stays closed;
- loopback has no delay: :mod:`labkit.pqc.linkmodel` adds round trips and
  bandwidth for two named links (labelled "modelled").

No TLS code here: OpenSSL (through pyOpenSSL) does the handshakes and records.

References
----------
RFC 8446, TLS 1.3; IETF draft-ietf-tls-ecdhe-mlkem (X25519MLKEM768); NIST FIPS 203 (ML-KEM).
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019 (what an update reveals).
Mosca, "Cybersecurity in an era with quantum computers: will we be ready?", IEEE S&P 2018.
"""

from __future__ import annotations

import math
import struct
import time
from typing import Any

import numpy as np

from .. import bench, config, validate
from ..errors import InvalidInput
from ..results import Result
from ..workload import Problem, Support, Workload, default_budget_bytes
from ..workload.support import over_budget

KEY = "pqc"
HYBRID, CLASSICAL = "X25519MLKEM768", "X25519"
BASELINE_CERT = "ecdsa-p256"
CERTS = ("ecdsa-p256", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87")
MLKEM768_PUBLIC_KEY, MLKEM768_CIPHERTEXT = 1184, 1088  # FIPS 203, bytes
REPEATS = (200, 100)  # interleaved connection pairs: full mode, fast mode
LINKS = ("broadband", "mobile 4G")  # linkmodel profiles for the modelled figures
RECORD_PLAINTEXT = 16384  # TLS 1.3 record payload limit (RFC 8446 section 5.1)
RECORD_EXPANSION = 22  # 5-byte header + 1 inner content type + 16-byte AEAD tag per record
MAX_UPLOAD = 16 * 1024 * 1024  # the upload server's limit (labkit.capstone.transport.MAX_UPLOAD)
# Calibrated on 2 cores (digits_cnn, 1,000 samples): set-up (certificates, servers) and one connection.
SETUP_SECONDS = 0.6
CONNECTION_SECONDS = 0.004
BYTES_PER_SECOND = 150e6  # loopback TLS throughput of one upload, both sides in this process


def update_vector(workload: Workload) -> tuple[np.ndarray, str]:
    """The trainable parameters of the model, flattened in layer order, and where the count came from.

    From the feed-forward program: weights and biases, and a scale and a shift per channel of each
    normalisation (the trainable pair). Outside that subset: every weight tensor of the ONNX graph.
    """
    program = workload.program
    if program is not None:
        parts = []
        for layer in program.layers:
            keys = ("scale", "shift") if layer.kind == "batchnorm" else ("weight", "bias")
            parts += [np.asarray(layer.params[k], dtype=np.float32).ravel() for k in keys if k in layer.params]
        vec = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return vec, "the program's trainable parameters"
    from onnx import numpy_helper

    parts = [np.asarray(numpy_helper.to_array(t), dtype=np.float32).ravel() for t in workload.proto.graph.initializer]
    vec = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return vec, "every weight tensor of the ONNX graph (the graph is outside the feed-forward subset)"


def envelope(update: np.ndarray) -> bytes:
    """An update as the federated round frames it: 8-byte little-endian length, then the values (float32 LE)."""
    body = np.ascontiguousarray(update, dtype="<f4").tobytes()
    return struct.pack("<Q", len(body)) + body


def request(update: np.ndarray) -> bytes:
    """What the client writes into the TLS session: ``PUT <n>\\n`` and the envelope (the upload server's protocol)."""
    payload = envelope(update)
    return f"PUT {len(payload)}\n".encode() + payload


def expected_upload_wire_bytes(message_bytes: int) -> int:
    """Bytes on the wire for ``message_bytes`` of application data in TLS 1.3 records (no padding)."""
    return message_bytes + RECORD_EXPANSION * max(1, math.ceil(message_bytes / RECORD_PLAINTEXT))


def _repeat(repeat: int | None, fast: bool) -> int:
    if repeat is None:
        return REPEATS[1] if fast else REPEATS[0]
    return validate.integer("repeat", repeat, low=3, high=5000)


def _estimate(n_params: int, repeat: int) -> dict[str, float]:
    wire = expected_upload_wire_bytes(len(request(np.zeros(n_params, np.float32)))) if n_params < 1 << 22 else 0
    wire = wire or n_params * 4
    per = CONNECTION_SECONDS + 3 * wire / BYTES_PER_SECOND  # serialise, encrypt + decrypt, server copy
    return {"seconds": SETUP_SECONDS + 2 * (repeat + 3) * per, "update_bytes": 4.0 * n_params}


def check_support(workload: Workload, *, budget_bytes: int | None = None) -> Support:
    """Can one update of this model travel over the lab's TLS, and at what cost? No handshake runs.

    Returns
    -------
    Support
        ``estimate``: ``parameters``, ``update_bytes``, ``memory_bytes``, ``seconds`` and
        ``seconds_fast`` (the default and the fast run); problems when the model has no parameters,
        when the update exceeds the upload server's limit, or when this OpenSSL has no hybrid group.
    """
    if not isinstance(workload, Workload):
        raise InvalidInput(f"support takes a labkit.workload.Workload, not {type(workload).__name__}.")
    budget = default_budget_bytes() if budget_bytes is None else validate.integer("budget_bytes", budget_bytes)
    vec, source = update_vector(workload)
    n = int(vec.size)
    problems = []
    if n == 0:
        problems.append(
            Problem("(whole model)", "parameters", "the model has no weights: there is no update to send",
                    "export the model with its trained layers")
        )  # fmt: skip
    message = n * 4 + 8 + 20
    if message > MAX_UPLOAD:
        problems.append(
            Problem(
                "(whole model)",
                "update size",
                f"one update is {message / 2**20:,.1f} MiB; the lab's upload server takes at most "
                f"{MAX_UPLOAD / 2**20:.0f} MiB per upload",
                "assess a smaller model, or a part of it (the handshake cost does not depend on the update size)",
            )
        )
    from .handshakes import available_groups

    if HYBRID not in available_groups():
        problems.append(
            Problem("(environment)", HYBRID, "this OpenSSL does not offer the hybrid group",
                    "install the lab's pinned cryptography (it bundles OpenSSL with ML-KEM)")
        )  # fmt: skip
    memory = 8 * message + 32 * 2**20  # the update, its copies (request, recorder, server) and OpenSSL
    late = over_budget(memory, budget, what="one update over TLS")
    if late:
        problems.append(late)
    est = {
        "parameters": float(n),
        **_estimate(n, REPEATS[0]),
        "seconds_fast": _estimate(n, REPEATS[1])["seconds"],
        "memory_bytes": float(memory),
    }
    notes = (
        f"the update is {source}, as float32 (the capstone round sends float64: twice the bytes)",
        f"both sessions use mutual TLS 1.3 with {BASELINE_CERT} certificates unless cert= says otherwise; "
        "only the key exchange differs",
        "loopback: no network delay; a modelled WAN figure is added",
    )
    return Support(KEY, tuple(problems), est, notes)


support = check_support  # the registry's door name (labkit.pqc.technique)


class _Uploader:
    """One upload server and a client configured for it; :meth:`run` sends one update on a new connection."""

    def __init__(self, group: str, cert: str, timeout: float):
        from ..capstone.transport import UploadServer
        from . import tls

        self.group = group
        self.server = UploadServer(cert=cert, groups=group, timeout=timeout)
        self.ctx, self.tap = tls.client_context(
            self.server.chain.ca_file, [group], client_chain=self.server.client_chain
        )
        self.timeout = timeout
        self.infos: list[dict[str, Any]] = []
        self.uploads = self.intact = 0
        self.last_received = b""

    def _collect(self, data: bytes) -> None:
        """Take what the server kept of this upload (it keeps it before answering OK) and compare it to what was sent."""
        got = self.server.received.pop() if self.server.received else b""
        self.uploads += 1
        self.intact += int(got == data[data.index(b"\n") + 1 :])
        self.last_received = got

    def run(self, data: bytes, *, keep: bool = True) -> dict[str, Any]:
        from . import tls

        info = tls.client_connection(
            self.ctx, self.tap, self.server.address, self.server.chain.hostname, timeout=self.timeout,
            request=data, expect=2, server_error=self.server.last_error, mutual=True,
        )  # fmt: skip
        if info["reply"][:2] != b"OK":
            raise InvalidInput(f"the upload server did not acknowledge the update (got {info['reply'][:20]!r}).")
        self._collect(data)
        if keep:
            self.infos.append(info)
        return info

    def record(self, data: bytes):
        """One more upload with OpenSSL's key log kept aside for the oracle: what an eavesdropper stores."""
        from . import hndl, tls

        escrow: dict[str, bytes] = {}

        def keylog(_conn, line: bytes) -> None:
            label, _random, value = line.decode().split()
            escrow[label] = bytes.fromhex(value)

        ctx, tap = tls.client_context(self.server.chain.ca_file, [self.group], client_chain=self.server.client_chain)
        ctx.set_keylog_callback(keylog)  # a context of its own: a used one cannot change
        info = tls.client_connection(
            ctx, tap, self.server.address, self.server.chain.hostname, timeout=self.timeout,
            request=data, expect=2, server_error=self.server.last_error, mutual=True,
        )  # fmt: skip
        self._collect(data)
        rec = info["recorder"]
        return hndl.Recording(
            b"".join(rec.sent), b"".join(rec.received), tls.canonical_group(info["group"]), info["cipher"], escrow
        )

    def close(self) -> None:
        self.server.close()


def _upload_wire_bytes(info: dict[str, Any]) -> int:
    """Bytes of the request's records: the first write after the handshake's writes."""
    sent, total = info["recorder"].sent, 0
    for i, chunk in enumerate(sent):
        if total == info["handshake_bytes_sent"]:
            return len(sent[i])
        total += len(chunk)
    return 0


def _hello_sizes(info: dict[str, Any]) -> tuple[int, int]:
    sizes = {kind: length for _d, kind, length in info["recorder"].messages if kind in ("ClientHello", "ServerHello")}
    return sizes.get("ClientHello", 0), sizes.get("ServerHello", 0)


def _side(infos: list[dict[str, Any]]) -> dict[str, float]:
    hs = [i["t_handshake"] - i["t_start"] for i in infos]
    tr = [i["t_done"] - i["t_handshake"] for i in infos]
    out = {}
    for name, xs in (("handshake_s", hs), ("transfer_s", tr)):
        out[name] = float(np.median(xs))
        out[f"{name}_low"], out[f"{name}_high"] = (float(v) for v in np.percentile(xs, [25, 75]))
    out["cpu_s"] = float(np.median([i["cpu"] for i in infos]))
    out["handshake_bytes_up"] = float(np.median([i["handshake_bytes_sent"] for i in infos]))
    out["handshake_bytes_down"] = float(np.median([i["handshake_bytes_received"] for i in infos]))
    out["upload_wire_bytes"] = float(np.median([_upload_wire_bytes(i) for i in infos]))
    out["bytes_up"] = out["handshake_bytes_up"] + out["upload_wire_bytes"]
    out["bytes_down"] = float(np.median([i["recorder"].bytes_received for i in infos]))
    return out


def received_model_labels(workload: Workload, payload: bytes) -> np.ndarray | None:
    """Labels the test set gets from the model rebuilt out of an update as the server received it (None off-program).

    The update's values replace the program's parameters in order (the inverse of :func:`update_vector`).
    """
    from dataclasses import replace

    from ..workload import labels_from
    from ..workload.graph import Program

    program = workload.program
    if program is None or len(payload) < 8:
        return None
    (n,) = struct.unpack("<Q", payload[:8])
    vec = np.frombuffer(payload[8 : 8 + n], dtype="<f4").astype(np.float64)
    layers, at = [], 0
    for layer in program.layers:
        params = dict(layer.params)
        for k in ("scale", "shift") if layer.kind == "batchnorm" else ("weight", "bias"):
            if k in params:
                size = int(np.size(params[k]))
                params[k] = vec[at : at + size].reshape(np.shape(params[k]))
                at += size
        layers.append(replace(layer, params=params, cache={}))
    if at != vec.size:
        return None
    rebuilt = Program(tuple(layers), program.input_shape, program.output_shape, program.notes)
    return labels_from(rebuilt.forward(workload.X_test), final=program.final)


def _opened(recording, update: bytes) -> tuple[bool, bool]:
    """(key exchange broken, update read back byte for byte) for one recorded upload."""
    from . import hndl

    secrets = hndl.QuantumOracle().break_session(recording)
    if secrets is None:
        return False, False
    plain = b"".join(
        hndl.decrypt_direction(
            recording.client_to_server,
            recording.cipher,
            secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"],
            secrets["CLIENT_TRAFFIC_SECRET_0"],
        )
    )
    return True, update in plain


def assess(
    workload: Workload,
    *,
    support: Support | None = None,
    progress: bool = False,
    fast: bool | None = None,
    cert: str = BASELINE_CERT,
    repeat: int | None = None,
    timeout: float = 10.0,
) -> Result:
    """One update of the workload's model over hybrid (X25519MLKEM768) vs classical (X25519) TLS 1.3, on loopback.

    Parameters
    ----------
    workload : Workload
    support : Support, optional
        The answer of :func:`support` (asked here when omitted).
    progress : bool
        A progress bar over the connections.
    fast : bool, optional
        Fewer connections (default: ``LABKIT_FAST``).
    cert : str
        Certificate type of the hybrid sessions ("ecdsa-p256", or "ml-dsa-44/65/87" for
        post-quantum authentication too); the classical sessions always use ECDSA P-256.
    repeat : int, optional
        Interleaved connection pairs (default 200, 30 in fast mode).
    timeout : float
        Socket timeout in seconds.

    Returns
    -------
    Result
        ``pqc/assess``: ``overhead`` (median hybrid connection time / classical, with the IQR of
        the paired ratios as ``overhead_low``/``overhead_high``), ``handshake_s``/``transfer_s`` of
        each side with their IQRs, bytes on the wire each way, ``extra_handshake_bytes`` and
        ``key_share_extra_bytes``, ``update_bytes`` and its framing, the oracle's verdict on a
        recording of each session (``update_recovered_classical``/``_hybrid``), and modelled WAN
        ratios; ``artifacts["provenance"]`` labels each metric.
    """
    from tqdm.auto import tqdm

    if not isinstance(workload, Workload):
        raise InvalidInput(f"assess takes a labkit.workload.Workload, not {type(workload).__name__}.")
    fast = config.fast() if fast is None else bool(fast)
    validate.choice("cert", cert, CERTS)
    repeat = _repeat(repeat, fast)
    timeout = validate.positive("timeout (seconds)", timeout, high=120)
    found = support if support is not None else check_support(workload)
    if not found.supported:
        return Result(KEY, "assess", params=workload.tag(), metrics={"supported": 0},
                      artifacts={"unsupported": [p.as_dict() for p in found.problems], "support": found.as_dict()})  # fmt: skip
    vec, source = update_vector(workload)
    data = request(vec)
    body = envelope(vec)[8:]
    accuracy = workload.accuracy()
    start = time.perf_counter()
    bar = tqdm(total=2 * (repeat + 2), desc=f"pqc: {workload.name} update over TLS", unit="conn", disable=not progress)
    hybrid = classical = None
    try:
        hybrid = _Uploader(HYBRID, cert, timeout)
        classical = _Uploader(CLASSICAL, BASELINE_CERT, timeout)

        def step(uploader):
            uploader.run(data)
            bar.update(1)

        ov = bench.overhead(lambda: step(hybrid), lambda: step(classical), repeat=repeat, warmup=1,
                            names=(f"{HYBRID} + {cert}", f"{CLASSICAL} + {BASELINE_CERT}"))  # fmt: skip
        hybrid.infos, classical.infos = hybrid.infos[1:], classical.infos[1:]  # drop the warm-up connections
        recordings = {HYBRID: hybrid.record(data), CLASSICAL: classical.record(data)}
        bar.update(2)
    finally:
        bar.close()
        for u in (hybrid, classical):
            if u is not None:
                u.close()
    measure_s = time.perf_counter() - start
    h, c = _side(hybrid.infos), _side(classical.infos)
    received = received_model_labels(workload, hybrid.last_received)
    ch_h, sh_h = _hello_sizes(hybrid.infos[-1])
    ch_c, sh_c = _hello_sizes(classical.infos[-1])
    broken = {g: _opened(r, body) for g, r in recordings.items()}
    groups = {g: r.group for g, r in recordings.items()}
    metrics: dict[str, float] = {
        "supported": 1,
        "accuracy_plain": accuracy,
        "update_intact": (hybrid.intact + classical.intact) / max(hybrid.uploads + classical.uploads, 1),
        "uploads": hybrid.uploads + classical.uploads,
        "parameters": int(vec.size),
        "update_bytes": len(body),
        "message_bytes": len(data),
        "upload_wire_bytes": h["upload_wire_bytes"],
        "framing_bytes": h["upload_wire_bytes"] - len(body),
        "handshake_s": h["handshake_s"],
        "handshake_s_low": h["handshake_s_low"],
        "handshake_s_high": h["handshake_s_high"],
        "transfer_s": h["transfer_s"],
        "transfer_s_low": h["transfer_s_low"],
        "transfer_s_high": h["transfer_s_high"],
        "classical_handshake_s": c["handshake_s"],
        "classical_handshake_s_low": c["handshake_s_low"],
        "classical_handshake_s_high": c["handshake_s_high"],
        "classical_transfer_s": c["transfer_s"],
        "classical_transfer_s_low": c["transfer_s_low"],
        "classical_transfer_s_high": c["transfer_s_high"],
        "connection_s": ov.candidate.median,
        "classical_connection_s": ov.baseline.median,
        "handshake_overhead": h["handshake_s"] / max(c["handshake_s"], 1e-12),
        "cpu_s": h["cpu_s"],
        "classical_cpu_s": c["cpu_s"],
        "cpu_overhead": h["cpu_s"] / max(c["cpu_s"], 1e-12),
        "bytes_client_to_server": h["bytes_up"],
        "bytes_server_to_client": h["bytes_down"],
        "classical_bytes_client_to_server": c["bytes_up"],
        "classical_bytes_server_to_client": c["bytes_down"],
        "handshake_bytes_client_to_server": h["handshake_bytes_up"],
        "handshake_bytes_server_to_client": h["handshake_bytes_down"],
        "classical_handshake_bytes_client_to_server": c["handshake_bytes_up"],
        "classical_handshake_bytes_server_to_client": c["handshake_bytes_down"],
        "extra_handshake_bytes": (h["handshake_bytes_up"] + h["handshake_bytes_down"])
        - (c["handshake_bytes_up"] + c["handshake_bytes_down"]),
        "key_share_extra_bytes": (ch_h - ch_c) + (sh_h - sh_c),
        "client_hello_bytes": ch_h,
        "classical_client_hello_bytes": ch_c,
        "connections": 2 * len(hybrid.infos),
        "update_recovered_classical": int(broken[CLASSICAL][1]),
        "update_recovered_hybrid": int(broken[HYBRID][1]),
        "key_exchange_broken_hybrid": int(broken[HYBRID][0]),
        "measure_s": measure_s,
    }
    result = Result(KEY, "assess", params={"cert": cert, "classical_cert": BASELINE_CERT, "repeat": repeat,
                                           "hybrid_group": HYBRID, "classical_group": CLASSICAL,
                                           "dtype": "float32", "fast": fast})  # fmt: skip
    if received is not None:  # the server's copy of the model predicts as the client's
        metrics["accuracy_private"] = float(np.mean(received == workload.y_test))
        metrics["agreement"] = float(np.mean(received == workload.predict(workload.X_test)))
        metrics["agreement_original"] = metrics["agreement"]
    result.add_overhead("overhead", ov)
    metrics.update(_modelled(h, c, upload=int(h["upload_wire_bytes"])))
    result.metrics.update(metrics)
    provenance = {k: "modelled" if k.startswith("modelled_") else "measured" for k in result.metrics}
    result.timings["transfer"] = bench.Timing("transfer", tuple(i["t_done"] - i["t_handshake"] for i in hybrid.infos))
    result.timings["handshake"] = bench.Timing(
        "handshake", tuple(i["t_handshake"] - i["t_start"] for i in hybrid.infos)
    )
    result.artifacts.update(
        provenance=provenance,
        findings=_findings(result.metrics, cert=cert),
        reproduce="labkit.assess(workload, techniques=['pqc'])",
        cli="labkit assess --model MODEL --data DATA --techniques pqc",
        negotiated=groups,
        cipher=recordings[HYBRID].cipher,
        update=source,
        notes=list(found.notes),
        estimate=dict(found.estimate),
        links={name: _link_row(name) for name in LINKS},
        setting="loopback (127.0.0.1): no propagation delay, 64 KiB MTU; a WAN link adds round trips and "
        "bandwidth limits (see the modelled figures)",
    )
    return result


def _link_row(name: str) -> dict[str, float]:
    from .linkmodel import PROFILES

    rtt, bandwidth = PROFILES[name]
    return {"rtt_s": rtt, "bandwidth_bit_s": bandwidth}


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_")


def _modelled(h: dict[str, float], c: dict[str, float], *, upload: int) -> dict[str, float]:
    """Handshake and update time on named links (labkit.pqc.linkmodel), from the bytes and CPU measured here."""
    from .linkmodel import PROFILES, Link, compare

    out = {}
    for name in LINKS:
        link = Link(*PROFILES[name])
        side = {k: {"bytes_up": int(s["handshake_bytes_up"]), "bytes_down": int(s["handshake_bytes_down"]),
                    "cpu": s["cpu_s"]} for k, s in (("candidate", h), ("baseline", c))}  # fmt: skip
        found = compare(link, candidate=side["candidate"], baseline=side["baseline"], transfer=upload)
        out[f"modelled_overhead_{_slug(name)}"] = found["ttlb_ratio"]
        out[f"modelled_connection_s_{_slug(name)}"] = found["ttlb_s"]
        out[f"modelled_classical_connection_s_{_slug(name)}"] = found["baseline_ttlb_s"]
    return out


def _findings(m: dict[str, float], *, cert: str) -> list[str]:
    out = [
        f"The server received {m['update_intact'] * 100:.0f}% of the {m['uploads']:.0f} uploads byte for byte"
        + (
            f"; the model rebuilt from the update it received agrees with the client's on {m['agreement'] * 100:.1f}% "
            f"of the test set (accuracy {m['accuracy_private']:.3f})."
            if "agreement" in m
            else "."
        ),
        f"One update of this model ({m['parameters']:,} parameters) is {m['update_bytes']:,} bytes as float32; with "
        f"the round's framing and TLS records it puts {m['upload_wire_bytes']:,.0f} bytes on the wire "
        f"({m['framing_bytes']:,.0f} bytes of framing).",
        f"The hybrid handshake ({HYBRID}, {cert} certificates) carries {m['extra_handshake_bytes']:,.0f} more bytes "
        f"than the classical one ({CLASSICAL}); {m['key_share_extra_bytes']:,} of them are the key shares "
        f"(ML-KEM-768: {MLKEM768_PUBLIC_KEY:,}-byte public key up, {MLKEM768_CIPHERTEXT:,}-byte ciphertext down).",
        f"On loopback, a connection that uploads the update takes {m['connection_s'] * 1e3:.2f} ms hybrid against "
        f"{m['classical_connection_s'] * 1e3:.2f} ms classical: {m['overhead']:.2f}x (IQR {m['overhead_low']:.2f}-"
        f"{m['overhead_high']:.2f}); handshake {m['handshake_s'] * 1e3:.2f} vs "
        f"{m['classical_handshake_s'] * 1e3:.2f} ms, transfer {m['transfer_s'] * 1e3:.2f} vs "
        f"{m['classical_transfer_s'] * 1e3:.2f} ms; CPU time per connection (client and server) "
        f"{m['cpu_s'] * 1e3:.2f} vs {m['classical_cpu_s'] * 1e3:.2f} ms ({m['cpu_overhead']:.2f}x).",
    ]
    for name in LINKS:
        rtt, bw = _link_row(name).values()
        out.append(
            f"Modelled on a {name} link (RTT {rtt * 1e3:.0f} ms, {bw / 1e6:g} Mbit/s): "
            f"{m[f'modelled_connection_s_{_slug(name)}'] * 1e3:.1f} ms hybrid vs "
            f"{m[f'modelled_classical_connection_s_{_slug(name)}'] * 1e3:.1f} ms classical "
            f"({m[f'modelled_overhead_{_slug(name)}']:.3f}x)."
        )
    if m["update_recovered_classical"] and not m["update_recovered_hybrid"]:
        out.append(
            "Harvest now, decrypt later: a recording of the classical upload, opened by the lab's stand-in for a "
            "quantum computer, gave back the update byte for byte; the hybrid recording stayed closed (its key "
            "exchange was not broken)."
        )
    else:
        out.append(
            f"Harvest now, decrypt later: the classical recording was read back: {bool(m['update_recovered_classical'])}; "
            f"the hybrid one: {bool(m['update_recovered_hybrid'])}."
        )
    return out
