"""The techniques of the lab, what each protects, and the claims the lab checks.

The claimed figures come from a widely shared 2025 practitioner guide; the
published anchors from the papers and benchmarks cited in each entry (see
``shared/CLAIMS.md`` of the project). The lab measures each on the reader's
machine; notebook 00 shows this catalogue, ``labkit.report`` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Claim:
    """A claimed cost as a time ratio against plaintext (1.05 = 5% slower)."""

    text: str
    low: float
    high: float
    source: str = "practitioner guide (2025)"
    unit: str = "time ratio vs plaintext"


@dataclass(frozen=True)
class Technique:
    key: str
    name: str
    data_state: str  # "at rest", "in transit", "in use", or "output"
    protects: str
    threat: str
    lab: str  # notebook stem
    claim: Claim | None = None
    anchors: tuple[str, ...] = field(default_factory=tuple)
    best_use: str = ""
    protection: str = ""  # the dashboard's axis: what the technique buys


TECHNIQUES: tuple[Technique, ...] = (
    Technique(
        "he",
        "Homomorphic encryption (CKKS, BGV/BFV)",
        "in use",
        "the server computes on ciphertexts and never sees inputs or results",
        "honest-but-curious server",
        "02_he_inference",
        Claim("10x-100x slower than plaintext", 10.0, 100.0),
        (
            "TenSEAL tutorial: encrypted MNIST conv net 2 s per image (CKKS N=8192)",
            "CryptoNets (2016): ~3.4 ms per image amortised over 8192-image batches",
            "nGraph-HE2 (2019): 1,998 images/s batched",
        ),
        "offline batch scoring, gradient aggregation",
        "confidentiality in use",
    ),
    Technique(
        "zk",
        "Zero-knowledge proofs of inference (zk-SNARKs, ezkl)",
        "output",
        "anyone can check that a committed model produced an output, without seeing private inputs or weights",
        "dishonest prover (a model owner who swaps the model or the output)",
        "04_zk_proofs",
        Claim("prover 5x-50x slower; verification in milliseconds", 5.0, 50.0),
        (
            "ZKML-Benchmark: MLP 784-56-10 ezkl prove 2.66 s ('resources' mode)",
            "so against microsecond plaintext inference the ratio is ~10^3-10^6x",
        ),
        "audit trails, model provenance",
        "integrity of outputs",
    ),
    Technique(
        "mpc",
        "Secure multi-party computation (CrypTen)",
        "in use",
        "no single party sees another's inputs; only the agreed output is revealed",
        "honest-but-curious parties that do not collude",
        "05_mpc",
        None,
        (
            "CrypTen 2-party CPU: logistic regression inference 0.11 -> 61 ms (~560x)",
            "CrypTen 2-party CPU: 3-layer MLP inference 2.3 -> 264 ms (~115x)",
        ),
        "private inference and secure aggregation between organisations",
        "confidentiality in use",
    ),
    Technique(
        "dp",
        "Differential privacy (DP-SGD, Opacus)",
        "output",
        "the trained model reveals little about any one training record (bounded by epsilon, delta)",
        "membership-inference attacker with the model",
        "06_dp_tradeoffs",
        None,
        (
            "Opacus MNIST (CPU): DP epoch ~1.6x a non-DP epoch",
            "Opacus MNIST: 98.94% non-private, 96.78% at eps=2.91, 94.63% at eps=1.16 (delta 1e-5)",
        ),
        "training on personal data whose model is shared or published",
        "attack success prevented",
    ),
    Technique(
        "tee",
        "Trusted execution environment (SGX/TDX/SEV-SNP), simulated",
        "in use",
        "the host OS and operator cannot read enclave memory; attestation proves what code runs",
        "malicious host or cloud operator (trusting the CPU vendor)",
        "07_tee_simulation",
        Claim("3-7% overhead", 1.03, 1.07),
        (
            "H100 confidential computing, LLM inference: under 7% for most queries",
            "CPU TEEs (TDX, SGX+AMX), Llama2: <10% throughput, <20% latency",
            "SGX with unmodified DNN and enclave paging: up to 26x slower",
        ),
        "real-time inference, key management",
        "confidentiality in use",
    ),
    Technique(
        "pqc",
        "Post-quantum TLS (hybrid X25519+ML-KEM, ML-DSA)",
        "in transit",
        "traffic recorded today stays confidential against a future quantum computer",
        "future quantum attacker (harvest now, decrypt later)",
        "08_pqc_handshakes",
        Claim("under 5% overhead vs RSA-2048", 1.0, 1.05),
        (
            "ML-KEM-768: public key 1,184 B, ciphertext 1,088 B",
            "ML-KEM + ML-DSA TLS (2024 study): time-to-last-byte +<5% on fast links, handshake +32% on slow links",
        ),
        "transport, signing, key exchange",
        "confidentiality in transit",
    ),
    Technique(
        "inversion",
        "Defenses against gradient inversion (federated learning)",
        "in use",
        "shared gradients no longer let the server reconstruct training images",
        "honest-but-curious server",
        "03_gradient_inversion",
        None,
        (
            "DLG (2019): batch-1 reconstructions from gradients; pruning >~20% or noise variance >=1e-2 stops it",
            "breaching DLG ConvNet CIFAR-10 batch 1: PSNR 23.4 dB",
        ),
        "federated learning on images or text",
        "attack success prevented",
    ),
)

PROTECTIONS: tuple[str, ...] = (
    "confidentiality in transit",
    "confidentiality in use",
    "integrity of outputs",
    "attack success prevented",
)

# Claims beyond each technique's headline cost, checked by ``labkit.report``. Keyed
# "<technique>.<what>"; the headline cost of technique t is ``technique(t).claim``.
FURTHER_CLAIMS: dict[str, Claim] = {
    "he.openfhe_vs_seal": Claim(
        "OpenFHE is faster than Microsoft SEAL for both BGV and CKKS",
        0.0,
        1.0,
        unit="time ratio OpenFHE / SEAL (below 1: OpenFHE faster)",
    ),
    "zk.verify": Claim("zk-SNARK verification in milliseconds", 0.0, 1000.0, unit="milliseconds per verification"),
}

FURTHER_ANCHORS: dict[str, tuple[str, ...]] = {
    "he.openfhe_vs_seal": (
        "OpenFHE maintainers: against SEAL at N=8192, timings are close except decryption (OpenFHE floods noise) "
        "and multiplication (relinearization)",
        "OpenFHE 1.2.3 CKKS N=2^16 depth 10, single thread: multiply+relinearize 243 ms, rotate ~200 ms",
    ),
    "zk.verify": ("ZKML-Benchmark and ezkl: verification of a tiny MLP proof takes ~15 ms",),
}


THREATS: dict[str, str] = {
    "data at rest": "someone reads stored files or backups: encryption at rest and key management (TEE sealing).",
    "data in transit": "someone on the network reads or changes traffic: TLS, and post-quantum TLS against "
    "recordings kept for a future quantum computer.",
    "data in use": "the machine that computes sees the data: HE, MPC and TEEs keep it hidden while processed.",
    "honest-but-curious server": "follows the protocol but studies everything it receives (e.g. gradients).",
    "Byzantine client": "a federated client that sends poisoned or oversized updates to steer the model.",
    "future quantum attacker": "records encrypted traffic today to decrypt it once quantum computers can.",
}


def technique(key: str) -> Technique:
    """The catalogue entry for ``key`` ("he", "zk", "mpc", "dp", "tee", "pqc", "inversion")."""
    from .errors import InvalidInput

    for t in TECHNIQUES:
        if t.key == key:
            return t
    raise InvalidInput(f"unknown technique {key!r}; known: {', '.join(t.key for t in TECHNIQUES)}.")
