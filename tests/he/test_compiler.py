"""The ONNX-to-CKKS compiler: each layer kind round-trips against plaintext on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import labkit.he as he
from labkit.he import compiler, packing, planner
from labkit.workload import Workload

torch = pytest.importorskip("torch")
nn = torch.nn

BACKENDS = ["seal", pytest.param("openfhe", marks=pytest.mark.skipif(not he.available("openfhe"), reason="no OpenFHE"))]


class Square(nn.Module):
    def forward(self, x):
        return x * x


class Affine(nn.Module):
    """x @ W + b: exported as MatMul + Add (not Gemm)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_in, n_out) * 0.5)
        self.b = nn.Parameter(torch.randn(n_out) * 0.1)

    def forward(self, x):
        return x @ self.w + self.b


ACTS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU, "square": Square}


def conv_model(act: str, pool: str):
    """Conv (stride, padding, 2 -> 3 maps) + BN + act + pool + Flatten + Linear (Gemm) + act + MatMul/Add."""
    torch.manual_seed(0)
    bn, first = nn.BatchNorm2d(3), nn.BatchNorm2d(2)  # the exporter folds bn into the conv; first stays a node
    for norm in (bn, first):
        norm.running_mean.uniform_(-0.2, 0.2)
        norm.running_var.uniform_(0.5, 1.5)
        norm.weight.data.uniform_(0.5, 1.5)
        norm.bias.data.uniform_(-0.2, 0.2)
    pooling = nn.AvgPool2d(2) if pool == "avg" else nn.AdaptiveAvgPool2d(1)
    width = 12 if pool == "avg" else 3
    return nn.Sequential(
        first,
        nn.Conv2d(2, 3, 3, stride=2, padding=1),
        bn,
        ACTS[act](),
        pooling,
        nn.Flatten(),
        nn.Linear(width, 5),
        ACTS[act](),
        Affine(5, 3),
    ).eval()


def workload_of(model, shape=(2, 8, 8), n=120):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (n, *shape)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(X)).argmax(1).numpy()
    return Workload.from_torch(model, X, y, name="test")


def manual_polynomial_model(w, plan, X):
    """The model with each activation replaced by its fitted polynomial, layer by layer in numpy."""
    fits = [s.activation for s in plan.stages if s.activation]
    out = np.asarray(X, dtype=np.float64).reshape(len(X), *w.program.input_shape)
    k = 0
    for layer in w.program.folded().layers:
        if layer.kind == "activation":
            out = np.polynomial.polynomial.polyval(out, fits[k]["coefficients"])
            k += 1
        else:
            out = layer.forward(out)
    return out.reshape(len(X), -1)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param


@pytest.mark.parametrize("act", list(ACTS))
def test_each_layer_kind_round_trips_on_both_packings(backend, act):
    w = workload_of(conv_model(act, "avg" if act != "gelu" else "global"))
    kinds = {layer.op for layer in w.program.layers}
    assert {"BatchNormalization", "Conv", "Gemm", "MatMul+Add"} <= kinds
    assert {"AveragePool", "GlobalAveragePool"} & kinds
    plan = compiler.require_plan(w, degree=2)
    X = w.X_test[:6]
    want = plan.simulate(X)
    # the plan is the polynomial model, computed layer by layer in numpy
    assert np.allclose(want, manual_polynomial_model(w, plan, X), atol=1e-8)
    if act == "square":  # exact: the polynomial model is the model
        assert np.allclose(want, w.logits(X), atol=1e-5)
    assert len(plan.stages) == 3  # BN+conv, pool+flatten+linear, matmul+add: fused into 3 maps
    params = planner.choose(plan.depth, plan.max_magnitude, min_slots=256, backend=backend)
    ctx = he.context(backend, "ckks", **{k: v for k, v in params.items() if k != "modulus_bits"})
    scale = max(1.0, float(np.max(np.abs(want))))
    for mode in packing.MODES:
        got = packing.Runner(ctx, plan, mode)(X if mode == "batched" else X[:2])
        assert np.max(np.abs(got - want[: len(got)])) < 2e-2 * scale, mode


def test_higher_degree_uses_several_powers_and_still_matches(backend):
    w = workload_of(conv_model("tanh", "avg"))
    plan = compiler.require_plan(w, degree=3)
    assert any(len(s.powers) > 1 for s in plan.stages)
    assert plan.depth == 1 + 2 + 1 + 2 + 1
    params = planner.choose(plan.depth, plan.max_magnitude, min_slots=256, backend=backend)
    ctx = he.context(backend, "ckks", **{k: v for k, v in params.items() if k != "modulus_bits"})
    X = w.X_test[:4]
    want = plan.simulate(X)
    for mode in packing.MODES:
        got = packing.Runner(ctx, plan, mode)(X if mode == "batched" else X[:1])
        assert np.max(np.abs(got - want[: len(got)])) < 2e-2 * max(1.0, float(np.max(np.abs(want))))


def test_fitted_polynomials_follow_the_activation_on_the_range():
    for fn in ("relu", "sigmoid", "tanh", "gelu"):
        coef = compiler.fit_activation(fn, -3.0, 3.0, 6)
        grid = np.linspace(-3, 3, 201)
        from labkit.workload.layers import activate

        err = np.max(np.abs(np.polynomial.polynomial.polyval(grid, coef) - activate(fn, grid[:, None])[:, 0]))
        assert err < 0.15, fn


def test_softmax_and_sigmoid_at_the_end_are_dropped_with_a_note():
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1)).eval()
    w = workload_of(model, shape=(4,))
    plan = compiler.require_plan(w)
    assert any("argmax is unchanged" in n for n in plan.notes)
    assert np.array_equal(plan.labels(plan.simulate(w.X_test)), w.predict(w.X_test))
    binary = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid()).eval()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4)).astype(np.float32)
    wb = Workload.from_torch(binary, X, (X[:, 0] > 0).astype(int), name="binary")
    plan = compiler.require_plan(wb)
    assert plan.depth == 1 and any("Sigmoid" in n and "dropped" in n for n in plan.notes)
    assert np.array_equal(plan.labels(plan.simulate(wb.X_test)), wb.predict(wb.X_test))
    fitted = compiler.require_plan(wb, degree=3, final="fit")
    assert fitted.final == "sigmoid" and fitted.depth == 1 + 2


def test_maxpool_is_refused_with_avgpool_suggested():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 3 * 3, 2)).eval()
    w = workload_of(model, shape=(1, 8, 8))
    plan, problems = compiler.compile_workload(w)
    assert plan is None
    assert [p.op for p in problems] == ["MaxPool"] and "AvgPool" in problems[0].suggestion


def test_planner_picks_the_smallest_ring_and_refuses_what_n32768_cannot_hold():
    assert planner.choose(3, 20.0)["poly_modulus_degree"] == 8192
    assert planner.choose(9, 60.0)["poly_modulus_degree"] == 16384
    assert planner.choose(20, 60.0)["poly_modulus_degree"] == 32768
    assert planner.choose(40, 60.0) is None
    # the CryptoNets-shaped CNN: SEAL fits N=8192; OpenFHE's ~60-bit special prime and its
    # noisier decryption (30-bit scale at least) need N=16384
    assert planner.choose(5, 66.9)["poly_modulus_degree"] == 8192
    p = planner.choose(5, 66.9, backend="openfhe")
    assert p["poly_modulus_degree"] == 16384 and p["scale_bits"] >= 30
    assert p["first_mod_bits"] + 5 * p["scale_bits"] + p["special_mod_bits"] <= 438 - 4
