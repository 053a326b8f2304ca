"""The TEE simulation's descriptor in the technique registry: identity, claim, doctor check, doors.

The claim is declared here, once; the rest of the package reads it from
:data:`TECHNIQUE`. Importing this module imports no backend: the doctor's
operation imports what it needs when called, and the benchmark and the claims
check's readings (:func:`labkit.tee.costs.readings`, next to the cost model and
``claims_check`` it uses) are doors named by ``"module:function"``.

References
----------
The claim and anchors are declared here, with their sources.
"""

from __future__ import annotations

from .. import overview
from ..claims import Claim
from ..results import Result
from ..techniques import Check, Technique

KEY = "tee"
LAB = "07_tee_simulation"


def points(results: list[Result]) -> list[overview.Point]:
    """The overview chart's points: each measured simulation boundary, and the modelled SGX and CVM ratios."""
    out: list[overview.Point] = []
    for r in results:
        if r.name == "boundary_overhead" and "overhead" in r.metrics:
            label = f"simulated enclave boundary, batch {r.params.get('batch_size')}, width {r.params.get('hidden')}"
            out.append(
                overview.point(
                    r, label, "overhead", kind="simulated", extra="measured cost of the simulation, not of hardware"
                )
            )
        elif r.name == "modelled_hardware_overhead":
            out += [
                overview.point(r, f"modelled SGX enclave, {k[4:-2]} MB working set", k, kind="modelled")
                for k in r.metrics
                if k.startswith("sgx.")
            ]
            cvm = [k for k in r.metrics if k.startswith("cvm.")]
            if cvm:
                out.append(
                    overview.point(
                        r, "modelled confidential VM (TDX, SEV-SNP), any working set", cvm[0], kind="modelled"
                    )
                )
    return out


def smoke_tee() -> str:
    """``labkit doctor``'s operation: seal and unseal under a platform sealing key, appraise a signed quote.

    Through the simulation's own primitives, in this process (no enclave process): a
    platform launches a signed image and derives its sealing key (HKDF); state sealed
    with AES-256-GCM opens, and a flipped bit is refused; a quote over a fresh nonce is
    signed (ECDSA P-256) and appraised as trusted, and the same quote with an edited
    measurement is refused as ``bad_signature``.
    """
    import dataclasses
    import os

    from ..errors import TamperDetected
    from . import primitives as P
    from .image import EnclaveImage
    from .platform import Platform
    from .verifier import Policy, Verifier, report_data_for

    platform = Platform()
    image = EnclaveImage.build(P.generate_signing_key())
    record = platform.launch(image)
    seal_key = bytes.fromhex(record.keys["seal_key_measurement"])
    blob = P.aead_seal(seal_key, b"enclave state", b"labkit doctor")
    if P.aead_open(seal_key, blob, b"labkit doctor") != b"enclave state":
        raise RuntimeError("sealed state did not unseal to what was sealed")
    flipped = bytes([blob[0], blob[1] ^ 1]) + blob[2:]
    try:
        P.aead_open(seal_key, flipped, b"labkit doctor")
    except TamperDetected:
        pass
    else:
        raise RuntimeError("a tampered sealed blob was accepted")
    verifier = Verifier(Policy.for_image(image, trusted_roots=[platform.root_certificate]))
    enclave_key = P.HybridPrivateKey().public.to_bytes()

    def quote_for(nonce: bytes):  # the enclave's report (MACed with its report key), signed by the platform
        report_data = report_data_for(nonce, enclave_key)
        mac = P.mac(bytes.fromhex(record.keys["report_key"]), report_data)
        return platform.quote(record.instance, report_data, mac, enclave_key)

    nonce = verifier.challenge()
    quote = quote_for(nonce)
    appraisal = verifier.appraise(quote, nonce)
    if not appraisal.passed:
        raise RuntimeError(f"an honest quote was not trusted: {appraisal}")
    nonce = verifier.challenge()
    forged = verifier.appraise(dataclasses.replace(quote_for(nonce), measurement=os.urandom(32).hex()), nonce)
    if forged.passed or "bad_signature" not in forged.codes:
        raise RuntimeError(f"a quote with an edited measurement was not refused: {forged}")
    return (
        f"AES-256-GCM state sealed and unsealed ({len(blob)} B), tampered blob refused; "
        f"{quote.scheme} quote trusted, edited quote refused ({', '.join(forged.codes)})"
    )


TECHNIQUE = Technique(
    key=KEY,
    title="Trusted execution environment (SGX/TDX/SEV-SNP), simulated",
    data_state="in use",
    protects="the host OS and operator cannot read enclave memory; attestation proves what code runs",
    adversary="malicious host or cloud operator (trusting the CPU vendor)",
    notebooks=(LAB,),
    protection="confidentiality in use",
    best_use="real-time inference, key management",
    color="#66a61e",
    claim=Claim("3-7% overhead", 1.03, 1.07),
    anchors=(
        "H100 confidential computing, LLM inference: under 7% for most queries",
        "CPU TEEs (TDX, SGX+AMX), Llama2: <10% throughput, <20% latency",
        "SGX with unmodified DNN and enclave paging: up to 26x slower",
    ),
    bench_title="TEE attestation, boundary, modelled overhead",
    checks=(
        Check(
            "TEE simulation (cryptography)",
            "AES-256-GCM seal/unseal under a platform sealing key; quote signed, appraised, tampering refused",
            ("cryptography",),
            "labkit.tee.technique:smoke_tee",
        ),
    ),
    benchmark="labkit.tee.benchmark:benchmark",
    readings="labkit.tee.costs:readings",
    points=points,
    support="labkit.tee.assess:support",
    assess="labkit.tee.assess:assess",
)
