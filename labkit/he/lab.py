"""Lab functions of notebook 01: round trips, noise and depth, the parameter explorer.

Each returns a :class:`labkit.results.Result`; insecure parameters (allowed
only with ``allow_insecure=True``) are flagged "not for production".

References
----------
Albrecht et al., Homomorphic Encryption Standard, 2018 (security tables).
Cheon, Kim, Kim & Song, CKKS, ASIACRYPT 2017 (approximate arithmetic, rescaling).
Fan & Vercauteren, BFV, ePrint 2012/144 (noise budget).
"""

from __future__ import annotations

import numpy as np

from .. import bench, config, validate
from ..errors import InsecureParameters, InvalidInput
from ..results import NOT_FOR_PRODUCTION, Result
from .security import security_level


def _ctx(backend, scheme, allow_insecure, **kw):
    from .api import context

    return context(backend, scheme, allow_insecure=allow_insecure, **kw)


def _finish(result: Result, ctx) -> Result:
    result.metrics["security_bits"] = ctx.security.level
    result.artifacts["security"] = str(ctx.security)
    if ctx.insecure:
        result.flag(NOT_FOR_PRODUCTION)
    return result


def roundtrip(
    *,
    backend: str = "seal",
    scheme: str = "ckks",
    poly_modulus_degree: int = 8192,
    n_values: int | None = None,
    repeat: int | None = None,
    allow_insecure: bool = False,
    rng=None,
    **params,
) -> Result:
    """Encrypt random values, decrypt them, and time the basic operations.

    Metrics: ``max_error`` (0 for exact schemes), ``slots``, ``ciphertext_bytes``,
    ``expansion`` (ciphertext bytes per plaintext byte of 8-byte values), ``security_bits``;
    timings: encrypt, decrypt, add, multiply (with relinearisation and rescale).

    Parameters
    ----------
    backend, scheme, poly_modulus_degree, allow_insecure, **params
        As for :func:`labkit.he.context`.
    n_values : int, optional
        Values to encrypt (default: every slot).
    repeat : int, optional
        Timed repeats per operation (default 9; 3 in fast mode).
    rng : int, numpy Generator or None
        Seed of the random values (None: ``LABKIT_SEED``); keys come from the library.
    """
    if n_values is not None:
        validate.integer("n_values", n_values)
    reps = validate.integer("repeat", repeat) if repeat is not None else config.pick(9, 3)
    ctx = _ctx(backend, scheme, allow_insecure, poly_modulus_degree=poly_modulus_degree, **params)
    gen = config.rng(rng)
    n = min(n_values or ctx.slots, ctx.slots)
    if ctx.scheme == "ckks":
        values = gen.uniform(-1, 1, n)
    else:
        half = (ctx.params.plain_modulus - 1) // 2
        values = gen.integers(-half, half + 1, n)
    ct = ctx.encrypt(values)
    back = ctx.decrypt(ct)
    timings = {
        "encrypt": bench.measure(lambda: ctx.encrypt(values), name="encrypt", repeat=reps),
        "decrypt": bench.measure(lambda: ctx.decrypt(ct), name="decrypt", repeat=reps),
        "add": bench.measure(lambda: ct + ct, name="add", repeat=reps),
        "multiply": bench.measure(lambda: ct * ct, name="multiply", repeat=reps),
    }
    size = ctx.size_bytes(ct)
    result = Result(
        technique="he",
        name="roundtrip",
        params={"backend": backend, "n_values": n, **ctx.params.to_dict()},
        metrics={
            "max_error": float(np.max(np.abs(back - values))),
            "slots": ctx.slots,
            "ciphertext_bytes": size,
            "expansion": size / (8 * n),
            "depth": ctx.depth,
        },
        timings=timings,
    )
    return _finish(result, ctx)


def noise_growth(
    *,
    backend: str = "seal",
    scheme: str = "ckks",
    poly_modulus_degree: int = 8192,
    allow_insecure: bool = False,
    rng=None,
    **params,
) -> Result:
    """Square a ciphertext level after level until the depth runs out; record what is left.

    CKKS: the error after each level (values near 1, so squaring keeps them bounded).
    BFV/BGV: values stay exact; SEAL's BFV reports its noise budget in bits.
    ``artifacts["levels"]`` lists one dict per multiplication; the next multiplication
    after the last one is refused (``artifacts["refused"]`` holds the message).

    Parameters
    ----------
    backend, scheme, poly_modulus_degree, allow_insecure, **params
        As for :func:`labkit.he.context`.
    rng : int, numpy Generator or None
        Seed of the random values (None: ``LABKIT_SEED``).

    References
    ----------
    Cheon, Kim, Kim & Song, CKKS, ASIACRYPT 2017 (rescaling). Fan & Vercauteren, BFV,
    ePrint 2012/144 (noise budget).
    """
    ctx = _ctx(backend, scheme, allow_insecure, poly_modulus_degree=poly_modulus_degree, **params)
    gen = config.rng(rng)
    values = gen.uniform(0.9, 1.1, 64) if ctx.scheme == "ckks" else gen.integers(-3, 4, 64)
    ct, expected = ctx.encrypt(values), values.astype(np.float64)
    levels = [_level_row(ctx, ct, expected, 0)]
    for k in range(1, ctx.depth + 1):
        ct, expected = ct * ct, expected * expected
        if ctx.scheme != "ckks":
            t = ctx.params.plain_modulus
            expected = (expected + t // 2) % t - t // 2
        levels.append(_level_row(ctx, ct, expected, k))
    try:
        ct * ct
        refused = ""
    except InvalidInput as exc:
        refused = str(exc)
    result = Result(
        technique="he",
        name="noise_growth",
        params={"backend": backend, **ctx.params.to_dict()},
        metrics={"depth": ctx.depth, "final_error": levels[-1]["error"], "refused": bool(refused)},
        artifacts={"levels": levels, "refused": refused},
    )
    return _finish(result, ctx)


def _level_row(ctx, ct, expected, k) -> dict:
    got = ctx.decrypt(ct)
    row = {
        "multiplications": k,
        "levels_left": ctx.levels_left(ct),
        "error": float(np.max(np.abs(got - expected))),
        "bytes": ctx.size_bytes(ct),
    }
    budget = ctx.noise_budget(ct)
    if budget is not None:
        row["noise_budget_bits"] = budget
    return row


def explore(
    *,
    poly_modulus_degree: int = 8192,
    modulus_bits: int = 200,
    scale_bits: int = 40,
    backend: str = "seal",
    measure_ops: bool = True,
    repeat: int | None = None,
    rng: int | np.random.Generator | None = None,
) -> Result:
    """One point of the parameter explorer: N, total modulus bits and scale -> security, depth,
    precision and op times.

    The chain is [scale+10, scale x depth | 60] with the largest depth that fits
    ``modulus_bits``. Below 128-bit security the point is still computed (the explorer
    shows what goes wrong) and flagged.

    Parameters
    ----------
    poly_modulus_degree : int
        Ring dimension N.
    modulus_bits : int
        Total log2(QP) to spend, 60 to 1800.
    scale_bits : int
        CKKS scale, 20 to 50 bits.
    backend : {"seal", "openfhe"}
        Where the operations are timed.
    measure_ops : bool
        Build the context and time a multiplication and a rotation (False: the table only).
    repeat : int, optional
        Timed repeats (default 5; 3 in fast mode).
    rng : int, numpy Generator or None
        Seed of the values the precision is measured on (None: ``LABKIT_SEED``).

    References
    ----------
    Albrecht et al., Homomorphic Encryption Standard, 2018 (security tables).
    """
    modulus_bits = validate.integer("modulus_bits", modulus_bits, low=60, high=1800)
    scale_bits = validate.integer("scale_bits", scale_bits, low=20, high=50)
    reps = validate.integer("repeat", repeat) if repeat is not None else config.pick(5, 3)
    first = min(60, scale_bits + 10)
    depth = (modulus_bits - first - 60) // scale_bits
    if depth < 1:
        raise InvalidInput(
            f"{modulus_bits} bits hold no level at scale {scale_bits} (need {first} + {scale_bits} + 60); add bits."
        )
    level = security_level(poly_modulus_degree, first + depth * scale_bits + 60)
    metrics = {"security_bits": level, "depth": depth, "log_qp": first + depth * scale_bits + 60}
    result = Result(
        technique="he",
        name="parameter_point",
        params={
            "poly_modulus_degree": poly_modulus_degree,
            "modulus_bits": modulus_bits,
            "scale_bits": scale_bits,
            "backend": backend,
        },
        metrics=metrics,
    )
    metrics = result.metrics  # Result keeps its own copy
    if level == 0:
        result.flag(NOT_FOR_PRODUCTION)
    if measure_ops:
        try:
            ctx = _ctx(
                backend,
                "ckks",
                True,
                poly_modulus_degree=poly_modulus_degree,
                depth=depth,
                scale_bits=scale_bits,
                first_mod_bits=first,
            )
        except (InsecureParameters, InvalidInput) as exc:  # OpenFHE's check or SEAL's prime search can refuse
            result.artifacts["refused"] = str(exc)
            return result
        x = ctx.encrypt(config.rng(rng).uniform(-1, 1, 256))
        ref = ctx.decrypt(x)
        metrics["precision_bits"] = float(-np.log2(max(np.max(np.abs(ctx.decrypt(x * x) - ref * ref)), 1e-30)))
        result.timings["multiply"] = bench.measure(lambda: x * x, name="multiply", repeat=reps)
        result.timings["rotate"] = bench.measure(lambda: x.rotate(1), name="rotate", repeat=reps)
        metrics["multiply_ms"] = 1e3 * result.timings["multiply"].median
        metrics["rotate_ms"] = 1e3 * result.timings["rotate"].median
        metrics["ciphertext_bytes"] = x.size_bytes
    return result
