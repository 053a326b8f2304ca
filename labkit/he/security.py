"""Security of HE parameters (HE Standard tables) and the depth planner.

The Homomorphic Encryption Standard gives, for each ring dimension N, the
largest ciphertext modulus (log2 of Q*P, special primes included) that keeps
RLWE with a uniform ternary secret at 128, 192 or 256 bits of classical
security. SEAL (``CoeffModulus::MaxBitCount``) and OpenFHE
(``StdLatticeParm``) embed the same table.

References
----------
M. Albrecht et al., "Homomorphic Encryption Standard", HomomorphicEncryption.org,
2018 (also in Protecting Privacy through Homomorphic Encryption, Springer 2021),
Table 1 (classical security, uniform ternary secret, sigma = 3.2).
Microsoft SEAL, ``native/src/seal/util/hestdparms.h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import validate
from ..errors import InsecureParameters, InvalidInput

#: log2(Q*P) upper bounds, HE Standard Table 1 (classical, ternary secret).
HE_STANDARD_MAX_LOGQ: dict[int, dict[int, int]] = {
    1024: {128: 27, 192: 19, 256: 14},
    2048: {128: 54, 192: 37, 256: 29},
    4096: {128: 109, 192: 75, 256: 58},
    8192: {128: 218, 192: 152, 256: 118},
    16384: {128: 438, 192: 305, 256: 237},
    32768: {128: 881, 192: 611, 256: 476},
}
RING_DIMENSIONS = tuple(sorted(HE_STANDARD_MAX_LOGQ))
LEVELS = (128, 192, 256)


def check_ring_dimension(poly_modulus_degree: int) -> int:
    """Return N if it is a power of two the standard covers, else raise InvalidInput."""
    if isinstance(poly_modulus_degree, bool) or not isinstance(poly_modulus_degree, int):
        raise InvalidInput(f"poly_modulus_degree must be an int power of two, not {poly_modulus_degree!r}.")
    if poly_modulus_degree not in HE_STANDARD_MAX_LOGQ:
        raise InvalidInput(
            f"poly_modulus_degree={poly_modulus_degree} is not covered by the HE Standard tables; "
            f"use one of {', '.join(map(str, RING_DIMENSIONS))}."
        )
    return poly_modulus_degree


def security_level(poly_modulus_degree: int, log_qp: float) -> int:
    """Classical security in bits (256, 192, 128) of N with a modulus of ``log_qp`` bits, or 0 below 128.

    >>> security_level(8192, 200), security_level(8192, 150), security_level(8192, 240)
    (128, 192, 0)
    """
    row = HE_STANDARD_MAX_LOGQ[check_ring_dimension(poly_modulus_degree)]
    for level in sorted(LEVELS, reverse=True):
        if log_qp <= row[level]:
            return level
    return 0


def max_modulus_bits(poly_modulus_degree: int, security: int = 128) -> int:
    """Largest log2(Q*P) at ``security`` bits for ring dimension N (HE Standard)."""
    validate.choice("security", security, LEVELS)
    return HE_STANDARD_MAX_LOGQ[check_ring_dimension(poly_modulus_degree)][security]


@dataclass(frozen=True)
class SecurityReport:
    """What the standard says about one parameter set.

    References
    ----------
    Albrecht et al., Homomorphic Encryption Standard, 2018, Table 1.
    """

    poly_modulus_degree: int
    log_qp: float
    level: int  # 0 when below 128 bits
    required: int

    @property
    def secure(self) -> bool:
        """True when the level reaches the required one."""
        return self.level >= self.required

    def __str__(self) -> str:
        got = f"{self.level}-bit" if self.level else "below 128-bit"
        return f"N={self.poly_modulus_degree}, log2(QP)={self.log_qp:.0f}: {got} security (HE Standard)"


def check_security(
    poly_modulus_degree: int, log_qp: float, *, security: int = 128, allow_insecure: bool = False
) -> SecurityReport:
    """Compare parameters with the HE Standard; raise InsecureParameters below ``security`` bits.

    >>> check_security(8192, 200).level
    128
    >>> check_security(8192, 300)
    Traceback (most recent call last):
    ...
    labkit.errors.InsecureParameters: ...
    """
    limit = max_modulus_bits(poly_modulus_degree, security)
    report = SecurityReport(poly_modulus_degree, float(log_qp), security_level(poly_modulus_degree, log_qp), security)
    if not report.secure and not allow_insecure:
        bigger = [n for n in RING_DIMENSIONS if HE_STANDARD_MAX_LOGQ[n][security] >= log_qp]
        fix = f"raise poly_modulus_degree to {bigger[0]}" if bigger else "use a shorter modulus chain"
        raise InsecureParameters(
            f"{report}: a {log_qp:.0f}-bit modulus exceeds the {limit}-bit limit for {security}-bit security "
            f"at N={poly_modulus_degree}. Lower the depth or scale bits, or {fix}; "
            "or pass allow_insecure=True for a demonstration (the Result is then flagged)."
        )
    return report


# -- depth planner ---------------------------------------------------------------------------------
def polynomial_depth(degree: int) -> int:
    """Multiplicative depth labkit's evaluator uses for a polynomial of ``degree`` (CKKS).

    Each term c_k x^k multiplies the coefficient into its lowest power-of-two
    factor first, so the whole polynomial needs floor(log2 d) + 1 levels.

    >>> [polynomial_depth(d) for d in (1, 2, 3, 4, 7)]
    [1, 2, 2, 3, 3]
    """
    degree = validate.integer("polynomial degree", degree)
    return int(math.floor(math.log2(degree))) + 1


def plan_depth(*, layers: int = 0, activation_degree: int = 0, final_degree: int = 0) -> int:
    """Depth of a network of ``layers`` plaintext-weight linear layers (1 level each),
    ``layers - 1`` activations of ``activation_degree``, and an optional output polynomial.

    >>> plan_depth(layers=1, final_degree=3)   # logistic regression with a cubic sigmoid
    3
    >>> plan_depth(layers=2, activation_degree=2)   # MLP with a square activation x^2
    3
    """
    for name, value in (("layers", layers), ("activation_degree", activation_degree), ("final_degree", final_degree)):
        validate.integer(name, value, low=0)
    depth = layers
    if layers > 1 and activation_degree:
        # a pure square (x^2) costs one level; a general polynomial follows polynomial_depth
        act = 1 if activation_degree == 2 else polynomial_depth(activation_degree)
        depth += (layers - 1) * act
    if final_degree:
        depth += polynomial_depth(final_degree)
    return depth


def require_depth(needed: int, available: int, *, what: str = "this computation") -> None:
    """Raise InvalidInput before any work when ``needed`` levels exceed ``available``."""
    if needed > available:
        raise InvalidInput(
            f"{what} needs multiplicative depth {needed}, but the context has {available} level(s) left. "
            f"Create the context with depth={needed} (or more), and a larger poly_modulus_degree if the "
            "security check then refuses the longer modulus chain."
        )
