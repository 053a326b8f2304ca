"""Exercises of notebook 02_he_inference: SIMD packing, rotations, the overhead claim, the library race."""

from __future__ import annotations

from labkit.exercises import numeric, register

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
    "Your measured batched overhead: is it 'below', 'inside' or 'above' the claimed 10x-100x range? "
    "(pass measured=<ratio>)",
)
def _claim_position(answer, *, measured=None, **_):
    if measured is None:
        raise TypeError("call check(..., measured=<your overhead ratio>)")
    truth = "below" if measured < 10 else "above" if measured > 100 else "inside"
    given = str(answer).strip().lower()
    if given not in ("below", "inside", "above"):
        raise ValueError("answer 'below', 'inside' or 'above'")
    if given == truth:
        return True, f"Yes: {measured:.0f}x is {truth} 10x-100x."
    return False, f"Compare {measured:.0f}x with 10 and 100 again."


@register(
    "02.race_winner",
    "For CKKS multiply+relinearize at N=8192 in your race, which library won: 'seal', 'openfhe' or 'tie'? "
    "(pass verdict=<the verdict string>)",
)
def _race_winner(answer, *, verdict=None, **_):
    if verdict is None:
        raise TypeError("call check(..., verdict=<the verdict your race printed>)")
    truth = "openfhe" if verdict.startswith("OpenFHE") else "seal" if verdict.startswith("SEAL") else "tie"
    given = str(answer).strip().lower()
    if given == truth:
        return True, f"Right: the race said '{verdict}'."
    return False, "Read the verdict line of the race again (a ratio inside 0.9-1.1 is a tie)."
