"""The tee ``support`` and ``assess`` doors: a user's model inside the simulated enclave, and its working set vs the EPC.

Two answers, labelled apart:

- **modelled** (:func:`working_set`): the model's weights and the
  activations of one inference batch, from the layer shapes of the
  workload's program, against the enclave page cache of the lab's cost model
  (:class:`labkit.tee.costs.CostModel`: 93 MiB usable of SGX1's 128 MiB);
  whether it fits and the modelled time ratio of an SGX enclave and of a
  confidential VM. No TEE hardware is here: these are a teaching model's
  figures.
- **simulated, measured** (:func:`assess`): the model owner encrypts the
  model (its ONNX bytes) under a key the key service releases only to the
  measured image, whose code pins the model's SHA-256
  (:mod:`labkit.tee.model_enclave`); the enclave, a separate process behind
  one pipe (:class:`labkit.tee.Enclave`), attests, receives the key, opens
  the model and rebuilds it in torch; the data owner attests it too and sends
  batches encrypted under a session key. The same torch model runs in the
  host on the same batches, one thread each, interleaved: the ratio is the
  simulated boundary (encryption, framing, two pipe crossings), not memory
  encryption. Then the attacks: a modified model blob is refused
  (TamperDetected), and an image serving a modified model (another
  measurement) gets no model key and no client session.

References
----------
Costan, Devadas, "Intel SGX Explained", IACR ePrint 2016/086 (EPC, measurement).
Arnautov et al., "SCONE: Secure Linux Containers with Intel SGX", OSDI 2016 (93 MB usable EPC).
Birkholz et al., RFC 9334 (RATS architecture: key release after appraisal).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import bench, config, validate
from ..errors import InvalidInput, TamperDetected, VerificationFailed
from ..results import Result
from ..workload import Problem, Support, Workload, default_budget_bytes, labels_from
from ..workload.graph import Program
from ..workload.support import over_budget

KEY = "tee"
BATCH = 64  # samples per inference request (the "chosen batch")
SAMPLES = (1000, 200)  # test samples sent through the enclave: full mode, fast mode
REPEATS = (60, 15)  # interleaved enclave/plaintext batch pairs timed
BYTES = 4  # float32
# Calibrated on 2 cores (digits_cnn, 1,000 samples): launch two enclave processes, torch in one, the rest.
STARTUP_SECONDS = 5.0
ENCLAVE_RSS_BYTES = (
    800 * 2**20
)  # an enclave process with torch loaded (measured RSS: 744 MiB, CPU run of the CUDA build)
MiB = 2**20


def working_set(program: Program, *, batch_size: int = BATCH) -> dict[str, float]:
    """Bytes an inference of ``batch_size`` samples touches: weights, and the largest layer's input plus output.

    Weights are every value the layers hold (weights, biases, a normalisation's scale and shift) as
    float32. Inference keeps a layer's input and output at once and frees the input after, so the
    activation term is ``batch_size * 4 * max(in + out)`` over the layers (the batch's input included).

    >>> from labkit.workload import examples
    >>> ws = working_set(examples.workload("digits_cnn").program, batch_size=1)
    >>> ws["weights_bytes"], ws["activation_bytes"]  # 1,490 weights; the ReLU: 144 values in, 144 out
    (5960.0, 1152.0)
    """
    batch = validate.integer("batch_size", batch_size, low=1, high=1 << 20)
    weights = sum(
        int(np.size(layer.params[k])) for layer in program.layers for k in ("weight", "bias", "scale", "shift")
        if k in layer.params
    )  # fmt: skip
    per_sample = max(layer.in_size + layer.out_size for layer in program.layers)
    w_bytes, a_bytes = float(weights * BYTES), float(batch * per_sample * BYTES)
    return {
        "weights_bytes": w_bytes,
        "activation_bytes": a_bytes,
        "working_set_bytes": w_bytes + a_bytes,
        "activation_bytes_per_sample": float(per_sample * BYTES),
    }


def epc_figures(program: Program, *, batch_size: int = BATCH, model=None) -> dict[str, float]:
    """The working set against the cost model's EPC: fits (0/1), modelled SGX and confidential-VM ratios (modelled)."""
    from .costs import CostModel

    model = model or CostModel()
    ws = working_set(program, batch_size=batch_size)
    mib = ws["working_set_bytes"] / MiB
    epc = model.epc_mb * MiB
    room = epc - ws["weights_bytes"]
    return {
        **ws,
        "epc_bytes": float(epc),
        "epc_fits": int(ws["working_set_bytes"] <= epc),
        "epc_fraction": ws["working_set_bytes"] / epc,
        "epc_overhead_sgx": float(model.ratio(mib, kind="sgx")),
        "epc_overhead_cvm": float(model.ratio(mib, kind="cvm")),
        "largest_batch_in_epc": float(max(0, int(room // ws["activation_bytes_per_sample"]))),
    }


def _torch_problems(workload: Workload) -> list[Problem]:
    """Each layer the torch rebuild cannot express, as a Problem (node, op, why, what to change)."""
    if workload.program is None:
        return list(workload.problems)
    from ..workload.torchmodel import to_torch

    out = []
    for layer in workload.program.layers:
        try:
            to_torch(Program((layer,), layer.in_shape, layer.out_shape))
        except InvalidInput as exc:
            out.append(
                Problem(layer.name, layer.op, f"the enclave runs the model in torch, which cannot rebuild it: {exc}",
                        "use 2-D Conv/pooling with symmetric padding, Linear, BatchNorm and the common activations")
            )  # fmt: skip
    return out


def check_support(workload: Workload, *, budget_bytes: int | None = None, batch_size: int = BATCH) -> Support:
    """Can the simulated enclave run this model, and does its working set fit the EPC? Seconds; no enclave starts.

    Returns
    -------
    Support
        Problems for layers the torch rebuild cannot express; ``estimate`` with the modelled working set
        (``working_set_bytes``, ``epc_fits``, ``epc_overhead_sgx``), ``memory_bytes`` (the enclave
        process), ``seconds`` and ``seconds_fast``.
    """
    if not isinstance(workload, Workload):
        raise InvalidInput(f"support takes a labkit.workload.Workload, not {type(workload).__name__}.")
    budget = default_budget_bytes() if budget_bytes is None else validate.integer("budget_bytes", budget_bytes)
    batch_size = validate.integer("batch_size", batch_size, low=1, high=4096)
    problems = _torch_problems(workload)
    if problems:
        return Support(KEY, tuple(problems))
    figures = epc_figures(workload.program, batch_size=batch_size)
    memory = ENCLAVE_RSS_BYTES + 4 * figures["working_set_bytes"]  # the enclave process, the host's copy, frames
    late = over_budget(memory, budget, what="the enclave process and the host's baseline")
    est = {
        **{k: figures[k] for k in ("working_set_bytes", "weights_bytes", "activation_bytes", "epc_fits")},
        "epc_overhead_sgx": figures["epc_overhead_sgx"],
        "memory_bytes": float(memory),
        "seconds": _seconds(workload, batch_size, fast=False),
        "seconds_fast": _seconds(workload, batch_size, fast=True),
    }
    notes = (
        "the model runs in torch inside the enclave process, rebuilt from the ONNX graph (one thread)",
        "the working set against the EPC is modelled (labkit.tee.costs); the boundary overhead is simulated",
        "the enclave image pins the model's SHA-256: another model is another measurement",
    )
    return Support(KEY, (late,) if late else (), est, notes)


support = check_support  # the registry's door name (labkit.tee.technique)


def _seconds(workload: Workload, batch_size: int, *, fast: bool) -> float:
    n = min(SAMPLES[1] if fast else SAMPLES[0], len(workload.X_test))
    repeat = REPEATS[1] if fast else REPEATS[0]
    macs = sum(layer.in_size * layer.out_size for layer in workload.program.layers if layer.is_affine)
    per_sample = 2e-6 + macs * 1e-9 * 0.05  # pipe, crypto, hex framing + sparse-ish compute at ~20 GFLOP/s
    batches = -(-n // batch_size) + 2 * repeat
    return STARTUP_SECONDS + batches * (2e-3 + batch_size * per_sample * 2)


def enclave_code(onnx_bytes: bytes) -> str:
    """The measured enclave source for a model: the lab's workload, the model operations, the model's pin."""
    from .image import workload_source
    from .model_enclave import model_digest

    extension = Path(__file__).with_name("model_enclave.py").read_text()
    return f"{workload_source()}\n\n{extension}\n\nMODEL_SHA256 = {model_digest(onnx_bytes)!r}\ninstall(HANDLERS, open_request)\n"


def modified_model(workload: Workload) -> bytes:
    """The workload's ONNX with one weight changed (what a host might serve instead): another model, another hash."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.ModelProto()
    proto.CopyFrom(workload.proto)
    t = proto.graph.initializer[0]
    arr = numpy_helper.to_array(t).copy()
    arr.flat[0] = arr.flat[0] + 1.0
    t.CopyFrom(numpy_helper.from_array(arr, t.name))
    return proto.SerializeToString()


class _Session:
    """The data owner's side: attest, wrap a session key to the enclave, send encrypted batches."""

    def __init__(self, enclave, policy):
        from . import primitives as P
        from .verifier import Verifier

        verifier = Verifier(policy)
        nonce = verifier.challenge()
        self.appraisal = verifier.appraise(enclave.quote(nonce), nonce)
        if not self.appraisal.passed:
            raise VerificationFailed(f"the data owner will not send data: {self.appraisal}")
        self.enclave, self.key, self.seq = enclave, os.urandom(32), 0
        enclave.open_session(P.wrap(enclave.public_key, self.key, b"session"))

    def infer(self, x: np.ndarray) -> np.ndarray:
        from . import primitives as P

        self.seq += 1
        tag = self.seq.to_bytes(8, "big")
        ct = P.aead_seal(self.key, np.ascontiguousarray(x, dtype="<f4").tobytes(), b"req" + tag)
        self.last_request = {"seq": self.seq, "ciphertext": ct.hex()}  # what the host relayed, and could resend
        reply = self.enclave.call("infer_batch", seq=self.seq, ciphertext=ct.hex())
        out = P.aead_open(self.key, bytes.fromhex(reply["ciphertext"]), b"resp" + tag, "enclave reply")
        return np.frombuffer(out, dtype="<f4").reshape(len(x), -1)


def _attack_modified_model(workload: Workload, scene: dict[str, Any]) -> dict[str, Any]:
    """Launch an image that serves a modified model, signed by the same vendor; ask for the key and a session."""
    from .enclave import Enclave
    from .image import EnclaveImage

    image = EnclaveImage.build(scene["vendor"], code=enclave_code(modified_model(workload)), config=scene["config"])
    with Enclave(image, platform=scene["platform"]) as rogue:
        nonce = scene["key_service"].challenge()
        release = scene["key_service"].release("model", rogue.quote(nonce), nonce)
        try:
            _Session(rogue, scene["policy"])
            client_trusts = True
        except VerificationFailed:
            client_trusts = False
    return {
        "released": release.released,
        "codes": list(release.appraisal.codes),
        "client_trusts": client_trusts,
        "measurement": image.measurement.hex()[:16],
    }


def assess(
    workload: Workload,
    *,
    support: Support | None = None,
    progress: bool = False,
    fast: bool | None = None,
    batch_size: int = BATCH,
    samples: int | None = None,
    repeat: int | None = None,
    scheme: str = "ecdsa-p256",
) -> Result:
    """The workload's model inside the simulated enclave vs the same model in the host, and its EPC figures.

    Parameters
    ----------
    workload : Workload
    support : Support, optional
        The answer of :func:`check_support` (asked here when omitted).
    progress : bool
        A progress bar over the batches sent through the enclave.
    fast : bool, optional
        Fewer samples and timed pairs (default: ``LABKIT_FAST``).
    batch_size : int
        Samples per request (and the batch of the working set).
    samples : int, optional
        Test samples sent through the enclave (default 1,000, 200 in fast mode; at most the test set).
    repeat : int, optional
        Interleaved enclave/plaintext batch pairs timed (default 60, 15 in fast mode).
    scheme : {"ecdsa-p256", "ml-dsa-65"}
        Signature scheme of the simulated vendor chain and quotes.

    Returns
    -------
    Result
        ``tee/assess``: ``accuracy_plain``, ``accuracy_private``, ``agreement``, ``max_abs_error``,
        ``overhead`` (enclave batch / plaintext batch, median, with the IQR of paired ratios),
        per-sample latencies, the protection measured (``tamper_refused``, ``modified_model_key_released``,
        ``modified_model_client_trusts``, ``host_saw_inputs``, ``host_saw_outputs``), the modelled EPC
        figures (``working_set_bytes``, ``epc_fits``, ``epc_overhead_sgx``...) and the enclave process's
        measured RSS; ``artifacts["provenance"]`` labels each metric.
    """
    from tqdm.auto import tqdm

    from ..workload.torchmodel import input_tensor, to_torch
    from .enclave import Enclave
    from .image import EnclaveImage
    from .keyservice import KeyService, encrypt_model
    from .platform import Platform
    from .verifier import Policy, Verifier

    if not isinstance(workload, Workload):
        raise InvalidInput(f"assess takes a labkit.workload.Workload, not {type(workload).__name__}.")
    fast = config.fast() if fast is None else bool(fast)
    batch_size = validate.integer("batch_size", batch_size, low=1, high=4096)
    validate.choice("scheme", scheme, ("ecdsa-p256", "ml-dsa-65"))
    wanted = SAMPLES[int(fast)] if samples is None else validate.integer("samples", samples, high=100_000)
    n = min(wanted, len(workload.X_test))
    repeat = validate.integer("repeat", repeat, low=3, high=10_000) if repeat is not None else REPEATS[int(fast)]
    found = support if support is not None else check_support(workload, batch_size=batch_size)
    if not found.supported:
        return Result(KEY, "assess", params=workload.tag(), metrics={"supported": 0},
                      artifacts={"unsupported": [p.as_dict() for p in found.problems], "support": found.as_dict()})  # fmt: skip
    import torch

    figures = epc_figures(workload.program, batch_size=batch_size)
    X, y = workload.X_test[:n], workload.y_test[:n]
    final = workload.program.final
    host_model = to_torch(workload)
    timings: dict[str, float] = {}
    platform = Platform(scheme=scheme)
    vendor = _signing_key(scheme)
    cfg = {"query_budget": 10**9}
    image = EnclaveImage.build(vendor, code=enclave_code(workload.onnx_bytes), config=cfg)
    policy = Policy.for_image(image, trusted_roots=[platform.root_certificate], min_platform_tcb=platform.tcb)
    key_service = KeyService(Verifier(policy))
    blob = encrypt_model(workload.onnx_bytes, key_service.add_key("model"))  # the model owner's step
    scene = {"vendor": vendor, "platform": platform, "key_service": key_service, "policy": policy, "config": cfg}
    batches = [slice(i, i + batch_size) for i in range(0, n, batch_size)]
    bar = tqdm(total=len(batches) + repeat, desc=f"tee: {workload.name} in the enclave", unit="batch",
               disable=not progress)  # fmt: skip
    threads = torch.get_num_threads()
    start = time.perf_counter()
    enclave = Enclave(image, platform=platform)
    try:
        timings["launch_s"] = time.perf_counter() - start
        start = time.perf_counter()
        nonce = key_service.challenge()
        release = key_service.release("model", enclave.quote(nonce), nonce)
        if not release.released:
            raise VerificationFailed(f"the key service refused the audited enclave: {release.appraisal}")
        enclave.install_key("model", release.wrapped)
        timings["attest_s"] = time.perf_counter() - start
        tampered = bytearray(blob)
        tampered[len(blob) // 2] ^= 0x01  # the host flips one bit of the stored blob
        try:
            enclave.call("load_workload_model", blob=bytes(tampered).hex())
            tamper_refused = 0
        except TamperDetected:
            tamper_refused = 1
        start = time.perf_counter()
        loaded = enclave.call("load_workload_model", blob=blob.hex())
        enclave.resume()  # no sealed state yet: start fresh (the platform counter says so)
        session = _Session(enclave, policy)
        timings["load_s"] = time.perf_counter() - start
        outputs = []
        for s in batches:
            outputs.append(session.infer(X[s]))
            bar.update(1)
        private_logits = np.concatenate(outputs)
        last = X[batches[-1]]
        host_saw_inputs = enclave.host_saw(np.ascontiguousarray(last, dtype="<f4").tobytes())
        host_saw_outputs = enclave.host_saw(np.ascontiguousarray(outputs[-1], dtype="<f4").tobytes())
        xb = X[:batch_size]
        xt = input_tensor(workload, xb)

        def plaintext():
            with torch.no_grad():
                return host_model(xt).numpy()

        def inside():
            out = session.infer(xb)
            bar.update(1)
            return out

        torch.set_num_threads(1)  # the enclave runs one thread; so does the baseline
        try:
            ov = bench.overhead(inside, plaintext, repeat=repeat, warmup=3,
                                names=("enclave inference", "plaintext inference"))  # fmt: skip
        finally:
            torch.set_num_threads(threads)
        enclave_rss = _rss(enclave.pid)
        replay_refused = _replay_refused(enclave, session.last_request)
        status = enclave.status()
    finally:
        bar.close()
        enclave.close()
    start = time.perf_counter()
    rogue = _attack_modified_model(workload, scene)
    timings["attack_s"] = time.perf_counter() - start
    with torch.no_grad():
        host_logits = host_model(input_tensor(workload, X)).numpy()
    plain_labels = workload.predict(X)
    private_labels = labels_from(private_logits, final=final)
    metrics: dict[str, float] = {
        "supported": 1,
        "samples": n,
        "batch_size": batch_size,
        "accuracy_plain": float(np.mean(plain_labels == y)),
        "accuracy_private": float(np.mean(private_labels == y)),
        "agreement": float(np.mean(private_labels == labels_from(host_logits, final=final))),
        "agreement_original": float(np.mean(private_labels == plain_labels)),
        "max_abs_error": float(np.max(np.abs(private_logits - workload.logits(X)))),
        "enclave_batch_s": ov.candidate.median,
        "plaintext_batch_s": ov.baseline.median,
        "per_sample_enclave_us": ov.candidate.median / len(xb) * 1e6,
        "per_sample_plaintext_us": ov.baseline.median / len(xb) * 1e6,
        "tamper_refused": tamper_refused,
        "replay_refused": replay_refused,
        "modified_model_key_released": int(rogue["released"]),
        "modified_model_client_trusts": int(rogue["client_trusts"]),
        "host_saw_inputs": int(host_saw_inputs),
        "host_saw_outputs": int(host_saw_outputs),
        "enclave_parameters": loaded["parameters"],
        "served": status["served"],
        "enclave_rss_bytes": enclave_rss,
        **timings,
        **{k: v for k, v in figures.items() if k != "activation_bytes_per_sample"},
    }
    if enclave_rss:
        from .costs import CostModel

        metrics["epc_overhead_sgx_with_runtime"] = float(CostModel().ratio(enclave_rss / MiB, kind="sgx"))
    result = Result(KEY, "assess", params={"batch_size": batch_size, "samples": n, "repeat": repeat,
                                           "scheme": scheme, "fast": fast, "threads": 1})  # fmt: skip
    result.metrics.update(metrics)
    result.add_overhead("overhead", ov)
    modelled = {*figures, "epc_overhead_sgx_with_runtime"}
    provenance = {k: "modelled" if k in modelled else "measured" for k in result.metrics}
    provenance.update({k: "simulated" for k in ("overhead", "overhead_low", "overhead_high", "enclave_batch_s",
                                                 "per_sample_enclave_us", "launch_s", "attest_s", "load_s")})  # fmt: skip
    result.artifacts.update(
        provenance=provenance,
        findings=_findings(result.metrics, rogue),
        reproduce="labkit.assess(workload, techniques=['tee'])",
        cli="labkit assess --model MODEL --data DATA --techniques tee",
        measurement=image.measurement.hex()[:16],
        modified_model=rogue,
        notes=list(found.notes),
        estimate=dict(found.estimate),
        cost_model={"epc_mib": figures["epc_bytes"] / MiB, "source": "labkit.tee.costs.CostModel"},
    )
    return result.flag("simulated TEE: no hardware memory encryption; EPC figures are modelled")


def _replay_refused(enclave, request: dict[str, Any]) -> int:
    """The host resends a request frame it relayed (same sequence number, same ciphertext): 1 when refused."""
    from .enclave import EnclaveError

    try:
        enclave.call("infer_batch", **request)
    except EnclaveError as exc:
        return int("replayed" in str(exc))
    return 0


def _signing_key(scheme: str):
    from . import primitives as P

    return P.generate_signing_key(scheme)


def _rss(pid: int | None) -> float:
    """Resident memory of the enclave process (bytes; 0 when it cannot be read)."""
    try:
        import psutil

        return float(psutil.Process(pid).memory_info().rss) if pid else 0.0
    except Exception:  # the process ended, or psutil is missing: report nothing rather than a guess
        return 0.0


def _findings(m: dict[str, float], rogue: dict[str, Any]) -> list[str]:
    fits = "fits in" if m["epc_fits"] else "exceeds"
    out = [
        f"Modelled: weights {m['weights_bytes'] / 1024:,.1f} KiB plus activations of a batch of {m['batch_size']:.0f} "
        f"({m['activation_bytes'] / 1024:,.1f} KiB) make a working set of {m['working_set_bytes'] / MiB:,.2f} MiB, "
        f"which {fits} the {m['epc_bytes'] / MiB:.0f} MiB enclave page cache of the lab's cost model "
        f"({m['epc_fraction'] * 100:.2f}% of it): modelled SGX ratio {m['epc_overhead_sgx']:.2f}x, "
        f"confidential VM {m['epc_overhead_cvm']:.2f}x; up to {m['largest_batch_in_epc']:,.0f} samples per batch fit.",
        f"Simulated: a batch of {m['batch_size']:.0f} through the enclave process takes "
        f"{m['enclave_batch_s'] * 1e3:.2f} ms against {m['plaintext_batch_s'] * 1e3:.2f} ms in the host: "
        f"{m['overhead']:.2f}x (IQR {m['overhead_low']:.2f}-{m['overhead_high']:.2f}), the boundary's encryption, "
        "framing and pipe crossings, not memory encryption.",
        f"The enclave's predictions agree with the same model in the host on {m['agreement'] * 100:.1f}% of "
        f"{m['samples']:.0f} test samples (accuracy {m['accuracy_private']:.3f} inside, {m['accuracy_plain']:.3f} as "
        f"given; largest output difference {m['max_abs_error']:.1e}).",
    ]
    if m["tamper_refused"]:
        out.append("A model blob with one bit flipped by the host was refused by the enclave (TamperDetected).")
    else:
        out.append("A model blob with one bit flipped by the host was NOT refused.")
    if m["replay_refused"]:
        out.append("A request the host had relayed and sent again was refused (its sequence number was used).")
    else:
        out.append("A request the host had relayed and sent again was NOT refused.")
    verdict = "got no model key" if not m["modified_model_key_released"] else "WAS given the model key"
    client = "refused to open a session with it" if not m["modified_model_client_trusts"] else "trusted it"
    out.append(
        f"An image serving a modified model (one weight changed, measurement {rogue['measurement']}...) {verdict} "
        f"({', '.join(rogue['codes']) or 'no reason'}), and the data owner {client}."
    )
    out.append(
        f"The host relayed every frame and saw the plaintext inputs: {bool(m['host_saw_inputs'])}; outputs: "
        f"{bool(m['host_saw_outputs'])}."
    )
    if m.get("enclave_rss_bytes"):
        out.append(
            f"The enclave process (Python, torch and the model) held {m['enclave_rss_bytes'] / MiB:,.0f} MiB resident; "
            f"in an SGX enclave that whole runtime would count against the EPC (modelled ratio "
            f"{m['epc_overhead_sgx_with_runtime']:.1f}x); the model's confidential-VM ratio has no such limit "
            f"({m['epc_overhead_cvm']:.2f}x)."
        )
    return out
