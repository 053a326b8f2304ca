"""Exercises of notebook 01_he_basics: parameters and security, depth, exact vs approximate schemes.

Every answer has to be derived from a rule the notebook shows (the HE Standard table, the
chain, wrap-around modulo t, the depth rule), for a case the notebook does not print.
"""

from __future__ import annotations

from labkit.exercises import choice, numeric, register
from labkit.he.params import DEFAULT_PLAIN_MODULUS
from labkit.he.security import HE_STANDARD_MAX_LOGQ, polynomial_depth

CHAIN = [60, 40, 40, 40, 40, 40, 40, 60]  # a depth-6 CKKS chain, last prime special


def _smallest_secure_n(bits: int) -> int:
    return min(n for n, row in HE_STANDARD_MAX_LOGQ.items() if row[128] >= bits)


register(
    "01.smallest_secure_n",
    f"A CKKS chain of primes {CHAIN[:-1]} | {CHAIN[-1:]} (last one special) needs which smallest ring "
    "dimension N for 128-bit classical security (HE Standard table)?",
)(
    numeric(
        _smallest_secure_n(sum(CHAIN)),
        rel_tol=0,
        abs_tol=0.5,
        hint="Add up the bits of every prime, the special one included (that is log2(QP)), then find the first "
        "row of the table whose 128-bit column allows at least that many.",
    )
)

register(
    "01.chain_depth",
    "A CKKS chain of primes [60, 40, 40, 40 | 60] (last one special): how many multiplications deep can it go?",
)(
    numeric(
        3,
        rel_tol=0,
        abs_tol=0.01,
        hint="Each multiplication's rescale drops one 40-bit prime; the first prime holds the result and the "
        "special prime is only used for key switching.",
    )
)

register(
    "01.exact_scheme",
    "Name a scheme whose decryptions are exact integers (mod t) rather than approximations.",
)(
    choice(
        ["bfv", "bgv"],
        hints={"ckks": "CKKS is the approximate one: it trades exactness for real numbers and rescaling."},
        default_hint="Two of the three schemes in this lab work on integers modulo t.",
    )
)

register(
    "01.wraparound",
    f"With plain_modulus t = {DEFAULT_PLAIN_MODULUS}, what does an encrypted 30000 multiplied by the plain 3 "
    "decrypt to (labkit centres results in [-32768, 32768])?",
)(
    numeric(
        (30000 * 3 + 32768) % DEFAULT_PLAIN_MODULUS - 32768,
        rel_tol=0,
        abs_tol=0.5,
        hint="BFV computes modulo t: take the true product, then add or subtract t until it lies in "
        "[-32768, 32768], as the section on wrap-around did for 40000 + 40000.",
    )
)

register(
    "01.polynomial_depth",
    "How many levels does labkit's evaluator spend on a degree-12 polynomial?",
)(
    numeric(
        polynomial_depth(12),
        rel_tol=0,
        abs_tol=0.01,
        unit=" levels",
        hint="Each level at most doubles the highest power you can reach (x, x^2, x^4, ...), and the "
        "coefficients cost one more level: compare with the degree-3 and degree-7 lines printed above.",
    )
)
