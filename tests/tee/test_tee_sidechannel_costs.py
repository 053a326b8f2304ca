"""The side channel (not stopped by attestation, stopped by oblivious access) and the cost model."""

import numpy as np
import pytest

from labkit.errors import InvalidInput
from labkit.report import verdict
from labkit.tee import benchmark, costs, sidechannel
from labkit.tee.technique import TECHNIQUE


@pytest.fixture(scope="module")
def leaky():
    return sidechannel.trace_attack(oblivious=False, n_images=6, repeat=5)


@pytest.fixture(scope="module")
def oblivious():
    return sidechannel.trace_attack(oblivious=True, n_images=6, repeat=5)


def test_side_channel_recovers_the_secret_images_despite_attestation(leaky):
    m = leaky.metrics
    assert m["attestation_passed"] == 1  # attestation does not stop it
    assert m["pixels_recovered"] == 1.0 and m["pixels_certain"] == 1.0
    assert m["digits_recognised"] == 1.0
    assert np.array_equal(leaky.artifacts["true_levels"], leaky.artifacts["recovered_levels"])
    assert m["distinct_traces"] == 6


def test_oblivious_access_leaves_only_a_guess(oblivious):
    m = oblivious.metrics
    assert m["attestation_passed"] == 1
    assert m["distinct_traces"] == 1  # every input gives the same trace
    assert m["pixels_certain"] == 0.0
    assert m["pixels_recovered"] == pytest.approx(m["chance_pixels"])
    assert m["page_touches_per_pixel"] == 17 and m["decoded_matches"] == 1


def test_mitigation_cost_is_measured(oblivious):
    assert oblivious.metrics["mitigation_cost"] > 1.5  # 17 touches instead of one per pixel
    assert oblivious.metrics["mitigation_cost_inference"] > 1.0
    assert oblivious.timings["mitigation_cost.candidate"].repeat == 5


def test_recover_levels_rejects_traces_that_do_not_split():
    with pytest.raises(InvalidInput):
        sidechannel.recover_levels(np.arange(10), 3)
    with pytest.raises(InvalidInput):
        sidechannel.trace_attack(n_images=0)


def test_cost_model_shape_and_claims_check():
    m = costs.CostModel()
    assert float(m.ratio(40)) == pytest.approx(1.05)
    assert float(m.ratio(10_000)) == pytest.approx(26.0, rel=0.02)  # calibrated asymptote
    assert np.all(np.diff(m.ratio(np.linspace(10, 2000, 50))) >= 0)
    assert np.all(m.ratio([10, 1000, 10_000], kind="cvm") == pytest.approx(1.05))
    res = costs.modelled_overhead(working_sets_mb=(64, 512))
    assert res.metrics["sgx.64MB"] <= 1.07 < res.metrics["sgx.512MB"]
    assert res.metrics["claim_holds_up_to_mb"] == pytest.approx(93.0, rel=0.01)
    assert "modelled" in res.flags[0]
    for bad in ({"mem_encryption": 1.5}, {"epc_mb": 0}, {"paging_max": 0.5}):
        with pytest.raises(InvalidInput):
            costs.CostModel(**bad)
    with pytest.raises(InvalidInput):
        m.ratio(-1)
    with pytest.raises(InvalidInput):
        m.ratio(10, kind="tpm")


def test_claims_check_rows(dep):
    ov = benchmark.boundary_overhead(batch_size=4, repeat=3, dep=dep)
    res = costs.claims_check(boundary=[ov], working_sets_mb=(32, 1024))
    rows = res.artifacts["rows"]
    assert [r["kind"] for r in rows] == ["modelled", "modelled", "modelled", "measured"]
    assert rows[1]["verdict"] == "holds" and rows[2]["verdict"].startswith("off by a factor")
    assert rows[3]["ratio"] == ov.metrics["overhead"]
    assert (rows[3]["low"], rows[3]["high"]) == (ov.metrics["overhead_low"], ov.metrics["overhead_high"])
    claim = TECHNIQUE.claim  # the one band, judged by the one verdict rule
    assert rows[3]["verdict"] == verdict(claim, rows[3]["ratio"], rows[3]["low"], rows[3]["high"])
    assert res.metrics["rows_holding"] == sum(r["verdict"] == "holds" for r in rows)
    assert res.artifacts["claim"][1:] == [claim.low, claim.high]
    with pytest.raises(InvalidInput):
        costs.claims_check(boundary=[res])
