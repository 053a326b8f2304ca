"""Exercises of notebook 02_he_inference: SIMD packing, rotations, the overhead claim, the library race.

The claim's band and the race's tie band come from :mod:`labkit.he.technique`, where they are declared once.
"""

from __future__ import annotations

from labkit.exercises import numeric, register
from labkit.he.technique import OPENFHE_FASTER, SEAL_FASTER, TECHNIQUE, TIE_BAND, claim_position

CLAIM = TECHNIQUE.claim
BAND = f"{CLAIM.low:g}x-{CLAIM.high:g}x"

register(
    "02.slots",
    "In batched (SIMD) mode, how many digits images does one CKKS ciphertext hold at N=8192?",
)(numeric(4096, rel_tol=0, abs_tol=0.5, unit=" images"))

register(
    "02.bsgs_rotations",
    "A square 64 x 64 layer on one replicated image: baby steps B=8, giant steps G=8. How many rotations does "
    "the baby-step giant-step product need?",
)(numeric(14, rel_tol=0, abs_tol=0.01, unit=" rotations"))


@register(
    "02.claim_position",
    f"Your measured batched overhead: is it 'below', 'inside' or 'above' the claimed {BAND} range? "
    "(pass measured=<ratio>)",
)
def _claim_position(answer, *, measured=None, **_):
    if measured is None:
        raise TypeError("call check(..., measured=<your overhead ratio>)")
    truth = claim_position(measured)
    given = str(answer).strip().lower()
    if given not in ("below", "inside", "above"):
        raise ValueError("answer 'below', 'inside' or 'above'")
    if given == truth:
        return True, f"Yes: {measured:.0f}x is {truth} {BAND}."
    return False, f"Compare {measured:.0f}x with {CLAIM.low:g} and {CLAIM.high:g} again."


@register(
    "02.race_winner",
    "For CKKS multiply+relinearize at N=8192 in your race, which library won: 'seal', 'openfhe' or 'tie'? "
    "(pass verdict=<the verdict string>)",
)
def _race_winner(answer, *, verdict=None, **_):
    if verdict is None:
        raise TypeError("call check(..., verdict=<the verdict your race printed>)")
    truth = {OPENFHE_FASTER: "openfhe", SEAL_FASTER: "seal"}.get(verdict, "tie")
    given = str(answer).strip().lower()
    if given == truth:
        return True, f"Right: the race said '{verdict}'."
    return False, (
        f"Read the verdict line of the race again (a ratio inside {1 - TIE_BAND:g}-{1 + TIE_BAND:g} is a tie)."
    )
