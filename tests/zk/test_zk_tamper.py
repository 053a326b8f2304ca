"""Every tampering case fails verification; the honest proof passes."""

from __future__ import annotations

import pytest

from labkit.errors import InvalidInput
from labkit.zk import tamper
from labkit.zk.tampering import applicable, flip_felt, tamper_report


@pytest.mark.parametrize("case", ["output", "public_input", "commitment", "proof_byte"])
def test_each_tampered_proof_fails(tiny, tiny_proof, case):
    bad = tamper(tiny, tiny_proof, case)
    assert bad.data != tiny_proof.data
    assert tiny.verify(bad) is False
    assert tiny.verify(tiny_proof) is True  # the original is untouched


def test_changed_output_claims_another_value(tiny, tiny_proof):
    bad = tamper(tiny, tiny_proof, "output")
    assert list(tiny.claimed_output(bad)) != list(tiny.claimed_output(tiny_proof))


def test_another_verifying_key_refuses_the_proof(tiny, tiny_proof, norm_prover):
    assert norm_prover.zk.verify(tiny_proof) is False


def test_report_covers_every_case(tiny, tiny_proof, norm_prover):
    report = tamper_report(tiny, tiny_proof, other=norm_prover.zk)
    assert report.metrics["honest_verified"] == 1
    assert set(report.artifacts["verified"]) == {"output", "public_input", "commitment", "proof_byte", "other_key"}
    assert not any(report.artifacts["verified"].values())


def test_report_without_another_key_skips_other_key(tiny, tiny_proof):
    report = tamper_report(tiny, tiny_proof)
    assert "other_key" not in report.artifacts["verified"] and report.metrics["cases"] == 4


def test_cases_follow_visibility(norm_prover):
    cases = applicable(norm_prover.zk)  # input hashed, params in the circuit, output public
    assert "public_input" not in cases and "commitment" not in cases and "output" in cases


def test_bad_case_and_missing_part(tiny, tiny_proof, norm_prover, within_proof):
    with pytest.raises(InvalidInput, match="case"):
        tamper(tiny, tiny_proof, "everything")
    with pytest.raises(InvalidInput, match="no public input"):
        tamper(norm_prover.zk, within_proof, "public_input")


def test_flip_felt_changes_only_the_lowest_bit():
    felt = "02" + "00" * 31
    assert flip_felt(felt) == "03" + "00" * 31
    assert flip_felt(flip_felt(felt)) == felt


def test_tamper_report_is_a_result_for_the_dashboard(tiny, tiny_proof, norm_prover):
    r = tamper_report(tiny, tiny_proof, other=norm_prover.zk)
    assert r.technique == "zk" and r.name == "tamper" and r.insecure
    assert r.metrics["honest_verified"] == 1 and r.metrics["cases"] == 5
    assert r.metrics["tampered_accepted"] == 0 and r.metrics["detection_rate"] == 1.0
