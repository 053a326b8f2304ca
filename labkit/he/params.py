"""HE parameter sets: validation, presets and the modulus chain each backend gets.

References
----------
Cheon, Kim, Kim & Song, "Homomorphic Encryption for Arithmetic of Approximate
Numbers" (CKKS), ASIACRYPT 2017. Fan & Vercauteren, "Somewhat Practical Fully
Homomorphic Encryption" (BFV), ePrint 2012/144. Brakerski, Gentry &
Vaikuntanathan (BGV), ITCS 2012. Albrecht et al., Homomorphic Encryption
Standard, 2018.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .. import validate
from ..errors import InvalidInput
from .security import check_ring_dimension

BACKENDS = {"seal": ("ckks", "bfv"), "openfhe": ("ckks", "bfv", "bgv")}
DEFAULT_PLAIN_MODULUS = 65537  # prime, = 1 mod 2N for every N up to 32768: batching works

#: Named parameter sets (keyword arguments for :func:`labkit.he.context`).
PRESETS: dict[str, dict] = {
    # CKKS, 128-bit on both backends: [50, 40, 40 | 60] = 190 bits <= 218.
    "ckks-8192": dict(scheme="ckks", poly_modulus_degree=8192, depth=2, scale_bits=40, first_mod_bits=50),
    # Depth 3 for the inference labs at N=8192: [40, 30, 30, 30 | 60] = 190 bits.
    "ckks-8192-d3": dict(scheme="ckks", poly_modulus_degree=8192, depth=3, scale_bits=30, first_mod_bits=40),
    "ckks-16384": dict(scheme="ckks", poly_modulus_degree=16384, depth=8, scale_bits=40, first_mod_bits=50),
    "ckks-32768": dict(scheme="ckks", poly_modulus_degree=32768, depth=18, scale_bits=40, first_mod_bits=50),
    "bfv-8192": dict(scheme="bfv", poly_modulus_degree=8192, depth=2),
    "bgv-8192": dict(scheme="bgv", poly_modulus_degree=8192, depth=1),
}


def _is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin for n < 3.3e24 (enough for plaintext moduli)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


@dataclass(frozen=True)
class Params:
    """One validated parameter set (made by :func:`make_params`).

    References
    ----------
    Albrecht et al., Homomorphic Encryption Standard, 2018 (security levels).
    """

    backend: str
    scheme: str
    poly_modulus_degree: int
    depth: int
    scale_bits: int = 40
    first_mod_bits: int = 50
    special_mod_bits: int = 60
    plain_modulus: int = DEFAULT_PLAIN_MODULUS
    security: int = 128
    coeff_mod_bits: tuple[int, ...] | None = field(default=None)  # SEAL only: explicit chain

    @property
    def coeff_mod_bit_sizes(self) -> tuple[int, ...]:
        """SEAL's chain: data primes then the special prime."""
        if self.coeff_mod_bits is not None:
            return self.coeff_mod_bits
        if self.scheme == "ckks":
            return (self.first_mod_bits, *([self.scale_bits] * self.depth), self.special_mod_bits)
        return default_bfv_chain(self.poly_modulus_degree)

    @property
    def log_qp(self) -> int:
        """Planned log2(Q*P) (exact for SEAL; OpenFHE CKKS builds the same chain)."""
        return sum(self.coeff_mod_bit_sizes)

    @property
    def max_abs_value(self) -> float:
        """Largest magnitude a CKKS value may take (the result must fit under the first prime)."""
        return 2.0 ** (self.first_mod_bits - self.scale_bits - 1)

    def to_dict(self) -> dict:
        """The parameters as a plain dict (the chain as a list), for Result params."""
        d = asdict(self)
        d["coeff_mod_bits"] = list(self.coeff_mod_bit_sizes)
        return d


def default_bfv_chain(n: int) -> tuple[int, ...]:
    """SEAL's BFVDefault chain at 128 bits (HE Standard maximum), e.g. N=8192 -> 43,43,44,44,44."""
    chains = {
        1024: (27,),
        2048: (54,),
        4096: (36, 36, 37),
        8192: (43, 43, 44, 44, 44),
        16384: (48, 48, 48, 49, 49, 49, 49, 49, 49),
        32768: (55,) * 15 + (56,),
    }
    return chains[n]


def make_params(
    backend: str,
    scheme: str,
    *,
    poly_modulus_degree: int,
    depth: int | None = None,
    scale_bits: int = 40,
    first_mod_bits: int | None = None,
    special_mod_bits: int = 60,
    plain_modulus: int = DEFAULT_PLAIN_MODULUS,
    security: int = 128,
    coeff_mod_bit_sizes=None,
) -> Params:
    """Validate every argument (raising InvalidInput with the fix) and build a :class:`Params`.

    Parameters
    ----------
    backend : {"seal", "openfhe"}
    scheme : {"ckks", "bfv", "bgv"}
        BGV on OpenFHE only (TenSEAL does not expose SEAL's BGV).
    poly_modulus_degree : int
        Ring dimension N, a power of two the HE Standard covers (1024 to 32768).
    depth : int, optional
        Multiplicative depth (default 2; CKKS at least 1).
    scale_bits, first_mod_bits, special_mod_bits : int
        CKKS chain [first, scale x depth | special].
    plain_modulus : int
        BFV/BGV plaintext modulus: a prime = 1 mod 2N (batching).
    security : {128, 192, 256}
    coeff_mod_bit_sizes : sequence of int, optional
        SEAL only: an explicit chain of 20- to 60-bit primes.

    References
    ----------
    Cheon, Kim, Kim & Song, CKKS, ASIACRYPT 2017. Fan & Vercauteren, BFV, ePrint 2012/144.
    Brakerski, Gentry & Vaikuntanathan, BGV, ITCS 2012.
    """
    if backend not in BACKENDS:
        raise InvalidInput(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}.")
    if scheme not in BACKENDS[backend]:
        extra = " TenSEAL exposes SEAL's CKKS and BFV, not BGV: use backend='openfhe'." if scheme == "bgv" else ""
        raise InvalidInput(f"scheme {scheme!r} is not available on {backend}; choose {BACKENDS[backend]}.{extra}")
    n = check_ring_dimension(poly_modulus_degree)
    validate.choice("security", security, (128, 192, 256))
    depth = 2 if depth is None else validate.integer("depth", depth, low=0 if scheme != "ckks" else 1, high=40)
    if scheme == "ckks":
        scale_bits = validate.integer("scale_bits", scale_bits, low=20, high=59)
        first = first_mod_bits if first_mod_bits is not None else min(60, scale_bits + 10)
        first = validate.integer("first_mod_bits", first, low=scale_bits + 1, high=60)
        special = validate.integer("special_mod_bits", special_mod_bits, low=20, high=60)
        if special < first:
            raise InvalidInput("special_mod_bits must be at least first_mod_bits (key-switching noise).")
    else:
        first, special = 60, 60
        plain_modulus = validate.integer("plain_modulus", plain_modulus, low=3)
        if not _is_prime(plain_modulus) or plain_modulus % (2 * n) != 1:
            raise InvalidInput(
                f"plain_modulus={plain_modulus} must be a prime = 1 mod 2N = {2 * n} for batching; 65537 works up to N=32768."
            )
    chain = None
    if coeff_mod_bit_sizes is not None:
        if backend != "seal":
            raise InvalidInput("coeff_mod_bit_sizes applies to SEAL only; OpenFHE builds its chain from depth.")
        chain = tuple(int(b) for b in coeff_mod_bit_sizes)
        if len(chain) < 2 or any(not 20 <= b <= 60 for b in chain):
            raise InvalidInput("coeff_mod_bit_sizes needs at least two primes of 20 to 60 bits each.")
    return Params(backend, scheme, n, depth, scale_bits, first, special, plain_modulus, security, chain)
