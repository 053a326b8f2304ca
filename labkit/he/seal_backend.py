"""Microsoft SEAL backend, through TenSEAL's raw bindings (``tenseal.sealapi``).

labkit talks to SEAL's Evaluator, Encryptor and encoders directly rather than
through TenSEAL's vector layer, so rotation keys, rescaling and level
alignment are explicit and op-level timings are SEAL's own. SEAL has CKKS and
BFV (BGV exists in SEAL 4 but TenSEAL 0.3.16 does not expose it).

References
----------
Microsoft SEAL (release 4.x), https://github.com/microsoft/SEAL, examples
``5_ckks_basics.cpp`` and ``2_encoders.cpp``.
Benaissa et al., "TenSEAL: A Library for Encrypted Tensor Operations Using
Homomorphic Encryption", 2021 (arXiv:2104.03152).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

import numpy as np

from ..errors import BackendUnavailable, InvalidInput, TamperDetected


def load_sealapi():
    """TenSEAL's raw SEAL bindings (``tenseal.sealapi``); BackendUnavailable when TenSEAL does not import."""
    try:
        import tenseal.sealapi as sealapi
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise BackendUnavailable("SEAL (tenseal)", str(exc)) from exc
    return sealapi


class SealBackend:
    """Raw-ciphertext operations over SEAL for one parameter set and one key pair.

    Keys come from SEAL's ``KeyGenerator`` (its own secure randomness); Galois keys are
    made on first use of each rotation step.

    Parameters
    ----------
    params : Params
        A validated CKKS or BFV parameter set (``labkit.he.params.make_params``).
    check_security : bool
        Ask SEAL to enforce the HE Standard level of ``params.security`` (False: none).

    References
    ----------
    Microsoft SEAL 4.x manual and examples (``1_bfv_basics.cpp``, ``4_ckks_basics.cpp``,
    ``5_rotation.cpp``). Cheon, Kim, Kim & Song, CKKS, ASIACRYPT 2017. Fan & Vercauteren,
    BFV, ePrint 2012/144. Albrecht et al., Homomorphic Encryption Standard, 2018.
    """

    name = "seal"

    def __init__(self, params, *, check_security: bool):
        s = self._s = load_sealapi()
        self.params = params
        n = params.poly_modulus_degree
        scheme = s.SCHEME_TYPE.CKKS if params.scheme == "ckks" else s.SCHEME_TYPE.BFV
        parms = s.EncryptionParameters(scheme)
        parms.set_poly_modulus_degree(n)
        try:
            parms.set_coeff_modulus(s.CoeffModulus.Create(n, list(params.coeff_mod_bit_sizes)))
        except RuntimeError as exc:  # e.g. too few primes = 1 mod 2N of a small bit size
            raise InvalidInput(
                f"SEAL cannot build the modulus chain {list(params.coeff_mod_bit_sizes)} for N={n} ({exc}); "
                "use larger prime sizes (scale_bits >= 25 at N >= 8192)."
            ) from None
        if params.scheme != "ckks":
            parms.set_plain_modulus(s.Modulus(params.plain_modulus))
        levels = {128: s.SEC_LEVEL_TYPE.TC128, 192: s.SEC_LEVEL_TYPE.TC192, 256: s.SEC_LEVEL_TYPE.TC256}
        sec = levels[params.security] if check_security else s.SEC_LEVEL_TYPE.NONE
        self.context = s.SEALContext(parms, True, sec)
        if not self.context.parameters_set():
            raise InvalidInput(f"SEAL rejected the parameters: {self.context.parameters_error_message()}.")
        keygen = self._keygen = s.KeyGenerator(self.context)
        self._secret_key = keygen.secret_key()
        self.public_key = s.PublicKey()
        keygen.create_public_key(self.public_key)
        self.relin_keys = s.RelinKeys()
        keygen.create_relin_keys(self.relin_keys)
        self._galois: dict[int, object] = {}
        self.evaluator = s.Evaluator(self.context)
        self.encryptor = s.Encryptor(self.context, self.public_key)
        self.decryptor = s.Decryptor(self.context, self._secret_key)
        self.ckks = params.scheme == "ckks"
        self.encoder = s.CKKSEncoder(self.context) if self.ckks else s.BatchEncoder(self.context)
        self.slots = self.encoder.slot_count()
        self.row = n // 2  # rotations act cyclically on rows of N/2 slots
        self.scale = float(2.0**params.scale_bits) if self.ckks else 1.0

    # -- helpers -----------------------------------------------------------------------------------
    def _new(self):
        return self._s.Ciphertext()

    def _copy(self, ct):
        out = self._new()
        self.evaluator.mod_switch_to(ct, ct.parms_id(), out)
        return out

    def chain_index(self, ct) -> int:
        """Position of the ciphertext's level in SEAL's modulus chain (0: last level)."""
        return self.context.get_context_data(ct.parms_id()).chain_index()

    def _align(self, a, b):
        """Bring two ciphertexts to the same level (and, in CKKS, the same nominal scale)."""
        ia, ib = self.chain_index(a), self.chain_index(b)
        if ia > ib:
            a2 = self._new()
            self.evaluator.mod_switch_to(a, b.parms_id(), a2)
            a = a2
        elif ib > ia:
            b2 = self._new()
            self.evaluator.mod_switch_to(b, a.parms_id(), b2)
            b = b2
        return a, b

    def _match_scale(self, a, b):
        if self.ckks and a.scale != b.scale:
            if abs(a.scale / b.scale - 1) > 1e-3:  # pragma: no cover - guarded by the wrapper
                raise InvalidInput("cannot add CKKS ciphertexts whose scales differ by more than 0.1%.")
            b = self._copy(b)
            b.scale = a.scale
        return a, b

    def _galois_key(self, step: int):
        """Galois key for a left rotation by ``step`` (0: swap the two rows), made on first use."""
        key = self._galois.get(step)
        if key is None:
            two_n = 2 * self.params.poly_modulus_degree
            elt = two_n - 1 if step == 0 else pow(3, step % self.row, two_n)  # SEAL's generator is 3
            key = self._s.GaloisKeys()
            self._keygen.create_galois_keys([int(elt)], key)  # list of positive ints = Galois elements
            self._galois[step] = key
        return key

    def _encode(self, values, ct=None, scale=None):
        pt = self._s.Plaintext()
        if self.ckks:
            parms_id = ct.parms_id() if ct is not None else self.context.first_parms_id()
            self.encoder.encode(values, parms_id, scale if scale is not None else self.scale, pt)
        else:
            self.encoder.encode(values, pt)
        return pt

    # -- operations --------------------------------------------------------------------------------
    def encrypt(self, values: np.ndarray):
        """Encrypt a full slot vector under the public key."""
        pt = self._encode(values.tolist())
        ct = self._new()
        self.encryptor.encrypt(pt, ct)
        return ct

    def decrypt(self, ct) -> np.ndarray:
        """Decrypt and decode every slot (floats for CKKS, integers mod t for BFV/BGV)."""
        pt = self._s.Plaintext()
        self.decryptor.decrypt(ct, pt)
        if self.ckks:
            return np.asarray(self.encoder.decode_double(pt))
        return np.asarray(self.encoder.decode_int64(pt), dtype=np.int64)

    def add(self, a, b):
        """Ciphertext + ciphertext."""
        a, b = self._match_scale(*self._align(a, b))
        out = self._new()
        self.evaluator.add(a, b, out)
        return out

    def sub(self, a, b):
        """Ciphertext - ciphertext."""
        a, b = self._match_scale(*self._align(a, b))
        out = self._new()
        self.evaluator.sub(a, b, out)
        return out

    def negate(self, a):
        """-ciphertext."""
        out = self._new()
        self.evaluator.negate(a, out)
        return out

    def add_plain(self, a, values):
        """Ciphertext + an encoded plaintext vector (at the ciphertext's level and scale), or a CKKS scalar (0-d)."""
        pt = self._encode(values.tolist(), a, a.scale if self.ckks else None)
        out = self._new()
        self.evaluator.add_plain(a, pt, out)
        return out

    def multiply(self, a, b):
        """Ciphertext x ciphertext, relinearised (and rescaled in CKKS)."""
        a, b = self._align(a, b)
        out = self._new()
        if a is b:
            self.evaluator.square(a, out)
        else:
            self.evaluator.multiply(a, b, out)
        self.evaluator.relinearize_inplace(out, self.relin_keys)
        if self.ckks:
            self.evaluator.rescale_to_next_inplace(out)
        return out

    def multiply_plain(self, a, values, *, rescale: bool = True):
        """Multiply by a plaintext vector (or a scalar, given as a 0-d array).

        ``rescale=False`` leaves a CKKS product unrescaled, to add several and rescale once.
        """
        if self.ckks:
            value = float(values) if values.ndim == 0 else values.tolist()
            pt = self._encode(value, a)
        else:
            vec = np.full(self.slots, int(values)) if values.ndim == 0 else values
            pt = self._encode(vec.tolist())
        out = self._zero_like(a, pt) if pt.is_zero() else self._new()
        if not pt.is_zero():
            self.evaluator.multiply_plain(a, pt, out)
        if self.ckks and rescale:
            self.evaluator.rescale_to_next_inplace(out)
        return out

    def encode_like(self, values: np.ndarray, a):
        """A plaintext ready to multiply ``a`` (same level), for reuse across calls."""
        return self._encode(values.tolist(), a) if self.ckks else self._encode(values.tolist())

    def level_key(self, a):
        """A hashable key of the ciphertext's level (and scale), for caching encoded plaintexts."""
        return (tuple(a.parms_id()), a.scale) if self.ckks else 0

    def multiply_encoded(self, a, pt, *, rescale: bool = True):
        """Multiply by a plaintext from :meth:`encode_like` (rescaled in CKKS unless ``rescale=False``)."""
        out = self._zero_like(a, pt) if pt.is_zero() else self._new()
        if not pt.is_zero():
            self.evaluator.multiply_plain(a, pt, out)
        if self.ckks and rescale:
            self.evaluator.rescale_to_next_inplace(out)
        return out

    def _zero_like(self, a, pt):
        """A fresh encryption of zero shaped like ``a * pt`` (SEAL refuses transparent products)."""
        zero = self._s.Plaintext()
        if self.ckks:
            self.encoder.encode(0.0, a.parms_id(), a.scale * pt.scale, zero)
        else:
            self.encoder.encode([0] * self.slots, zero)
        out = self._new()
        self.encryptor.encrypt(zero, out)
        return out

    def rescale(self, a):
        """Rescale a CKKS ciphertext to the next level (BFV/BGV: unchanged)."""
        if self.ckks:
            self.evaluator.rescale_to_next_inplace(a)
        return a

    def drop_levels(self, a, levels: int):
        """The ciphertext with ``levels`` fewer RNS limbs (exact: SEAL's mod_switch_to_next, scale kept)."""
        out = a
        for _ in range(int(levels)):
            nxt = self._new()
            self.evaluator.mod_switch_to_next(out, nxt)
            out = nxt
        return out

    def linear_combination(self, cts, weights):
        """sum_i w_i * ct_i with scalar weights: products left unrescaled, one rescale at the end.

        In CKKS each weight is encoded at the scale that brings its product to one common
        scale, so ciphertexts whose scales differ (x and x^2 after rescaling by different
        primes) add exactly; one plaintext and one product buffer are reused for every term.
        """
        level = min(self.chain_index(c) for c in cts)
        target = max(c.scale for c in cts) * self.scale if self.ckks else None
        pt, term, acc = self._s.Plaintext(), self._new(), None
        anchor = None
        for ct, w in zip(cts, weights):
            if w == 0:
                continue
            if self.chain_index(ct) != level:
                anchor = anchor or next(c for c in cts if self.chain_index(c) == level)
                ct = self._align(ct, anchor)[0]
            if self.ckks:
                self.encoder.encode(float(w), ct.parms_id(), target / ct.scale, pt)
            else:
                self.encoder.encode([int(w)] * self.slots, pt)
            if pt.is_zero():  # a weight below the encoding precision contributes nothing
                continue
            if acc is None:
                acc = self._new()
                self.evaluator.multiply_plain(ct, pt, acc)
            else:
                self.evaluator.multiply_plain(ct, pt, term)
                self.evaluator.add_inplace(acc, term)
        if acc is None:
            return self.multiply_plain(cts[0], np.zeros(()) if self.ckks else np.zeros(self.slots, dtype=np.int64))
        return self.rescale(acc)

    def rotate(self, a, steps: int):
        """Cyclic left rotation by ``steps`` within rows of N/2 slots (rotation key made on first use)."""
        steps %= self.row
        if steps == 0:
            return self._copy(a)
        out = self._new()
        if self.ckks:
            self.evaluator.rotate_vector(a, steps, self._galois_key(steps), out)
        else:
            self.evaluator.rotate_rows(a, steps, self._galois_key(steps), out)
        return out

    def sum_all(self, a):
        """Every slot gets the sum of all slots (rotate-and-add; BFV also swaps its two rows)."""
        acc = a
        step = 1
        while step < self.row:
            acc = self.add(acc, self.rotate(acc, step))
            step *= 2
        if not self.ckks:
            swapped = self._new()
            self.evaluator.rotate_columns(acc, self._galois_key(0), swapped)
            acc = self.add(acc, swapped)
        return acc

    def levels_left(self, ct) -> int | None:
        """CKKS levels left to the ciphertext (None for BFV/BGV)."""
        return self.chain_index(ct) if self.ckks else None

    def noise_budget(self, ct) -> int | None:
        """Invariant noise budget in bits (SEAL BFV only; None elsewhere)."""
        return None if self.ckks else int(self.decryptor.invariant_noise_budget(ct))

    def size_bytes(self, ct) -> int:
        """In-memory size: polynomials x RNS limbs x N x 8 bytes."""
        return int(ct.size() * ct.coeff_modulus_size() * ct.poly_modulus_degree() * 8)

    def serialize(self, ct) -> bytes:
        """The ciphertext as the library serializes it."""
        return _saved_bytes(ct)

    def secret_key_bytes(self) -> bytes:
        """The secret key as SEAL serializes it: for handing it to a key holder (see labkit.tee.aggregation)."""
        return _saved_bytes(self._secret_key)

    def deserialize(self, data: bytes):
        """A ciphertext from :meth:`serialize`'s bytes; TamperDetected when the library refuses them."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ct.seal")
            with open(path, "wb") as fh:
                fh.write(data)
            ct = self._new()
            try:
                ct.load(self.context, path)
            except Exception as exc:
                raise TamperDetected(f"SEAL refused the ciphertext bytes ({exc}).") from exc
        return ct

    # -- direct library calls, for the benchmark ---------------------------------------------------
    def direct_ops(self, values: np.ndarray) -> dict[str, Callable[[], object]]:
        """Closures calling sealapi directly (no labkit code on the timed path), for the backend race.

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
        s = self._s
        ev, enc, ckks = self.evaluator, self.encoder, self.ckks
        vec = values.tolist()
        a, b = self.encrypt(values), self.encrypt(values)
        prod = self.multiply(a, b) if not ckks else None
        if ckks:
            prod = s.Ciphertext()
            ev.multiply(a, b, prod)
            ev.relinearize_inplace(prod, self.relin_keys)
        gk = self._galois_key(1)

        def encode_encrypt():
            pt, ct = s.Plaintext(), s.Ciphertext()
            enc.encode(vec, self.scale, pt) if ckks else enc.encode(vec, pt)
            self.encryptor.encrypt(pt, ct)

        def add():
            ev.add(a, b, s.Ciphertext())

        def multiply_relin():
            out = s.Ciphertext()
            ev.multiply(a, b, out)
            ev.relinearize_inplace(out, self.relin_keys)

        def rescale():
            ev.rescale_to_next(prod, s.Ciphertext())

        def rotate():
            out = s.Ciphertext()
            (ev.rotate_vector if ckks else ev.rotate_rows)(a, 1, gk, out)

        def decrypt():
            pt = s.Plaintext()
            self.decryptor.decrypt(a, pt)
            enc.decode_double(pt) if ckks else enc.decode_int64(pt)

        ops = dict(
            encode_encrypt=encode_encrypt, add=add, multiply_relin=multiply_relin, rotate=rotate, decrypt=decrypt
        )
        if ckks:
            ops["rescale"] = rescale
        return ops

    def direct_multiply(self, a, b) -> Callable[[], None]:
        """A closure doing ``a * b`` by direct sealapi calls: multiply, relinearize, rescale (CKKS)."""
        s, ev = self._s, self.evaluator

        def direct():
            out = s.Ciphertext()
            ev.multiply(a, b, out)
            ev.relinearize_inplace(out, self.relin_keys)
            ev.rescale_to_next_inplace(out)

        return direct

    def foreign_decrypt(self, ct, other: SealBackend) -> np.ndarray:
        """Decrypt with another backend's secret key (for the wrong-key test and demo)."""
        return other.decrypt(ct)


def _saved_bytes(obj) -> bytes:
    """What a SEAL object's ``save`` writes (the bindings save to a path only)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "object.seal")
        obj.save(path)
        with open(path, "rb") as fh:
            return fh.read()
