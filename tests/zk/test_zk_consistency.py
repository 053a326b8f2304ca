"""A proof file whose redundant encodings disagree is refused, though ezkl's own check passes it."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import InvalidInput
from labkit.zk import consistency


def _edit_hex(text: str, position: int) -> str:
    digit = "1" if text[position] != "1" else "2"
    return text[:position] + digit + text[position + 1 :]


def test_untouched_proof_is_consistent_and_verifies(tiny, tiny_proof):
    assert tiny.check_consistency(tiny_proof) == []
    assert tiny.verify(tiny_proof) is True


def test_hex_proof_edited_alone_is_refused(tiny, tiny_proof):
    bad = tiny_proof.copy()
    bad.data["hex_proof"] = _edit_hex(bad.data["hex_proof"], 100)
    assert bad.data["proof"] == tiny_proof.data["proof"]
    assert tiny.snark_verifies(bad) is True  # ezkl reads the byte list only
    problems = tiny.check_consistency(bad)
    assert len(problems) == 1 and problems[0].startswith("hex_proof")
    assert tiny.verify(bad) is False


def test_pretty_outputs_edited_alone_are_refused(tiny, tiny_proof):
    bad = tiny_proof.copy()
    bad.data["pretty_public_inputs"]["rescaled_outputs"][0] = ["9.99"] * 3
    assert bad.data["instances"] == tiny_proof.data["instances"]
    assert tiny.snark_verifies(bad) is True
    assert any("rescaled_outputs" in p and "9.99" in p for p in tiny.check_consistency(bad))
    assert tiny.verify(bad) is False
    # what the lab reads comes from the instances, whatever the pretty copy says
    np.testing.assert_array_equal(tiny.claimed_output(bad), tiny.claimed_output(tiny_proof))


@pytest.mark.parametrize("key", ["outputs", "inputs", "processed_params"])
def test_pretty_field_elements_edited_are_refused(tiny, tiny_proof, key):
    bad = tiny_proof.copy()
    group = bad.data["pretty_public_inputs"][key][0]
    group[0] = _edit_hex(group[0], len(group[0]) - 1)
    assert [p for p in tiny.check_consistency(bad) if key in p]
    assert tiny.verify(bad) is False


def test_one_grid_step_in_a_rescaled_input_is_refused(tiny, tiny_proof):
    bad = tiny_proof.copy()
    row = bad.data["pretty_public_inputs"]["rescaled_inputs"][0]
    row[0] = str(float(row[0]) + 2.0**-tiny.circuit.input_scale)
    assert tiny.verify(bad) is False


def test_optional_copies_left_out_still_verify(tiny, tiny_proof):
    bare = tiny_proof.copy()
    bare.data["hex_proof"] = None
    del bare.data["pretty_public_inputs"]
    assert tiny.check_consistency(bare) == [] and tiny.verify(bare) is True


def test_malformed_files_are_described_not_raised(tiny, tiny_proof):
    from labkit.zk import Proof

    assert tiny.check_consistency(Proof({"proof": "ab", "instances": [[]]}, "x"))[0].startswith("proof is not")
    short = tiny_proof.copy()
    short.data["instances"][0] = short.data["instances"][0][:2]
    assert "states more" in tiny.check_consistency(short)[0]
    with pytest.raises(InvalidInput, match="Proof"):
        tiny.check_consistency({"proof": []})


def test_problems_without_a_circuit():
    felt = "05" + "00" * 31
    data = {
        "proof": [7, 8],
        "hex_proof": "0x0708",
        "instances": [[felt]],
        "pretty_public_inputs": {"outputs": [["0x" + "00" * 31 + "05"]], "rescaled_outputs": [["0.3125"]]},
    }
    ok = consistency.problems(
        data, groups={"outputs": [felt]}, rescaled={"rescaled_outputs": (np.array([0.3125]), 1 / 16)}
    )
    assert ok == []
    off = consistency.problems(
        data, groups={"outputs": [felt]}, rescaled={"rescaled_outputs": (np.array([0.375]), 1 / 16)}
    )
    assert off == ["pretty_public_inputs.rescaled_outputs[0] says 0.3125; the instances say 0.375"]
    assert consistency.problems([], groups={}, rescaled={}) == ["the proof data is a list, not a JSON object"]
