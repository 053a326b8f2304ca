"""Exercises of notebook 01_he_basics: parameters and security, depth, exact vs approximate schemes."""

from __future__ import annotations

from labkit.exercises import choice, numeric, register
from labkit.he.params import DEFAULT_PLAIN_MODULUS
from labkit.he.security import HE_STANDARD_MAX_LOGQ, polynomial_depth

register(
    "01.max_modulus_8192",
    "From the HE Standard table: the largest log2(QP) at N=8192 for 128-bit classical security?",
)(numeric(HE_STANDARD_MAX_LOGQ[8192][128], rel_tol=0, abs_tol=0.5, unit=" bits"))

register(
    "01.chain_depth",
    "A CKKS chain of primes [60, 40, 40, 40 | 60] (last one special): how many multiplications deep can it go?",
)(numeric(3, rel_tol=0, abs_tol=0.01))

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
    "With plain_modulus t = 65537, what does 40000 + 40000 decrypt to (labkit centres results in [-32768, 32768])?",
)(numeric(80000 - DEFAULT_PLAIN_MODULUS, rel_tol=0, abs_tol=0.5))

register(
    "01.polynomial_depth",
    "How many levels does labkit's evaluator spend on a degree-3 polynomial (e.g. a cubic sigmoid)?",
)(numeric(polynomial_depth(3), rel_tol=0, abs_tol=0.01, unit=" levels"))
