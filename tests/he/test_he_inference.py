"""Encrypted inference: accuracy within one point of plaintext, both backends, both packings."""

from __future__ import annotations

import numpy as np
import pytest

import labkit.he as he
from labkit.errors import InvalidInput
from labkit.he import inference, models
from labkit.results import NOT_FOR_PRODUCTION

NEEDS_OPENFHE = pytest.mark.skipif(
    not he.available("openfhe"), reason="OpenFHE does not import here (CPython 3.10 only)"
)


@pytest.fixture(scope="module", params=["seal", pytest.param("openfhe", marks=NEEDS_OPENFHE)])
def ctx(request):
    return he.context(request.param, preset="ckks-8192-d3")


def test_models_are_good_in_plaintext():
    lr = models.logistic_regression()
    assert lr.info["accuracy_sigmoid"] > 0.95
    # the cubic sigmoid costs at most a point or so on this split
    assert lr.info["accuracy_sigmoid"] - lr.info["accuracy_polynomial"] < 0.015
    mlp = models.square_mlp()
    assert mlp.info["accuracy"] > 0.94


@pytest.mark.parametrize("model", ["logreg", "mlp"])
def test_batched_accuracy_within_one_point_on_whole_test_split(ctx, model):
    r = inference.run(model=model, ctx=ctx, mode="batched", repeat=1)
    n_test = {"logreg": 143, "mlp": 450}[model]
    assert r.metrics["samples"] == n_test
    assert r.metrics["accuracy_gap_points"] <= 1.0
    assert r.metrics["agreement"] >= 0.99
    assert r.metrics["batch_size"] == ctx.slots
    assert r.metrics["throughput_per_s"] > 0 and r.metrics["overhead"] > 1
    assert r.metrics["security_bits"] == 128 and not r.insecure


def test_single_sample_mode_matches_plaintext(ctx):
    r = inference.run(model="logreg", ctx=ctx, mode="single", n_samples=4, repeat=1)
    assert r.metrics["agreement"] == 1.0
    assert r.metrics["max_abs_error"] < 0.05
    assert r.timings["per_sample"].repeat == 4


def test_bad_arguments_refused_before_any_work():
    with pytest.raises(InvalidInput, match="model"):
        inference.run(model="resnet")
    with pytest.raises(InvalidInput, match="mode"):
        inference.run(mode="streamed")
    with pytest.raises(InvalidInput, match="n_samples"):
        inference.run(n_samples=0)


def test_too_shallow_context_refused_up_front():
    shallow = he.context("seal", "ckks", poly_modulus_degree=8192, depth=2)
    with pytest.raises(InvalidInput, match="needs multiplicative depth 3"):
        inference.run(model="mlp", ctx=shallow)
    bfv = he.context("seal", "bfv", poly_modulus_degree=8192)
    with pytest.raises(InvalidInput, match="CKKS"):
        inference.run(model="logreg", ctx=bfv)


def test_insecure_context_is_flagged():
    weak = he.context("seal", preset="ckks-8192-d3", poly_modulus_degree=4096, allow_insecure=True)
    r = inference.run(model="logreg", ctx=weak, mode="batched", repeat=1)
    assert NOT_FOR_PRODUCTION in r.flags and r.metrics["security_bits"] == 0
    assert np.isfinite(r.metrics["accuracy_encrypted"])


def test_phases_are_timed_separately(ctx):
    r = inference.run(model="logreg", ctx=ctx, mode="batched", repeat=1)
    assert {"client_encrypt", "server_evaluate", "client_decrypt"} <= set(r.timings)
    assert r.metrics["server_throughput_per_s"] > r.metrics["throughput_per_s"] * 0.5
    assert r.metrics["server_evaluate_s"] < r.metrics["first_pass_s"]


def test_the_mlp_follows_the_seed_convention():
    from labkit import config

    assert models.square_mlp() is models.square_mlp(rng=config.seed())  # None means LABKIT_SEED
    with pytest.raises(InvalidInput, match="rng"):
        models.square_mlp(rng="seven")
