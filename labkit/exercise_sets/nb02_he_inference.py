"""Exercises of notebook 02_he_inference: SIMD packing, rotations, the overhead claim, the library race.

The claim's band and the race's tie band come from :mod:`labkit.he.technique`, where they are declared once.
"""

from __future__ import annotations

from labkit.exercises import metric_of, numeric, predicted, register
from labkit.he.linalg import bsgs_split
from labkit.he.technique import OPENFHE_FASTER, SEAL_FASTER, TECHNIQUE, TIE, TIE_BAND, race_verdict

CLAIM = TECHNIQUE.claim
BAND = f"{CLAIM.low:g}x-{CLAIM.high:g}x"

register(
    "02.slots",
    "In batched (SIMD) mode one CKKS ciphertext at N=8192 holds 4096 digits images. How many would one "
    "ciphertext hold at N=16384?",
)(
    numeric(
        8192,
        rel_tol=0,
        abs_tol=0.5,
        unit=" images",
        hint="CKKS packs complex numbers: a ring of dimension N gives N/2 slots, one image's feature per slot.",
    )
)

_BABY, _GIANT = bsgs_split(256)
register(
    "02.bsgs_rotations",
    "A square 256 x 256 layer on one replicated image, with the baby-step giant-step split labkit uses "
    "(baby steps x giant steps = 256, both as close to 16 as possible). How many rotations does the product need?",
)(
    numeric(
        (_BABY - 1) + (_GIANT - 1),
        rel_tol=0,
        abs_tol=0.01,
        unit=" rotations",
        hint="Baby steps rotate the input B - 1 times (rotation 0 is free); giant steps rotate the partial sums "
        "G - 1 times. The 64 x 64 case in section 4 worked out to 7 + 7.",
    )
)


def _overhead(*, result=None, **_):
    return metric_of(result, "overhead")


register(
    "02.batched_overhead",
    f"Predict before the batched run: the batched overhead (encrypted pipeline time over plaintext time) of the "
    f"logistic regression on SEAL, as a time ratio. The claim says {BAND}; what do you expect? "
    "(within a factor 10 either way counts)",
)(
    predicted(
        _overhead,
        factor=10,
        unit="x",
        hint="Count the work: every weighted sum becomes ciphertext-by-plaintext products and additions on "
        "polynomials of 8192 coefficients per prime, while the plaintext model is one small matrix product.",
    )
)

_RACE_QUESTION = (0.86, 0.80, 0.93)  # median OpenFHE/SEAL ratio and its IQR in the question below


@register(
    "02.race_verdict",
    f"A race row reads OpenFHE/SEAL = {_RACE_QUESTION[0]} (median time ratio) with IQR "
    f"{_RACE_QUESTION[1]}-{_RACE_QUESTION[2]}. By the race's rule (tie band {1 - TIE_BAND:g}-{1 + TIE_BAND:g}), "
    "which verdict: 'seal', 'openfhe' or 'tie'?",
)
def _race_verdict(answer, **_):
    truth = {OPENFHE_FASTER: "openfhe", SEAL_FASTER: "seal", TIE: "tie"}[race_verdict(*_RACE_QUESTION)]
    given = str(answer).strip().lower()
    if given not in ("seal", "openfhe", "tie"):
        raise ValueError("answer 'seal', 'openfhe' or 'tie'")
    if given == truth:
        return True, "Right: the ratio is outside the tie band and the whole IQR sits on one side of 1."
    if given == "seal":
        return False, "The ratio is OpenFHE's time over SEAL's: below 1 means OpenFHE took less time."
    return False, (
        f"A tie needs the ratio inside {1 - TIE_BAND:g}-{1 + TIE_BAND:g} or an IQR straddling 1; check both "
        "conditions against the numbers in the question."
    )
