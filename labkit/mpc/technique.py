"""Secure multi-party computation in the technique registry: identity, anchors, readings, chart points, doctor.

MPC has no claim of the practitioner guide; CrypTen's published 2-party
figures (:data:`PUBLISHED`) are its anchors, declared here once: the claims
check (:func:`readings`), the benchmark's closing note and notebook 05's
exercise all read them from this module.

Importing this module is cheap: torch and CrypTen load only when a door is called.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984), and CrypTen's benchmark suite
(the figures of PUBLISHED).
"""

from __future__ import annotations

from .. import overview, report
from ..claims import Claim
from ..results import Result, ResultStore
from ..techniques import Check, Technique

KEY = "mpc"

# CrypTen's published 2-party CPU inference figures (label, plaintext ms, private ms): Knott et al. 2021 and its benchmark suite.
PUBLISHED: dict[str, tuple[str, float, float]] = {
    "breast_cancer_logreg": ("logistic regression", 0.11, 61.0),
    "digits_mlp": ("3-layer MLP", 2.3, 264.0),
}
SOURCE = "CrypTen benchmarks (Knott et al., NeurIPS 2021)"
SIMILAR_WITHIN = 3.0  # a measured ratio within this factor of a published one is "similar"


def published_ratio(model: str) -> float:
    """CrypTen's published private/plaintext time ratio for ``model`` (a key of :data:`PUBLISHED`)."""
    _, plain_ms, mpc_ms = PUBLISHED[model]
    return mpc_ms / plain_ms


def published_claim(model: str) -> Claim:
    """The published ratio of ``model`` as a band: within a factor :data:`SIMILAR_WITHIN` either way.

    Judged with :func:`labkit.report.verdict`: "holds" means similar.
    """
    label, plain_ms, mpc_ms = PUBLISHED[model]
    ratio = published_ratio(model)
    text = (
        f"similar to CrypTen's 2-party {label} inference {plain_ms} -> {mpc_ms} ms "
        f"(~{ratio:.0f}x, within a factor {SIMILAR_WITHIN:g})"
    )
    return Claim(text, ratio / SIMILAR_WITHIN, ratio * SIMILAR_WITHIN, source=SOURCE)


def compare_with_published(model: str, measured: float) -> str:
    """Whether ``measured`` is "below", "similar" to or "above" CrypTen's published ratio for ``model``.

    Judged by :func:`labkit.report.verdict` against :func:`published_claim`.

    >>> compare_with_published("breast_cancer_logreg", 80.0), compare_with_published("breast_cancer_logreg", 400.0)
    ('below', 'similar')
    """
    said = report.verdict(published_claim(model), measured)
    if said == report.HOLDS:
        return "similar"
    return "below" if "cheaper" in said else "above"


def readings(store: ResultStore) -> list[report.Reading]:
    """No guide claim for MPC: CrypTen's published 2-party figures beside ours (``labkit bench mpc``)."""
    t = TECHNIQUE
    out = []
    for name, (label, plain_ms, mpc_ms) in PUBLISHED.items():
        found = [r for r in store.query(KEY, f"{name}_inference") if r.params.get("parties") == 2]
        text = (
            f"published anchor (no guide claim): CrypTen 2-party {label} inference {plain_ms} -> {mpc_ms} ms "
            f"(~{mpc_ms / plain_ms:.0f}x)"
        )
        if not found or "overhead" not in found[0].metrics:
            out.append(report.missing("mpc.anchor", Claim(text, 0, 0), KEY, t.lab, t.anchors, f"{name}, 2 parties"))
            continue
        r = found[0]
        out.append(
            report.comparison(
                "mpc.anchor",
                text,
                r,
                f"{name}, 2 parties, batch {r.params.get('n')}",
                r.metrics["overhead"],
                mpc_ms / plain_ms,
                bench=KEY,
                lab=t.lab,
                anchors=t.anchors,
            )
        )
    return out


def points(results: list[Result]) -> list[overview.Point]:
    """Private inference against plaintext, one point per stored ``<model>_inference`` Result."""
    return [
        overview.point(r, f"{r.params.get('model')} inference, {r.params.get('parties')} parties", "overhead")
        for r in results
        if r.name.endswith("_inference") and "overhead" in r.metrics
    ]


def smoke_crypten() -> str:
    """``labkit doctor``'s check: two CrypTen parties (processes, TCP loopback) add secret shares."""
    from .smoke import SMOKE_EXPECTED, smoke_add

    total = smoke_add(parties=2)
    if abs(total - SMOKE_EXPECTED) > 1e-2:
        raise RuntimeError(f"2-party secret-shared sum gave {total}, expected {SMOKE_EXPECTED}")
    return f"2 parties (processes, TCP loopback) add secret shares: sum {total:.4f}"


TECHNIQUE = Technique(
    key=KEY,
    title="Secure multi-party computation (CrypTen)",
    data_state="in use",
    protects="no single party sees another's inputs; only the agreed output is revealed",
    adversary="honest-but-curious parties that do not collude",
    notebooks=("05_mpc",),
    protection="confidentiality in use",
    best_use="private inference and secure aggregation between organisations",
    color="#7570b3",
    claim=None,
    anchors=(
        "CrypTen 2-party CPU: logistic regression inference 0.11 -> 61 ms (~560x)",
        "CrypTen 2-party CPU: 3-layer MLP inference 2.3 -> 264 ms (~115x)",
    ),
    bench_title="CrypTen private inference",
    checks=(
        Check(
            "CrypTen",
            "2-party secret-shared add",
            ("crypten", "torch"),
            "labkit.mpc.technique:smoke_crypten",
            required=True,
        ),
    ),
    benchmark="labkit.mpc.benchmark:benchmark",
    support="labkit.mpc.assess:support",
    assess="labkit.mpc.assess:assess",
    readings=readings,
    points=points,
)
