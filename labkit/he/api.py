"""One API over SEAL (via TenSEAL) and OpenFHE: contexts, ciphertexts and their arithmetic.

>>> import labkit.he as he
>>> ctx = he.context("seal", "ckks", poly_modulus_degree=8192)
>>> x = ctx.encrypt([1.0, 2.0, 3.0])
>>> ctx.decrypt(x * x + x).round(3).tolist()
[2.0, 6.0, 12.0]

Every argument is checked before any cryptography runs; a computation
deeper than the context allows, a value the scheme cannot hold, or two
ciphertexts from different contexts raise :class:`~labkit.errors.InvalidInput`
with the fix in the message. Serialized ciphertexts carry an HMAC-SHA256
tag under a key the context keeps, so corrupted or modified bytes raise
:class:`~labkit.errors.TamperDetected` (homomorphic ciphertexts are malleable
by design: the tag protects them in transit, not during computation).

References
----------
Cheon, Kim, Kim & Song, "Homomorphic Encryption for Arithmetic of Approximate
Numbers" (CKKS), ASIACRYPT 2017. Fan & Vercauteren, "Somewhat Practical Fully
Homomorphic Encryption" (BFV), ePrint 2012/144. Brakerski, Gentry &
Vaikuntanathan, "(Leveled) Fully Homomorphic Encryption without Bootstrapping"
(BGV), ITCS 2012. Albrecht et al., Homomorphic Encryption Standard, 2018.
Halevi & Shoup, "Algorithms in HElib", CRYPTO 2014 (diagonal method for
matrix-vector products, baby-step giant-step rotations).
RFC 2104 (HMAC).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import uuid

import numpy as np

from ..errors import InvalidInput, TamperDetected
from .params import PRESETS, Params, make_params
from .security import check_security, require_depth

_MAGIC = b"LKHE1"
_HEADER = struct.Struct(">5s16sIHI")  # magic, context id, length, depth used, period


def available(backend: str) -> bool:
    """True when ``backend`` imports here.

    Parameters
    ----------
    backend : {"seal", "openfhe"}
        OpenFHE's PyPI wheels carry a CPython 3.10 binary only.

    Returns
    -------
    bool
        False when the library is missing or fails to import (an unknown name raises InvalidInput).
    """
    from ..errors import BackendUnavailable

    try:
        if backend == "seal":
            from .seal_backend import load_sealapi as load
        elif backend == "openfhe":
            from .openfhe_backend import load_openfhe as load
        else:
            raise InvalidInput(f"backend must be 'seal' or 'openfhe', not {backend!r}.")
        load()
    except BackendUnavailable:
        return False
    return True


def _backend_class(name: str):
    if name == "seal":
        from .seal_backend import SealBackend

        return SealBackend
    from .openfhe_backend import OpenFHEBackend

    return OpenFHEBackend


def context(
    backend: str = "seal",
    scheme: str | None = None,
    *,
    poly_modulus_degree: int | None = None,
    preset: str | None = None,
    allow_insecure: bool = False,
    threads: int | None = None,
    **kwargs,
) -> HEContext:
    """Create keys and a context on ``backend`` ("seal" or "openfhe") for ``scheme``.

    Parameters
    ----------
    backend, scheme : str
        "seal" with "ckks"/"bfv"; "openfhe" with "ckks"/"bfv"/"bgv" (scheme defaults to the
        preset's, else "ckks").
    poly_modulus_degree : int
        Ring dimension N (1024 ... 32768); default 8192.
    preset : str, optional
        A name from :data:`labkit.he.params.PRESETS`; explicit arguments override it.
    allow_insecure : bool
        Run parameters below the requested security (a demonstration); ``ctx.insecure`` is then True.
    threads : int or None
        OpenMP threads OpenFHE must run with (SEAL's operations are single-threaded). OpenFHE
        fixes its count at first import (``LABKIT_OPENFHE_THREADS``, default 1): a different
        value raises InvalidInput with the fix; None accepts the count in force.
    **kwargs
        ``depth``, ``scale_bits``, ``first_mod_bits``, ``special_mod_bits``, ``plain_modulus``,
        ``security`` (128/192/256), ``coeff_mod_bit_sizes`` (SEAL only).

    Returns
    -------
    HEContext
        Fresh keys (the libraries' own secure generators) and the evaluator.

    Raises
    ------
    InvalidInput
        Unknown backend/scheme, malformed parameter, plaintext modulus without batching.
    InsecureParameters
        The modulus is too long for N at the requested security (HE Standard), unless allow_insecure.

    References
    ----------
    Albrecht et al., Homomorphic Encryption Standard, 2018 (the security check).
    Microsoft SEAL 4.x manual (``EncryptionParameters``); OpenFHE documentation (``CCParams``).
    """
    if preset is not None and preset not in PRESETS:
        raise InvalidInput(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}.")
    options = dict(PRESETS[preset]) if preset is not None else {}
    preset_scheme = options.pop("scheme", "ckks")
    scheme = scheme or preset_scheme
    options.update(kwargs)
    if poly_modulus_degree is not None:
        options["poly_modulus_degree"] = poly_modulus_degree
    options.setdefault("poly_modulus_degree", 8192)
    if not isinstance(allow_insecure, bool):
        raise InvalidInput("allow_insecure must be True or False.")
    params = make_params(backend, scheme, **options)
    report = check_security(
        params.poly_modulus_degree, params.log_qp, security=params.security, allow_insecure=allow_insecure
    )
    if backend == "openfhe":
        from .openfhe_backend import require_threads

        require_threads(threads)
    impl = _backend_class(backend)(params, check_security=report.secure)
    return HEContext(params, impl, report)


class HEContext:
    """Keys plus evaluator for one parameter set; creates and operates on :class:`Ciphertext`.

    Made by :func:`context`. Arithmetic checks its operands (same context, depth left,
    values the scheme holds) before any cryptography runs.

    Parameters
    ----------
    params : Params
        The validated parameter set.
    impl : SealBackend or OpenFHEBackend
        The backend holding the keys and doing the raw operations.
    security_report : SecurityReport
        What the HE Standard says about ``params``.

    Attributes
    ----------
    plaintext_cache : dict
        Encoded plaintexts reused across calls (model weights encoded once, see
        :mod:`labkit.he.linalg`).

    References
    ----------
    Cheon, Kim, Kim & Song, CKKS, ASIACRYPT 2017. Fan & Vercauteren, BFV, ePrint 2012/144.
    Brakerski, Gentry & Vaikuntanathan, BGV, ITCS 2012. Albrecht et al., Homomorphic
    Encryption Standard, 2018.
    """

    def __init__(self, params: Params, impl, security_report):
        self.params = params
        self.impl = impl
        self.security = security_report
        self.id = uuid.uuid4().bytes
        self._mac_key = secrets.token_bytes(32)
        self.plaintext_cache: dict = {}
        if params.backend == "seal" and params.scheme == "bfv":
            self._check_bfv_budget()

    # -- properties --------------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """The backend's name: "seal" or "openfhe"."""
        return self.params.backend

    @property
    def scheme(self) -> str:
        """The scheme: "ckks", "bfv" or "bgv"."""
        return self.params.scheme

    @property
    def slots(self) -> int:
        """Values one ciphertext holds (N/2 for CKKS, N for BFV/BGV)."""
        return self.impl.slots

    @property
    def insecure(self) -> bool:
        """True when the parameters are below the requested security (allowed explicitly)."""
        return not self.security.secure

    @property
    def depth(self) -> int:
        """Multiplicative depth the modulus chain was built for."""
        return self.params.depth

    def __repr__(self) -> str:
        return f"HEContext({self.backend}/{self.scheme}, N={self.params.poly_modulus_degree}, depth={self.depth}, {self.security.level or '<128'}-bit)"

    def _check_bfv_budget(self) -> None:
        """SEAL BFV: refuse a depth the noise budget cannot carry (measured on one square)."""
        probe = self.impl.encrypt(np.ones(self.slots, dtype=np.int64))
        fresh = self.impl.noise_budget(probe)
        cost = fresh - self.impl.noise_budget(self.impl.multiply(probe, probe))
        capacity = max(0, (fresh - 1) // max(cost, 1))
        if self.depth > capacity:
            raise InvalidInput(
                f"SEAL BFV at N={self.params.poly_modulus_degree} with t={self.params.plain_modulus} carries about "
                f"{capacity} multiplication(s) (fresh noise budget {fresh} bits, ~{cost} bits each); "
                f"depth={self.depth} needs a larger poly_modulus_degree or a smaller plain_modulus."
            )

    # -- values --------------------------------------------------------------------------------------
    def _vector(self, values, *, what: str = "values", max_len: int | None = None) -> np.ndarray:
        try:
            arr = np.asarray(values, dtype=np.float64 if self.scheme == "ckks" else None)
        except (TypeError, ValueError):
            raise InvalidInput(f"{what} must be numbers (a list or 1-D array).") from None
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1 or arr.size == 0:
            raise InvalidInput(f"{what} must be a non-empty 1-D sequence of numbers, not shape {arr.shape}.")
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise InvalidInput(f"{what} must be real numbers, not {arr.dtype}.")
        limit = max_len or self.slots
        if arr.size > limit:
            raise InvalidInput(
                f"{what} has {arr.size} entries but a ciphertext holds {limit} slots here; "
                "split it over several ciphertexts or raise poly_modulus_degree."
            )
        if not np.all(np.isfinite(arr.astype(np.float64))):
            raise InvalidInput(f"{what} contain NaN or inf; clean the data before encrypting.")
        if self.scheme == "ckks":
            bound = self.params.max_abs_value
            if np.max(np.abs(arr)) >= bound:
                raise InvalidInput(
                    f"{what} reach {np.max(np.abs(arr)):.3g}, but CKKS with first_mod_bits={self.params.first_mod_bits} "
                    f"and scale_bits={self.params.scale_bits} holds magnitudes below {bound:g}; rescale the data "
                    "or widen first_mod_bits - scale_bits."
                )
            return arr
        if not np.all(arr == np.round(arr)):
            raise InvalidInput(f"{what} must be integers for {self.scheme.upper()}; use CKKS for real numbers.")
        half = (self.params.plain_modulus - 1) // 2
        ints = arr.astype(np.int64)
        if np.max(np.abs(ints)) > half:
            raise InvalidInput(
                f"{what} must lie in [-{half}, {half}] for plain_modulus={self.params.plain_modulus}; "
                "scale them down or choose a larger plain_modulus."
            )
        return ints

    def _layout(self, arr: np.ndarray, period: int | None) -> np.ndarray:
        """Pad to the slot count, or tile with ``period`` (a power of two)."""
        full = np.zeros(self.slots, dtype=arr.dtype)
        if period is None:
            full[: arr.size] = arr
            return full
        block = np.zeros(period, dtype=arr.dtype)
        block[: arr.size] = arr
        return np.tile(block, self.slots // period)

    # -- encryption ----------------------------------------------------------------------------------
    def encrypt(self, values, *, replicate: bool = False) -> Ciphertext:
        """Encrypt a 1-D vector (at most ``slots`` long).

        ``replicate=True`` repeats the vector (padded to a power of two) across every slot, the
        layout :meth:`Ciphertext.matmul` needs.
        """
        arr = self._vector(values, max_len=self.impl.row if replicate else None)
        period = 1 << (arr.size - 1).bit_length() if replicate else None
        return Ciphertext(self, self.impl.encrypt(self._layout(arr, period)), arr.size, 0, period)

    def decrypt(self, ct: Ciphertext) -> np.ndarray:
        """The first ``len(ct)`` values (floats for CKKS, centred integers mod t for BFV/BGV)."""
        self._own(ct)
        return self.impl.decrypt(ct.raw)[: ct.length]

    def _own(self, ct) -> Ciphertext:
        if not isinstance(ct, Ciphertext):
            raise InvalidInput(f"expected a labkit Ciphertext, not {type(ct).__name__}.")
        if ct.ctx is not self:
            raise InvalidInput(
                "this ciphertext belongs to another context (other keys): ciphertexts from two contexts "
                "cannot be combined or decrypted together; encrypt it under this context."
            )
        return ct

    # -- depth ---------------------------------------------------------------------------------------
    def levels_left(self, ct: Ciphertext) -> int:
        """Multiplicative levels still available to ``ct``."""
        left = self.impl.levels_left(ct.raw)
        return self.depth - ct.used if left is None else left

    def noise_budget(self, ct: Ciphertext) -> int | None:
        """SEAL BFV's invariant noise budget in bits (None elsewhere)."""
        return self.impl.noise_budget(self._own(ct).raw)

    def _need_level(self, *cts: Ciphertext, what: str) -> None:
        left = min(self.levels_left(c) for c in cts)
        require_depth(1, left, what=what)

    # -- arithmetic ----------------------------------------------------------------------------------
    def _plain_operand(self, ct: Ciphertext, value) -> np.ndarray:
        arr = np.asarray(value)
        if arr.ndim == 0:
            arr = self._vector(arr, what="the plaintext operand")
            return np.full(self.slots, arr[0], dtype=arr.dtype)
        arr = self._vector(arr, what="the plaintext operand", max_len=ct.period)
        return self._layout(arr, ct.period)

    def _addend(self, ct: Ciphertext, value) -> np.ndarray:
        """A CKKS scalar stays a 0-d array (the backends add it without encoding a full vector)."""
        if self.scheme == "ckks" and np.ndim(value) == 0:
            return np.asarray(self._vector(value, what="the plaintext operand")[0])
        return self._plain_operand(ct, value)

    def add(self, a: Ciphertext, b) -> Ciphertext:
        """``a + b`` slot-wise, ``b`` a Ciphertext of this context, a plaintext vector or a scalar."""
        self._own(a)
        if isinstance(b, Ciphertext):
            self._own(b)
            return a.derive(self.impl.add(a.raw, b.raw), max(a.length, b.length), max(a.used, b.used))
        return a.derive(self.impl.add_plain(a.raw, self._addend(a, b)))

    def sub(self, a: Ciphertext, b) -> Ciphertext:
        """``a - b`` slot-wise, ``b`` a Ciphertext of this context, a plaintext vector or a scalar."""
        self._own(a)
        if isinstance(b, Ciphertext):
            self._own(b)
            return a.derive(self.impl.sub(a.raw, b.raw), max(a.length, b.length), max(a.used, b.used))
        return a.derive(self.impl.add_plain(a.raw, -self._addend(a, b)))

    def negate(self, a: Ciphertext) -> Ciphertext:
        """``-a`` slot-wise."""
        return self._own(a).derive(self.impl.negate(a.raw))

    def multiply(self, a: Ciphertext, b) -> Ciphertext:
        """Ciphertext x ciphertext (relinearised, rescaled in CKKS) or x plaintext vector/scalar.

        Raises InvalidInput before any work when no level is left (CKKS, BGV/BFV depth).

        References
        ----------
        Cheon, Kim, Kim & Song, CKKS, ASIACRYPT 2017 (rescaling); Fan & Vercauteren, BFV,
        ePrint 2012/144 (relinearisation).
        """
        self._own(a)
        if isinstance(b, Ciphertext):
            self._own(b)
            self._need_level(a, b, what="this multiplication")
            raw = self.impl.multiply(a.raw, a.raw if b is a else b.raw)
            return a.derive(raw, max(a.length, b.length), max(a.used, b.used) + 1)
        if self.scheme == "ckks":
            self._need_level(a, what="this plaintext multiplication")
            try:
                arr = np.asarray(b, dtype=np.float64)
            except (TypeError, ValueError):
                raise InvalidInput("the plaintext operand must be numbers (a scalar or a 1-D sequence).") from None
            if arr.ndim == 0:
                self._vector(arr, what="the plaintext operand")
                return a.derive(self.impl.multiply_plain(a.raw, arr), used=a.used + 1)
        return a.derive(
            self.impl.multiply_plain(a.raw, self._plain_operand(a, b)), used=a.used + (self.scheme == "ckks")
        )

    def rotate(self, a: Ciphertext, steps: int) -> Ciphertext:
        """Cyclic left rotation by ``steps`` over rows of N/2 slots (negative: right).

        The vector is zero-padded to the row, so ``[1, 2, 3]`` rotated by 1 reads ``[2, 3, 0]``.
        """
        self._own(a)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
            raise InvalidInput(f"steps must be an integer, not {steps!r}.")
        return a.derive(self.impl.rotate(a.raw, int(steps)))

    def sum(self, a: Ciphertext) -> Ciphertext:
        """Sum of all slots, in every slot (decrypts to a length-1 vector).

        A replicated ciphertext sums every copy; use :meth:`dot` (which masks to the first
        copy) for the sum of one vector.
        """
        return self._own(a).derive(self.impl.sum_all(a.raw), length=1, period=None)

    def dot(self, a: Ciphertext, vector) -> Ciphertext:
        """Inner product with a plaintext vector (one plaintext product and a slot sum)."""
        self._own(a)
        arr = self._vector(vector, what="the plaintext vector", max_len=a.length)
        flat = a.derive(a.raw, period=None)  # zero padding: a replicated vector sums only its first copy
        return self.sum(self.multiply(flat, arr))

    def linear_combination(self, cts, weights, bias: float = 0.0) -> Ciphertext:
        """sum_i weights[i] * cts[i] + bias with plaintext scalar weights (one level in CKKS).

        The building block of "one slot per sample" (SIMD-batched) inference: each
        ciphertext holds one feature of many samples.
        """
        cts = [self._own(c) for c in cts]
        w = np.asarray(weights, dtype=np.float64)
        if not cts or w.shape != (len(cts),):
            raise InvalidInput(f"give one weight per ciphertext: {len(cts)} ciphertexts, weights shape {w.shape}.")
        if not np.all(np.isfinite(w)) or not np.isfinite(bias):
            raise InvalidInput("weights and bias must be finite numbers.")
        if self.scheme != "ckks" and (np.any(w != np.round(w)) or bias != round(bias)):
            raise InvalidInput(f"{self.scheme.upper()} weights must be integers; use CKKS for real weights.")
        if self.scheme == "ckks":
            self._need_level(*cts, what="this linear combination")
        used = max(c.used for c in cts) + (self.scheme == "ckks")
        out = cts[0].derive(self.impl.linear_combination([c.raw for c in cts], w), max(len(c) for c in cts), used)
        return out + bias if bias else out

    def align(self, cts) -> list[Ciphertext]:
        """The ciphertexts brought down to the lowest level among them (CKKS; others unchanged).

        Dropping RNS limbs is exact and makes later sums cheaper: a weighted sum over many
        ciphertexts (:meth:`linear_combination`) then needs no level switch per term.
        """
        cts = [self._own(c) for c in cts]
        if self.scheme != "ckks" or len(cts) < 2:
            return cts
        lefts = [self.levels_left(c) for c in cts]
        low = min(lefts)
        return [
            c if left == low else c.derive(self.impl.drop_levels(c.raw, left - low), used=self.depth - low)
            for c, left in zip(cts, lefts)
        ]

    def matmul(self, a: Ciphertext, matrix) -> Ciphertext:
        """``x @ matrix`` for a replicated ciphertext x (see ``encrypt(..., replicate=True)``)."""
        from .linalg import matvec

        return matvec(self, self._own(a), matrix)

    def polyval(self, a: Ciphertext, coefficients) -> Ciphertext:
        """Evaluate c0 + c1 x + ... + cd x^d slot-wise (depth floor(log2 d) + 1)."""
        from .linalg import polyval

        return polyval(self, self._own(a), coefficients)

    def size_bytes(self, a: Ciphertext) -> int:
        """Size of ``a`` in bytes (in memory for CKKS; serialized for OpenFHE BFV/BGV)."""
        return self.impl.size_bytes(self._own(a).raw)

    # -- serialisation -------------------------------------------------------------------------------
    def serialize(self, a: Ciphertext) -> bytes:
        """Bytes of ``a`` with a header and an HMAC-SHA256 tag under this context's key."""
        self._own(a)
        body = _HEADER.pack(_MAGIC, self.id, a.length, a.used, a.period or 0) + self.impl.serialize(a.raw)
        return body + hmac.new(self._mac_key, body, hashlib.sha256).digest()

    def deserialize(self, data: bytes) -> Ciphertext:
        """Inverse of :meth:`serialize`; TamperDetected if any byte changed."""
        if not isinstance(data, (bytes, bytearray)) or len(data) < _HEADER.size + 32:
            raise InvalidInput("expected the bytes returned by HEContext.serialize.")
        body, tag = bytes(data[:-32]), bytes(data[-32:])
        magic, ctx_id, length, used, period = _HEADER.unpack(body[: _HEADER.size])
        if magic != _MAGIC:
            raise TamperDetected("these bytes do not start with a labkit ciphertext header: corrupted or foreign.")
        if ctx_id != self.id:
            raise InvalidInput("this ciphertext was serialized by another context; deserialize it there.")
        if not hmac.compare_digest(tag, hmac.new(self._mac_key, body, hashlib.sha256).digest()):
            raise TamperDetected("the ciphertext's authentication tag does not match: the bytes were modified.")
        raw = self.impl.deserialize(body[_HEADER.size :])
        return Ciphertext(self, raw, length, used, period or None)


class Ciphertext:
    """An encrypted vector: operators ``+ - * @`` and methods mirror :class:`HEContext`.

    Parameters
    ----------
    ctx : HEContext
        The context (keys) it belongs to.
    raw : object
        The library's ciphertext (SEAL or OpenFHE).
    length : int
        How many leading slots hold the vector.
    used : int
        Multiplicative levels spent so far.
    period : int or None
        For a replicated vector (``encrypt(..., replicate=True)``), the power of two it repeats with.
    """

    __slots__ = ("ctx", "length", "period", "raw", "used")
    __array_ufunc__ = None  # numpy defers to our operators: np.array([...]) * ct is a plaintext product

    def __init__(self, ctx: HEContext, raw, length: int, used: int = 0, period: int | None = None):
        self.ctx, self.raw, self.length, self.used, self.period = ctx, raw, length, used, period

    def derive(self, raw, length=None, used=None, period=...) -> Ciphertext:
        """A Ciphertext of the same context holding ``raw``, with this one's layout unless overridden."""
        return Ciphertext(
            self.ctx,
            raw,
            self.length if length is None else length,
            self.used if used is None else used,
            self.period if period is ... else period,
        )

    def __len__(self) -> int:
        return self.length

    def __add__(self, other):
        return self.ctx.add(self, other)

    __radd__ = __add__

    def __sub__(self, other):
        return self.ctx.sub(self, other)

    def __rsub__(self, other):
        return self.ctx.add(self.ctx.negate(self), other)

    def __mul__(self, other):
        return self.ctx.multiply(self, other)

    __rmul__ = __mul__

    def __neg__(self):
        return self.ctx.negate(self)

    def __matmul__(self, matrix):
        return self.ctx.matmul(self, matrix)

    def rotate(self, steps: int) -> Ciphertext:
        """Cyclic left rotation by ``steps`` (see :meth:`HEContext.rotate`)."""
        return self.ctx.rotate(self, steps)

    def sum(self) -> Ciphertext:
        """Sum of all slots (see :meth:`HEContext.sum`)."""
        return self.ctx.sum(self)

    def dot(self, vector) -> Ciphertext:
        """Inner product with a plaintext vector (see :meth:`HEContext.dot`)."""
        return self.ctx.dot(self, vector)

    def matmul(self, matrix) -> Ciphertext:
        """``self @ matrix`` for a replicated vector (see :meth:`HEContext.matmul`)."""
        return self.ctx.matmul(self, matrix)

    def polyval(self, coefficients) -> Ciphertext:
        """A polynomial evaluated slot-wise (see :meth:`HEContext.polyval`)."""
        return self.ctx.polyval(self, coefficients)

    def decrypt(self) -> np.ndarray:
        """The decrypted values (see :meth:`HEContext.decrypt`)."""
        return self.ctx.decrypt(self)

    def serialize(self) -> bytes:
        """Authenticated bytes (see :meth:`HEContext.serialize`)."""
        return self.ctx.serialize(self)

    @property
    def size_bytes(self) -> int:
        """Size in bytes (see :meth:`HEContext.size_bytes`)."""
        return self.ctx.size_bytes(self)

    @property
    def levels_left(self) -> int:
        """Multiplicative levels still available."""
        return self.ctx.levels_left(self)

    def __repr__(self) -> str:
        return f"Ciphertext({self.ctx.backend}/{self.ctx.scheme}, len={self.length}, levels_left={self.levels_left})"
