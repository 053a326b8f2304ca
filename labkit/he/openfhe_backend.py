"""OpenFHE backend (``openfhe`` Python bindings): CKKS, BFV and BGV.

CKKS runs with FIXEDMANUAL scaling (labkit rescales after every product, as
with SEAL) and HYBRID key switching with one RNS limb per digit, which is the
key-switching layout SEAL uses (one special prime). BFV and BGV use OpenFHE's
own parameter generation for the requested depth; OpenFHE then checks the
ring dimension against the HE Standard itself.

OpenFHE parallelises inside operations with OpenMP, and it fixes its thread
count when the library is first imported (its parallel regions keep the
count OpenMP reported at load time; later ``omp_set_num_threads`` calls do
not undo it). labkit therefore imports OpenFHE itself, after setting OpenMP
to ``LABKIT_OPENFHE_THREADS`` threads (default 1, what the comparison with
single-threaded SEAL needs); :func:`threads` reports the count in force.
Two threads on a busy two-core machine made a multiplication 25x slower here.

References
----------
Al Badawi et al., "OpenFHE: Open-Source Fully Homomorphic Encryption Library",
WAHC 2022 (ePrint 2022/915). OpenFHE Python examples ``simple-real-numbers.py``
and ``simple-integers-bgvrns.py``.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
from collections.abc import Callable

import numpy as np

from ..errors import BackendUnavailable, InsecureParameters, InvalidInput, TamperDetected, VerificationFailed

_THREADS: int | None = None  # OpenMP threads OpenFHE was imported with (None: not by labkit)


def configured_threads() -> int:
    """Threads labkit imports OpenFHE with: ``LABKIT_OPENFHE_THREADS`` (default 1)."""
    raw = os.environ.get("LABKIT_OPENFHE_THREADS", "1")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"LABKIT_OPENFHE_THREADS={raw!r} must be a positive integer.") from None
    if value < 1:
        raise InvalidInput(f"LABKIT_OPENFHE_THREADS={raw!r} must be a positive integer.")
    return value


def load_openfhe():
    """The ``openfhe`` module, imported with :func:`configured_threads` OpenMP threads on first use.

    Raises BackendUnavailable when OpenFHE does not import (its wheels carry a CPython 3.10 binary only).
    """
    global _THREADS
    first = "openfhe" not in sys.modules
    if first:
        wanted = configured_threads()
        if set_threads(wanted):
            _THREADS = wanted
    try:
        import openfhe
    except ImportError as exc:
        raise BackendUnavailable("OpenFHE", f"{exc} (OpenFHE's wheels carry a CPython 3.10 binary only)") from exc
    return openfhe


def threads() -> int | None:
    """OpenMP threads OpenFHE runs with in this process (None if something else imported it first)."""
    return _THREADS


def require_threads(n: int | None) -> None:
    """Raise InvalidInput if OpenFHE cannot run with ``n`` threads here (None: accept what is set)."""
    load_openfhe()
    if n is None or n == _THREADS:
        return
    raise InvalidInput(
        f"OpenFHE runs with {_THREADS if _THREADS is not None else 'an unknown number of'} thread(s) in this "
        f"process and fixes that count when first imported, so threads={n} cannot take effect. Set "
        f"LABKIT_OPENFHE_THREADS={n} before starting Python (restart the kernel), or pass threads=None."
    )


def set_threads(n: int) -> bool:
    """Set OpenMP's thread count for the calling thread; False if libgomp cannot be reached.

    Effective for OpenFHE only before its first import (see the module docstring).
    """
    try:
        ctypes.CDLL("libgomp.so.1").omp_set_num_threads(int(n))
        return True
    except OSError:  # pragma: no cover - platform dependent
        return False


class OpenFHEBackend:
    """Raw-ciphertext operations over OpenFHE for one parameter set and one key pair.

    CKKS runs with FIXEDMANUAL scaling and HYBRID key switching (one RNS limb per digit);
    BFV and BGV with OpenFHE's own parameter generation for the depth. Rotation and sum keys
    are made on first use.

    Parameters
    ----------
    params : Params
        A validated CKKS, BFV or BGV parameter set (``labkit.he.params.make_params``).
    check_security : bool
        Ask OpenFHE to enforce the HE Standard level of ``params.security`` (False: HEStd_NotSet).
    key_switching : {"BV", "HYBRID"} or None
        BFV/BGV key-switching technique (None: OpenFHE's default).

    Raises
    ------
    InsecureParameters
        OpenFHE's own HE Standard check refuses the ring dimension for the depth.

    References
    ----------
    Al Badawi et al., "OpenFHE: Open-Source Fully Homomorphic Encryption Library", WAHC 2022
    (ePrint 2022/915); OpenFHE documentation (``CCParamsCKKSRNS``, ``CCParamsBFVRNS``,
    ``CCParamsBGVRNS``). Cheon, Kim, Kim & Song, CKKS, ASIACRYPT 2017. Fan & Vercauteren, BFV,
    ePrint 2012/144. Brakerski, Gentry & Vaikuntanathan, BGV, ITCS 2012. Albrecht et al.,
    Homomorphic Encryption Standard, 2018.
    """

    name = "openfhe"

    def __init__(self, params, *, check_security: bool, key_switching: str | None = None):
        o = self._o = load_openfhe()
        self.params = params
        n = params.poly_modulus_degree
        levels = {128: o.HEStd_128_classic, 192: o.HEStd_192_classic, 256: o.HEStd_256_classic}
        self.ckks = params.scheme == "ckks"
        if self.ckks:
            p = o.CCParamsCKKSRNS()
            p.SetScalingModSize(params.scale_bits)
            p.SetFirstModSize(params.first_mod_bits)
            p.SetScalingTechnique(o.FIXEDMANUAL)
            p.SetKeySwitchTechnique(o.HYBRID)
            p.SetNumLargeDigits(params.depth + 1)
            p.SetBatchSize(n // 2)
        else:
            p = o.CCParamsBFVRNS() if params.scheme == "bfv" else o.CCParamsBGVRNS()
            p.SetPlaintextModulus(params.plain_modulus)
            if key_switching is not None:  # "BV" or "HYBRID" (the benchmark matches SEAL where it can)
                p.SetKeySwitchTechnique(getattr(o, key_switching))
        p.SetMultiplicativeDepth(params.depth)
        p.SetRingDim(n)
        p.SetSecurityLevel(levels[params.security] if check_security else o.HEStd_NotSet)
        try:
            cc = o.GenCryptoContext(p)
        except RuntimeError as exc:
            message = str(exc).split("):", 1)[-1].strip()
            if "ring dimension" in message or "security" in message:
                raise InsecureParameters(
                    f"OpenFHE's HE Standard check refused N={n} at depth {params.depth}: {message} "
                    "Raise poly_modulus_degree, lower the depth, or pass allow_insecure=True."
                ) from None
            raise
        for feature in (o.PKE, o.KEYSWITCH, o.LEVELEDSHE, o.ADVANCEDSHE):
            cc.Enable(feature)
        self.cc = cc
        self._keys = cc.KeyGen()
        self.public_key = self._keys.publicKey
        cc.EvalMultKeyGen(self._keys.secretKey)
        self._rotations: set[int] = set()
        self._sum_keys = False
        self.slots = n // 2 if self.ckks else n
        self.row = n // 2
        self.log_q = math.log2(cc.GetModulus())

    # -- helpers -----------------------------------------------------------------------------------
    def _plain(self, values, ct=None):
        level = ct.GetLevel() if ct is not None else 0
        if self.ckks:
            return self.cc.MakeCKKSPackedPlaintext(values.tolist(), 1, level)
        return self.cc.MakePackedPlaintext([int(v) for v in values])

    def _rotation_key(self, steps: int) -> None:
        if steps not in self._rotations:
            self.cc.EvalRotateKeyGen(self._keys.secretKey, [steps])
            self._rotations.add(steps)

    # -- operations --------------------------------------------------------------------------------
    def encrypt(self, values: np.ndarray):
        """Encrypt a full slot vector under the public key."""
        return self.cc.Encrypt(self.public_key, self._plain(values))

    def decrypt(self, ct, secret_key=None) -> np.ndarray:
        """Decrypt and decode every slot (floats for CKKS, integers mod t for BFV/BGV)."""
        try:
            pt = self.cc.Decrypt(secret_key or self._keys.secretKey, ct)
        except RuntimeError as exc:
            if "approximation error" not in str(exc):
                raise
            raise VerificationFailed(
                "OpenFHE's CKKS decoder found the decryption error too large: wrong secret key, or noise "
                "beyond the scale (use fewer operations or a larger scale)."
            ) from None
        pt.SetLength(self.slots)
        if self.ckks:
            return np.asarray(pt.GetRealPackedValue())
        return np.asarray(pt.GetPackedValue(), dtype=np.int64)

    def add(self, a, b):
        """Ciphertext + ciphertext."""
        return self.cc.EvalAdd(a, b)

    def sub(self, a, b):
        """Ciphertext - ciphertext."""
        return self.cc.EvalSub(a, b)

    def negate(self, a):
        """-ciphertext."""
        return self.cc.EvalNegate(a)

    def add_plain(self, a, values):
        """Ciphertext + a plaintext vector (encoded at the ciphertext's level and scale), or a CKKS scalar (0-d)."""
        if self.ckks and values.ndim == 0:
            return self.cc.EvalAdd(a, float(values))
        return self.cc.EvalAdd(a, self._plain(values, a))

    def multiply(self, a, b):
        """Ciphertext x ciphertext, relinearised (and rescaled in CKKS)."""
        out = self.cc.EvalSquare(a) if a is b else self.cc.EvalMult(a, b)  # relinearises with the mult key
        return self.cc.Rescale(out) if self.ckks else out

    def multiply_plain(self, a, values, *, rescale: bool = True):
        """Multiply by a plaintext vector (or a scalar, given as a 0-d array); rescaled in CKKS unless asked not to."""
        if values.ndim == 0:
            out = self.cc.EvalMult(a, float(values) if self.ckks else int(values))
        else:
            out = self.cc.EvalMult(a, self._plain(values, a))
        return self.cc.Rescale(out) if self.ckks and rescale else out

    def encode_like(self, values: np.ndarray, a):
        """A plaintext ready to multiply ``a`` (same level), for reuse across calls."""
        return self._plain(values, a)

    def level_key(self, a):
        """A hashable key of the ciphertext's level (and scale), for caching encoded plaintexts."""
        return a.GetLevel()

    def multiply_encoded(self, a, pt, *, rescale: bool = True):
        """Multiply by a plaintext from :meth:`encode_like` (rescaled in CKKS unless ``rescale=False``)."""
        out = self.cc.EvalMult(a, pt)
        return self.cc.Rescale(out) if self.ckks and rescale else out

    def rescale(self, a):
        """Rescale a CKKS ciphertext to the next level (BFV/BGV: unchanged)."""
        return self.cc.Rescale(a) if self.ckks else a

    def linear_combination(self, cts, weights):
        """sum_i w_i * ct_i with scalar weights (OpenFHE's EvalLinearWSum, which rescales itself)."""
        pairs = [(c, w) for c, w in zip(cts, weights) if w != 0]
        if not pairs:
            return self.multiply_plain(cts[0], np.zeros(()))
        if self.ckks:
            return self.cc.EvalLinearWSum([c for c, _ in pairs], [float(w) for _, w in pairs])
        acc = None
        for c, w in pairs:
            term = self.cc.EvalMult(c, self.cc.MakePackedPlaintext([int(w)] * self.slots))
            acc = term if acc is None else self.cc.EvalAdd(acc, term)
        return acc

    def drop_levels(self, a, levels: int):
        """The ciphertext with ``levels`` fewer RNS limbs (exact; OpenFHE's LevelReduce)."""
        return self.cc.LevelReduce(a, None, int(levels))

    def rotate(self, a, steps: int):
        """Cyclic left rotation by ``steps`` within rows of N/2 slots (rotation key made on first use)."""
        steps %= self.row
        if steps == 0:
            return a.Clone()
        self._rotation_key(steps)
        return self.cc.EvalRotate(a, steps)

    def sum_all(self, a):
        """Every slot gets the sum of all slots (OpenFHE's EvalSum; sum keys made on first use)."""
        if not self._sum_keys:
            self.cc.EvalSumKeyGen(self._keys.secretKey)
            self._sum_keys = True
        return self.cc.EvalSum(a, self.slots)

    def levels_left(self, ct) -> int | None:
        """CKKS levels left to the ciphertext (None for BFV/BGV)."""
        return self.params.depth - ct.GetLevel() if self.ckks else None

    def noise_budget(self, ct) -> int | None:
        """Invariant noise budget in bits (SEAL BFV only; None elsewhere)."""
        return None

    def size_bytes(self, ct) -> int:
        """In-memory size (polynomials x RNS limbs x N x 8 bytes) for CKKS; serialized size for BFV/BGV."""
        if not self.ckks:  # OpenFHE chooses the BFV/BGV chain; count the serialized bytes instead
            return len(self.serialize(ct))
        limbs = self.params.depth + 1 - ct.GetLevel()
        return int(ct.NumberCiphertextElements() * limbs * self.params.poly_modulus_degree * 8)

    def serialize(self, ct) -> bytes:
        """The ciphertext as the library serializes it."""
        return self._o.Serialize(ct, self._o.BINARY)

    def deserialize(self, data: bytes):
        """A ciphertext from :meth:`serialize`'s bytes; TamperDetected when the library refuses them."""
        try:
            return self._o.DeserializeCiphertextString(data, self._o.BINARY)
        except Exception as exc:
            raise TamperDetected(f"OpenFHE refused the ciphertext bytes ({exc}).") from exc

    # -- direct library calls, for the benchmark ---------------------------------------------------
    def direct_ops(self, values: np.ndarray) -> dict[str, Callable[[], object]]:
        """Closures calling OpenFHE directly (no labkit code on the timed path), for the backend race.

        Parameters
        ----------
        values : numpy.ndarray
            One full vector of slot values; two ciphertexts of it are the operands.

        Returns
        -------
        dict
            ``encode_encrypt``, ``add``, ``multiply_relin``, ``rotate``, ``decrypt`` (and
            ``rescale`` in CKKS), each a no-argument callable doing one operation.
        """
        cc, ckks = self.cc, self.ckks
        vec = values.tolist() if ckks else [int(v) for v in values]
        a, b = self.encrypt(values), self.encrypt(values)
        prod = cc.EvalMult(a, b)
        self._rotation_key(1)
        sk, pk = self._keys.secretKey, self.public_key
        make = cc.MakeCKKSPackedPlaintext if ckks else cc.MakePackedPlaintext

        def decrypt():
            pt = cc.Decrypt(sk, a)
            pt.SetLength(self.slots)
            pt.GetRealPackedValue() if ckks else pt.GetPackedValue()

        ops = dict(
            encode_encrypt=lambda: cc.Encrypt(pk, make(vec)),
            add=lambda: cc.EvalAdd(a, b),
            multiply_relin=lambda: cc.EvalMult(a, b),
            rotate=lambda: cc.EvalRotate(a, 1),
            decrypt=decrypt,
        )
        if ckks:
            ops["rescale"] = lambda: cc.Rescale(prod)
        return ops

    def direct_multiply(self, a, b) -> Callable[[], None]:
        """A closure doing ``a * b`` by direct OpenFHE calls: EvalMult (relinearizes), Rescale (CKKS)."""
        cc = self.cc

        def direct():
            cc.Rescale(cc.EvalMult(a, b))

        return direct

    def foreign_decrypt(self, ct, other: OpenFHEBackend) -> np.ndarray:
        """Decrypt with another context's secret key (same parameters), for the wrong-key test."""
        return self.decrypt(ct, secret_key=other._keys.secretKey)
