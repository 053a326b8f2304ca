"""ZKModel: honest proofs verify and state the right values; the cache; bad inputs fail early and clearly."""

from __future__ import annotations

import time

import numpy as np
import pytest

from labkit.errors import InvalidInput
from labkit.zk import Proof, ZKModel


def test_honest_proof_verifies_and_states_the_model_output(tiny, tiny_proof, sample):
    assert tiny.verify(tiny_proof)
    step = 2.0**-tiny.circuit.input_scale
    np.testing.assert_allclose(tiny.claimed_input(tiny_proof), sample.ravel(), atol=step)
    # fixed-point inference: a few grid steps from the float model
    np.testing.assert_allclose(tiny.claimed_output(tiny_proof), tiny.plaintext(sample), atol=0.05)
    assert tiny.verify(tiny_proof, output=tiny.plaintext(sample), input=sample, commitment=tiny.params_commitment)


def test_proof_about_another_input_or_output_is_refused(tiny, tiny_proof, sample):
    assert not tiny.verify(tiny_proof, input=sample + 0.25)
    assert not tiny.verify(tiny_proof, output=tiny.plaintext(sample) + 0.5)


def test_commitment_is_stated_by_the_proof(tiny, tiny_proof):
    commitment = tiny.params_commitment
    assert isinstance(commitment, str) and len(commitment) == 64
    assert tiny.claimed_commitment(tiny_proof) == commitment


def test_verify_returns_false_on_garbage_never_raises(tiny, tiny_proof):
    assert tiny.verify(Proof({"instances": [[]], "proof": []}, "x")) is False
    assert tiny.verify(Proof({}, "x")) is False
    assert tiny.verify(Proof({"instances": "nope", "proof": None}, "x")) is False
    with pytest.raises(InvalidInput, match="Proof"):
        tiny.verify({"proof": []})


def test_proof_round_trips_through_json(tiny, tiny_proof):
    again = Proof.from_json(tiny_proof.to_json())
    assert again.instances == tiny_proof.instances
    assert tiny.verify(again)
    assert tiny_proof.size > 1000


def test_second_build_comes_from_the_cache(tiny, sample, make_mlp):
    start = time.perf_counter()
    again = ZKModel(make_mlp(), sample, visibility=tiny.visibility, scale=7)
    elapsed = time.perf_counter() - start
    assert not again.circuit.built and again.circuit.key == tiny.circuit.key
    assert elapsed < 5.0, f"a cached build took {elapsed:.1f} s"
    assert again.verifying_key_id == tiny.verifying_key_id


def test_sizes_and_development_flag(tiny):
    sizes = tiny.sizes()
    assert sizes["pk"] > 100 * sizes["vk"] > 0
    assert sizes["srs"] > 0 and sizes["onnx"] > 0
    assert tiny.development_setup
    assert "not for production" in repr(tiny)


def test_cache_info_and_clear(monkeypatch, tmp_path):
    from labkit import config
    from labkit.zk import cache_info, clear_cache

    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    junk = config.cache_dir("zk", "circuits", "deadbeef")
    (junk / "pk.key").write_bytes(b"\0" * 4096)
    (junk / "meta.json").write_text("{}")
    (config.cache_dir("zk", "srs") / "dev_k4.srs").write_bytes(b"\0" * 100)
    info = cache_info()
    assert info["circuits"] == 1 and info["reference_strings"] == 1 and info["bytes"] >= 4196
    assert clear_cache(keep_reference_strings=True) >= 4096
    assert cache_info()["circuits"] == 0 and cache_info()["reference_strings"] == 1
    clear_cache()
    assert cache_info()["bytes"] == 0


@pytest.mark.parametrize(
    "x, match",
    [
        (np.zeros((1, 7)), "shape"),
        (np.zeros(8), "batch axis"),
        (np.full((1, 8), np.nan), "NaN"),
        (np.full((1, 8), 1e9), "normalise"),
        ("abc", "numbers"),
    ],
)
def test_bad_inputs_are_refused_before_proving(tiny, x, match):
    with pytest.raises(InvalidInput, match=match):
        tiny.prove(x)


def test_bad_construction_arguments(sample, make_mlp):
    with pytest.raises(InvalidInput, match=r"torch\.nn\.Module"):
        ZKModel(lambda x: x, sample)
    with pytest.raises(InvalidInput, match="visibility"):
        ZKModel(make_mlp(), sample, visibility={"input": "secret"})
    with pytest.raises(InvalidInput, match="visibility keys"):
        ZKModel(make_mlp(), sample, visibility={"weights": "hashed"})
    with pytest.raises(InvalidInput, match="batch axis"):
        ZKModel(make_mlp(), sample[0])
    with pytest.raises(InvalidInput, match="scale"):
        ZKModel(make_mlp(), sample, scale=99)
    with pytest.raises(InvalidInput, match="target"):
        ZKModel(make_mlp(), sample, target="speed")


def test_unsupported_operator_is_named(sample):
    import torch

    class Warp(torch.nn.Module):
        def forward(self, x):
            grid = torch.zeros(1, 1, 2, 2)
            return torch.nn.functional.grid_sample(x.reshape(1, 1, 2, 4), grid, align_corners=False).reshape(1, -1)

    with pytest.raises(InvalidInput, match="GridSample"):
        ZKModel(Warp(), sample)


def test_operator_without_onnx_export_is_named(sample):
    import torch

    class Spectrum(torch.nn.Module):
        def forward(self, x):
            return torch.fft.rfft(x).abs()

    with pytest.raises(InvalidInput, match="fft"):
        ZKModel(Spectrum(), sample)


def test_all_hashed_proof_states_three_commitments(sample, make_mlp):
    zk = ZKModel(make_mlp(), sample, visibility={"input": "hashed", "params": "hashed", "output": "hashed"}, scale=7)
    proof = zk.prove(sample)  # prove() checks the decoded layout against the witness
    assert zk.verify(proof, commitment=zk.params_commitment)
    assert len(proof.instances) == 3 and zk.claimed_output(proof) is None and zk.claimed_input(proof) is None
    assert zk.claimed_input_hash(proof) not in (None, zk.params_commitment)


def test_rebuilt_setup_reproduces_the_verifying_key(tiny, tiny_proof, tmp_path):
    # A verifier can rebuild the keys from the compiled circuit and the reference string instead of
    # trusting the prover's: key generation is deterministic given both (calibration is not, so the
    # verifier starts from the published compiled circuit, not from the ONNX model).
    import json

    from labkit.zk import backend

    vk, pk = tmp_path / "vk.key", tmp_path / "pk.key"
    backend.call("setup", tiny.circuit.path("compiled"), vk, pk, srs_path=tiny.circuit.srs.path)
    assert vk.read_bytes() == tiny.circuit.path("vk").read_bytes()
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(tiny_proof.data))
    assert backend.call("verify", proof_file, tiny.circuit.path("settings"), vk, srs_path=tiny.circuit.srs.path)
