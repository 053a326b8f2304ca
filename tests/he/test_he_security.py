"""HE Standard security check, insecure opt-in, depth planner, parameter validation."""

from __future__ import annotations

import pytest

import labkit.he as he
from labkit.errors import InsecureParameters, InvalidInput
from labkit.he.security import HE_STANDARD_MAX_LOGQ, check_security, plan_depth, polynomial_depth, security_level

NEEDS_OPENFHE = pytest.mark.skipif(
    not he.available("openfhe"), reason="OpenFHE does not import here (CPython 3.10 only)"
)


def test_table_matches_seals_embedded_copy():
    sealapi = pytest.importorskip("tenseal.sealapi")
    levels = {128: sealapi.SEC_LEVEL_TYPE.TC128, 192: sealapi.SEC_LEVEL_TYPE.TC192, 256: sealapi.SEC_LEVEL_TYPE.TC256}
    for n, row in HE_STANDARD_MAX_LOGQ.items():
        for bits, limit in row.items():
            assert sealapi.CoeffModulus.MaxBitCount(n, levels[bits]) == limit


def test_security_levels():
    assert security_level(8192, 218) == 128
    assert security_level(8192, 219) == 0
    assert security_level(16384, 300) == 192
    assert security_level(32768, 400) == 256
    assert check_security(4096, 500, allow_insecure=True).level == 0


@pytest.mark.parametrize("backend", ["seal", pytest.param("openfhe", marks=NEEDS_OPENFHE)])
def test_insecure_parameters_refused_then_flagged_when_allowed(backend):
    # depth 2 at N=4096: [50, 40, 40 | 60] = 190 bits > 109 allowed at 128-bit
    with pytest.raises(InsecureParameters, match="poly_modulus_degree to 8192"):
        he.context(backend, "ckks", poly_modulus_degree=4096)
    ctx = he.context(backend, "ckks", poly_modulus_degree=4096, allow_insecure=True)
    assert ctx.insecure and ctx.security.level == 0
    x = ctx.encrypt([1.5, 2.5])
    assert abs(ctx.decrypt(x * x)[1] - 6.25) < 1e-3  # runs, but is not secure


def test_too_deep_for_n_refused_up_front():
    with pytest.raises(InsecureParameters, match="exceeds"):
        he.context("seal", "ckks", poly_modulus_degree=8192, depth=4, scale_bits=40)


@NEEDS_OPENFHE
def test_openfhe_bgv_refuses_depth_its_standard_check_rejects():
    with pytest.raises(InsecureParameters, match="OpenFHE"):
        he.context("openfhe", "bgv", poly_modulus_degree=8192, depth=2)


def test_seal_bfv_refuses_more_depth_than_its_noise_budget():
    with pytest.raises(InvalidInput, match="noise budget"):
        he.context("seal", "bfv", poly_modulus_degree=4096, depth=3)


def test_depth_planner():
    assert [polynomial_depth(d) for d in (1, 2, 3, 4, 5, 8)] == [1, 2, 2, 3, 3, 4]
    assert plan_depth(layers=1, final_degree=3) == 3
    assert plan_depth(layers=2, activation_degree=2) == 3
    assert plan_depth(layers=3, activation_degree=3) == 3 + 2 * 2


def test_polynomial_too_deep_refused_before_running():
    ctx = he.context("seal", "ckks", poly_modulus_degree=8192, depth=2)
    x = ctx.encrypt([0.1, 0.2])
    with pytest.raises(InvalidInput, match="degree-7 polynomial needs multiplicative depth 3"):
        x.polyval([0, 1, 0, 1, 0, 1, 0, 1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(backend="tfhe"), "backend"),
        (dict(scheme="bgv"), "BGV"),
        (dict(poly_modulus_degree=5000), "HE Standard"),
        (dict(scheme="bfv", plain_modulus=65536), "prime"),
        (dict(scheme="bfv", plain_modulus=257), "1 mod"),
        (dict(depth=0), "depth"),
        (dict(scale_bits=70), "scale_bits"),
        (dict(security=100), "security"),
        (dict(preset="nope"), "preset"),
    ],
)
def test_parameter_validation(kwargs, match):
    kwargs = {"backend": "seal", **kwargs}
    with pytest.raises(InvalidInput, match=match):
        he.context(**kwargs)


@NEEDS_OPENFHE
def test_presets_build_secure_contexts():
    ctx = he.context("openfhe", preset="ckks-8192-d3")
    assert ctx.depth == 3 and ctx.security.level == 128 and not ctx.insecure


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, labkit.he; assert 'tenseal' not in sys.modules and 'openfhe' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("backend", ["seal", pytest.param("openfhe", marks=NEEDS_OPENFHE)])
def test_higher_security_levels_are_checked_too(backend):
    with pytest.raises(InsecureParameters, match="192-bit"):
        he.context(backend, "ckks", poly_modulus_degree=8192, security=192)  # 190 bits > 152
    ctx = he.context(backend, "ckks", poly_modulus_degree=16384, security=192)
    assert ctx.security.level == 256 and not ctx.insecure  # 190 bits at N=16384 clear even 256-bit
