"""The pre-flight estimate: same circuit size as a build, keys and prover memory within 2x, refusals over budget."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import InvalidInput
from labkit.zk import footprint, preflight
from labkit.zk.model import ZKModel


def _settings(logrows, num_rows, *, const=5, lookups=(), lookup_range=(0, 0), poseidon=0, shuffles=0):
    return {
        "run_args": {"logrows": logrows, "lookup_range": list(lookup_range)},
        "num_rows": num_rows,
        "total_const_size": const,
        "required_lookups": list(lookups),
        "module_sizes": {"poseidon": [poseidon, [0]]},
        "num_shuffles": shuffles,
    }


@pytest.fixture(scope="module")
def tiny_estimate(tiny, sample):
    return preflight.estimate(tiny.onnx, sample, visibility=tiny.visibility, scale=7)


def test_estimate_finds_the_size_a_build_gets(tiny, tiny_estimate):
    assert tiny_estimate.footprint.logrows == tiny.logrows
    assert tiny_estimate.footprint.num_rows == tiny.circuit.num_rows
    assert tiny_estimate.seconds < 20


def test_key_sizes_within_2x_of_the_files(tiny, tiny_estimate):
    sizes, fp = tiny.sizes(), tiny_estimate.footprint
    for name, estimated in (("pk", fp.pk_bytes), ("vk", fp.vk_bytes), ("srs", fp.srs_bytes)):
        assert 0.5 <= estimated / sizes[name] <= 2.0, (name, estimated, sizes[name])


def test_prover_memory_within_2x_of_a_measured_proof(tiny, tiny_estimate, sample):
    measured = preflight.measure_prover(tiny, sample)
    assert measured["prover_ram_bytes"] > 1e6 and measured["prove_seconds"] > 0
    ratio = tiny_estimate.footprint.prover_ram_bytes / measured["prover_ram_bytes"]
    assert 0.5 <= ratio <= 2.0, (tiny_estimate.footprint.prover_ram_bytes, measured)


def test_over_budget_is_refused_with_the_estimate(tiny, sample):
    with pytest.raises(InvalidInput, match=r"about \d+ MB of memory .*2\*\*\d+ rows.*over the budget of 1 MB"):
        preflight.preflight(tiny.onnx, sample, visibility=tiny.visibility, scale=7, budget_bytes=2**20)
    # a build is refused after calibration, before any key is made
    with pytest.raises(InvalidInput, match="over the budget"):
        ZKModel(tiny.onnx, sample, visibility=tiny.visibility, scale=7, cache=False, budget_bytes=2**20)


def test_an_onnx_graph_builds_the_same_circuit_as_its_torch_model(tiny, sample):
    again = ZKModel(tiny.onnx, sample, visibility=tiny.visibility, scale=7)
    assert again.circuit.key == tiny.circuit.key and again.model is None
    np.testing.assert_allclose(again.plaintext(sample), tiny.plaintext(sample), atol=1e-5)
    with pytest.raises(InvalidInput, match="ONNX graph takes"):
        ZKModel(tiny.onnx, np.zeros((1, 9)))


def test_bad_calibration_and_bytes_are_refused(tiny):
    with pytest.raises(InvalidInput, match=r"shape \(1, 9\)"):
        preflight.estimate(tiny.onnx, np.zeros((1, 9)))
    with pytest.raises(InvalidInput, match="not an ONNX model"):
        preflight.estimate(b"not onnx", np.zeros((1, 8)))
    assert preflight.calibration_array(tiny.onnx, np.zeros((3, 8))).shape == (3, 1, 8)


def test_footprint_counts_blocks_hashing_and_tables():
    plain = footprint.from_settings(_settings(12, 3786))
    assert plain.blocks == 1 and plain.pk_bytes == 2**12 * 32 * footprint.F_BASE
    wrapped = footprint.from_settings(_settings(12, 5000))
    assert wrapped.blocks == 2 and wrapped.pk_bytes > plain.pk_bytes
    hashed = footprint.from_settings(_settings(12, 2093, poseidon=2093))
    assert hashed.pk_bytes == 2**12 * 32 * (footprint.F_BASE + footprint.F_POSEIDON)
    sigmoid = footprint.from_settings(
        _settings(12, 7298, lookups=[{"Sigmoid": {}}], lookup_range=(-10804, 11522), const=927)
    )
    assert sigmoid.table_columns == 6  # 22327 table rows over 4096-row columns
    # measured on this machine: proving key 112,500,000 bytes, prover +445 MB (docs/zk-preflight.md)
    assert 0.5 <= sigmoid.pk_bytes / 112_500_000 <= 2 and 0.5 <= sigmoid.prover_ram_bytes / 444.9e6 <= 2
    with pytest.raises(InvalidInput, match="not ezkl settings"):
        footprint.from_settings({"num_rows": 3})
