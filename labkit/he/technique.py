"""Homomorphic encryption in the technique registry: identity, claims, readings, chart points, doctor checks.

Importing this module is cheap: TenSEAL and OpenFHE load only when a door
(a smoke check, the benchmark) is called.

The race between OpenFHE and SEAL names a winner per operation with one rule,
:func:`race_verdict` and its tie band :data:`TIE_BAND`, declared here once and
used by the benchmark, the claims check, exercise 02.race_winner and notebook 02.

References
----------
Cheon, Kim, Kim & Song, "Homomorphic Encryption for Arithmetic of Approximate
Numbers" (CKKS), ASIACRYPT 2017. Fan & Vercauteren, "Somewhat Practical Fully
Homomorphic Encryption" (BFV), ePrint 2012/144. Brakerski, Gentry &
Vaikuntanathan (BGV), ITCS 2012. Albrecht et al., Homomorphic Encryption
Standard, 2018. Al Badawi et al., "OpenFHE", WAHC 2022.
"""

from __future__ import annotations

import math
import sys

from .. import overview, report
from ..claims import Claim
from ..results import Result, ResultStore
from ..techniques import Check, Technique

KEY = "he"
RACE_CLAIM = "he.openfhe_vs_seal"
RACE_LAB = "02_he_inference"

#: OpenFHE/SEAL time ratios within this band of 1 (or whose IQR straddles 1) are a tie.
TIE_BAND = 0.10
OPENFHE_FASTER = "OpenFHE faster"
SEAL_FASTER = "SEAL faster"
TIE = f"tie (within {TIE_BAND:.0%})"


def race_verdict(ratio: float, low: float, high: float) -> str:
    """Name the faster library from the OpenFHE/SEAL time ratio and its IQR (the race's one rule).

    Parameters
    ----------
    ratio : float
        Median OpenFHE time over median SEAL time (below 1: OpenFHE faster).
    low, high : float
        The interquartile range of the paired ratios.

    Returns
    -------
    str
        :data:`OPENFHE_FASTER`, :data:`SEAL_FASTER` or :data:`TIE`.

    >>> race_verdict(0.5, 0.45, 0.55), race_verdict(1.5, 1.3, 1.6), race_verdict(1.02, 0.9, 1.1)
    ('OpenFHE faster', 'SEAL faster', 'tie (within 10%)')
    """
    if ratio < 1 - TIE_BAND and high < 1:
        return OPENFHE_FASTER
    if ratio > 1 + TIE_BAND and low > 1:
        return SEAL_FASTER
    return TIE


def claim_position(measured: float, low: float | None = None, high: float | None = None) -> str:
    """Where a measured overhead sits against the headline claim, judged by :func:`labkit.report.verdict`.

    Returns "inside" (the claim holds), "above" (costlier than claimed), "below" (cheaper than
    claimed) or "inconclusive" (the IQR straddles a bound).

    >>> claim_position(50.0), claim_position(600.0), claim_position(5.0)
    ('inside', 'above', 'below')
    """
    found = report.verdict(TECHNIQUE.claim, measured, low, high)
    if found == report.HOLDS:
        return "inside"
    if "costlier than claimed" in found:
        return "above"
    if "cheaper than claimed" in found:
        return "below"
    return "inconclusive"


# -- the claims check ----------------------------------------------------------------------------------------------
def overhead_readings(store: ResultStore) -> list[report.Reading]:
    """Encrypted inference (and CKKS secure aggregation, notebook 03) against plaintext, same run."""
    t = TECHNIQUE
    found = [r for r in store.query(KEY) if r.name.endswith("_inference") and "overhead" in r.metrics]
    found = report.latest_by(found, lambda r: (r.name, r.params.get("backend"), r.params.get("mode")))
    out = []
    for r in sorted(found, key=lambda r: (r.name, r.params.get("mode", ""), r.params.get("backend", ""))):
        p = r.params
        setting = (
            f"{p.get('backend')}: {r.name.replace('_inference', '')} on {r.artifacts.get('dataset', 'digits')}, "
            f"{p.get('mode')} ({p.get('batch_size')} per ciphertext)"
        )
        out.append(
            report.reading(
                "he.overhead",
                t.claim,
                r,
                setting,
                r.metrics["overhead"],
                low=r.metrics.get("overhead_low"),
                high=r.metrics.get("overhead_high"),
                bench=KEY,
                lab=t.lab,
                anchors=t.anchors,
            )
        )
    agg = [
        r
        for r in store.query("inversion", "scenario")
        if str(r.params.get("secure_aggregator") or "").startswith("ckks") and "aggregation_overhead" in r.metrics
    ]
    for r in report.latest_by(agg, lambda r: r.params.get("secure_aggregator"))[:2]:
        low, high = report.iqr(r, "aggregation_overhead")
        out.append(
            report.reading(
                "he.overhead",
                t.claim,
                r,
                f"CKKS secure aggregation of {r.params.get('n_clients')} "
                f"clients' gradients ({r.params['secure_aggregator']}) vs a plain sum",
                r.metrics["aggregation_overhead"],
                low=low,
                high=high,
                bench=KEY,
                lab="03_gradient_inversion",
                anchors=t.anchors,
            )
        )
    return out or [report.missing("he.overhead", t.claim, KEY, t.lab, t.anchors)]


def race_readings(store: ResultStore) -> list[report.Reading]:
    """The op-level race at matched parameters: geometric mean of OpenFHE/SEAL time ratios per scheme and N."""
    claim, anchors = TECHNIQUE.further_claims[RACE_CLAIM]
    lab = RACE_LAB
    races = report.latest_by(
        store.query(KEY, "backend_race"),
        lambda r: (r.params.get("scheme"), r.params.get("poly_modulus_degree"), r.params.get("op")),
    )
    groups: dict[tuple, list[Result]] = {}
    for r in races:
        groups.setdefault((r.params.get("scheme"), r.params.get("poly_modulus_degree")), []).append(r)
    out = []
    for (scheme, n), rs in sorted(groups.items(), key=lambda kv: (kv[0][0] != "ckks", kv[0][0], kv[0][1])):
        paired = [r for r in rs if "openfhe_over_seal" in r.metrics]
        if not paired:
            if scheme == "bgv":
                alone = report.Reading(
                    RACE_CLAIM,
                    claim.text,
                    f"BGV, N={n}: OpenFHE timed alone",
                    None,
                    unit="OpenFHE/SEAL",
                    kind="-",
                    bench=KEY,
                    lab=lab,
                    anchors=anchors,
                    note="no SEAL side: TenSEAL does not expose SEAL's BGV",
                )
                alone.verdict = f"{report.INCONCLUSIVE}: SEAL's BGV is not reachable from Python here"
                out.append(alone)
            continue
        logs = [math.log(r.metrics["openfhe_over_seal"]) for r in paired]
        geo = math.exp(sum(logs) / len(logs))
        lo = math.exp(sum(math.log(r.metrics["openfhe_over_seal_low"]) for r in paired) / len(paired))
        hi = math.exp(sum(math.log(r.metrics["openfhe_over_seal_high"]) for r in paired) / len(paired))
        faster = [r.params["op"] for r in paired if r.artifacts.get("verdict") == OPENFHE_FASTER]
        slower = [r.params["op"] for r in paired if r.artifacts.get("verdict") == SEAL_FASTER]
        setting = f"{scheme.upper()}, N={n}, {len(paired)} ops, single thread, matched parameters"
        note = f"OpenFHE faster: {', '.join(faster) or 'none'}; SEAL faster: {', '.join(slower) or 'none'}"
        row = report.reading(
            RACE_CLAIM,
            claim,
            paired[0],
            setting,
            geo,
            low=lo,
            high=hi,
            unit="OpenFHE/SEAL",
            bench=KEY,
            lab=lab,
            anchors=anchors,
            note=note,
        )
        row.result_id = None  # a summary of several Results
        row.spread = "geo-mean IQR"
        overall = race_verdict(geo, lo, hi)  # the HE lab's own rule: the race's tie band
        counts = f"OpenFHE faster in {len(faster)} of {len(paired)} ops, SEAL in {len(slower)}"
        if overall == OPENFHE_FASTER:
            row.verdict = (
                report.HOLDS if len(faster) == len(paired) else f"{report.HOLDS} on the geometric mean ({counts})"
            )
        elif overall == SEAL_FASTER:
            row.verdict = f"{report.factor_text(geo)}: SEAL faster ({counts})"
        else:
            row.verdict = f"{report.INCONCLUSIVE}: {overall} ({counts})"
        out.append(row)
    if not any(r.params.get("scheme") == "bgv" for r in races):
        bgv = report.missing(RACE_CLAIM, claim, KEY, lab, anchors, "BGV")
        bgv.note = "TenSEAL does not expose SEAL's BGV: only OpenFHE's side can be timed"
        out.append(bgv)
    if not groups:
        out.insert(0, report.missing(RACE_CLAIM, claim, KEY, lab, anchors, "CKKS and BFV op race"))
    return out


def readings(store: ResultStore) -> list[report.Reading]:
    """The claims-check readings: the overhead against plaintext, then the OpenFHE vs SEAL race."""
    return overhead_readings(store) + race_readings(store)


# -- the overview chart --------------------------------------------------------------------------------------------
def points(results: list[Result]) -> list[overview.Point]:
    """Encrypted-inference Results on the overhead-vs-protection chart (newest first in, same order out)."""
    out = []
    for r in results:
        if not r.name.endswith("_inference") or "overhead" not in r.metrics:
            continue
        p = r.params
        label = f"{r.name.replace('_inference', '')} inference, {p.get('mode')}, {p.get('backend')}"
        out.append(overview.point(r, label, "overhead"))
    return out


# -- labkit doctor -------------------------------------------------------------------------------------------------
def smoke_seal() -> str:
    """CKKS encrypt, multiply, add and decrypt through TenSEAL (SEAL); raises on a wrong result."""
    import tenseal as ts

    ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=8192, coeff_mod_bit_sizes=[60, 40, 40, 60])
    ctx.global_scale = 2**40
    ctx.generate_relin_keys()
    x, y = [1.5, -2.0, 3.25], [2.0, 0.5, -1.0]
    got = (ts.ckks_vector(ctx, x) * ts.ckks_vector(ctx, y) + 1.0).decrypt()
    want = [a * b + 1.0 for a, b in zip(x, y)]
    err = max(abs(g - w) for g, w in zip(got, want))
    if err > 1e-3:
        raise RuntimeError(f"CKKS x*y+1 decrypted with error {err:.2e}")
    return f"CKKS N=8192 encrypt, multiply, add, decrypt: max error {err:.1e}"


def smoke_openfhe() -> str:
    """CKKS encrypt, multiply and decrypt through OpenFHE; raises on a wrong result or Python other than 3.10."""
    if sys.version_info[:2] != (3, 10):
        raise RuntimeError(
            f"Python {sys.version_info.major}.{sys.version_info.minor}: OpenFHE's PyPI wheels carry a "
            "CPython 3.10 binary only; run the lab on Python 3.10 to use it"
        )
    import openfhe as fhe

    params = fhe.CCParamsCKKSRNS()
    params.SetMultiplicativeDepth(1)
    params.SetScalingModSize(50)
    params.SetBatchSize(8)
    cc = fhe.GenCryptoContext(params)
    for feature in (fhe.PKESchemeFeature.PKE, fhe.PKESchemeFeature.KEYSWITCH, fhe.PKESchemeFeature.LEVELEDSHE):
        cc.Enable(feature)
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    x, y = [1.5, -2.0, 3.25], [2.0, 0.5, -1.0]
    cx = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(x))
    cy = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(y))
    pt = cc.Decrypt(cc.EvalMult(cx, cy), keys.secretKey)
    pt.SetLength(len(x))
    got = pt.GetRealPackedValue()
    err = max(abs(g - a * b) for g, a, b in zip(got, x, y))
    if err > 1e-3:
        raise RuntimeError(f"CKKS x*y decrypted with error {err:.2e}")
    return f"CKKS ring {cc.GetRingDimension()} encrypt, multiply, decrypt: max error {err:.1e}"


TECHNIQUE = Technique(
    key=KEY,
    title="Homomorphic encryption (CKKS, BGV/BFV)",
    data_state="in use",
    protects="the server computes on ciphertexts and never sees inputs or results",
    adversary="honest-but-curious server",
    notebooks=("02_he_inference", "01_he_basics"),
    protection="confidentiality in use",
    best_use="offline batch scoring, gradient aggregation",
    color="#1b9e77",
    claim=Claim("10x-100x slower than plaintext", 10.0, 100.0),
    anchors=(
        "TenSEAL tutorial: encrypted MNIST conv net 2 s per image (CKKS N=8192)",
        "CryptoNets (2016): ~3.4 ms per image amortised over 8192-image batches",
        "nGraph-HE2 (2019): 1,998 images/s batched",
    ),
    further_claims={
        RACE_CLAIM: (
            Claim(
                "OpenFHE is faster than Microsoft SEAL for both BGV and CKKS",
                0.0,
                1.0,
                unit="time ratio OpenFHE / SEAL (below 1: OpenFHE faster)",
            ),
            (
                "OpenFHE maintainers: against SEAL at N=8192, timings are close except decryption (OpenFHE floods "
                "noise) and multiplication (relinearization)",
                "OpenFHE 1.2.3 CKKS N=2^16 depth 10, single thread: multiply+relinearize 243 ms, rotate ~200 ms",
            ),
        ),
    },
    bench_title="HE: SEAL vs OpenFHE ops, encrypted inference",
    checks=(
        Check("TenSEAL (SEAL)", "CKKS encrypt-multiply-decrypt", ("tenseal",), "labkit.he.technique:smoke_seal"),
        Check(
            "OpenFHE",
            "CKKS encrypt-multiply-decrypt",
            ("openfhe",),
            "labkit.he.technique:smoke_openfhe",
            required=sys.version_info[:2] == (3, 10),
        ),
    ),
    benchmark="labkit.he.benchmark:benchmark",
    support="labkit.he.assess:support",
    assess="labkit.he.assess:assess",
    readings=readings,
    points=points,
)
