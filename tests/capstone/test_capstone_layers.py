"""The capstone's claims, measured: the plain round leaks and admits poison; each layer does its own job;
the full stack stops both attackers at a stated overhead."""

from __future__ import annotations

import math

import pytest

from labkit.capstone import LAYERS, check_stack, stack_name
from labkit.errors import InvalidInput

LEAK_PSNR = 30.0  # dB: above this the server sees the private digit (identical image: PSNR of ~80 dB)
SAFE_PSNR = 15.0  # dB: below this the reconstruction is noise (an unrelated digit scores about 10 dB)
FULL = "+".join(LAYERS)


def test_plain_round_leaks_and_admits_the_poisoned_update(stack_results):
    m = stack_results["plain"].metrics
    assert m["psnr"] > LEAK_PSNR and m["ssim"] > 0.9
    assert m["poison_admitted"] and not m["poison_caught"]
    assert m["accuracy"] < m["accuracy_before"] - 0.2  # the boosted update wrecks the model


def test_full_stack_stops_both_attackers_at_a_measured_overhead(stack_results):
    r = stack_results[FULL]
    m = r.metrics
    assert m["psnr"] < SAFE_PSNR
    assert m["poison_caught"] and m["honest_rejected"] == 0
    assert m["accuracy"] > m["accuracy_before"] - 0.15  # the model survives the round
    assert m["accuracy"] > stack_results["plain"].metrics["accuracy"] + 0.2
    assert math.isfinite(m["overhead"]) and m["overhead"] > 5  # proofs dominate: orders of magnitude in fact
    assert r.timings["overhead.candidate"].median > r.timings["overhead.baseline"].median
    assert r.artifacts["tls_group"] == "X25519MLKEM768"
    assert "sum" in r.artifacts["server_sees"] and "key-holder enclave" in r.artifacts["server_sees"]
    assert m["tee_seconds"] > 0  # the enclave really decrypted the round's sum
    # what crossed the sockets is CKKS ciphertext (every client's, the rejected one's too) plus the proofs
    assert m["tls_bytes"] > m["aggregation_bytes"] + m["proof_bytes"] > 3 * 100_000
    assert r.insecure  # local ezkl SRS and a simulated enclave: flagged not for production


def test_dp_alone_blurs_the_attack_but_lets_poison_in(stack_results):
    m = stack_results["dp"].metrics
    assert m["psnr"] < SAFE_PSNR
    assert math.isfinite(m["epsilon"]) and m["epsilon"] > 0
    assert m["poison_admitted"]


def test_secure_aggregation_alone_hides_the_update_but_not_the_poison(stack_results):
    r = stack_results["secagg"]
    assert "sum" in r.artifacts["server_sees"]
    assert r.metrics["psnr"] < stack_results["plain"].metrics["psnr"] - 20
    assert r.metrics["aggregation_bytes"] > 0
    assert r.metrics["poison_admitted"]  # the server cannot see the oversized update, so it cannot refuse it


def test_zk_alone_rejects_the_poison_unseen_but_hides_nothing(stack_results):
    m = stack_results["zk"].metrics
    assert m["poison_caught"] and m["honest_rejected"] == 0 and m["clients_accepted"] == 2
    assert m["accuracy"] > stack_results["plain"].metrics["accuracy"] + 0.2
    assert m["psnr"] > LEAK_PSNR  # a norm proof is not confidentiality
    assert m["prove_seconds"] > 0 and m["proof_bytes"] > 0


def test_tls_alone_protects_the_wire_not_the_update(stack_results):
    r = stack_results["tls"]
    m = r.metrics
    assert r.artifacts["tls_group"] == "X25519MLKEM768"
    assert m["tls_bytes"] >= 3 * 8 * 610  # the float64 updates really crossed the sockets
    assert m["psnr"] > LEAK_PSNR and m["poison_admitted"]


def test_the_key_holder_enclave_decrypts_the_same_sum_and_only_the_sum(stack_results, round_setup):
    from labkit.capstone import key_holder, run_round

    r = stack_results["secagg+tee"]
    assert "decrypted by the attested key-holder enclave" in r.artifacts["server_sees"]
    assert r.metrics["psnr"] < SAFE_PSNR and r.metrics["poison_admitted"] and r.metrics["tee_seconds"] > 0
    served = key_holder().decryptions
    via_enclave = run_round(round_setup, ["secagg", "tee"]).value.aggregate
    assert key_holder().decryptions == served + 1
    assert abs(via_enclave - run_round(round_setup, ["secagg"]).value.aggregate).max() < 1e-6
    assert not key_holder().enclave.host_saw(key_holder().key_service._keys["aggregation"])


def test_dp_with_secure_aggregation_still_admits_poison(stack_results):
    m = stack_results["dp+secagg"].metrics
    assert m["psnr"] < SAFE_PSNR and m["poison_admitted"]


def test_results_are_stored_and_a_rerun_resumes(stack_results, capstone_store, monkeypatch):
    from labkit.capstone import STACKS, compare, lab

    stored = capstone_store.query("capstone", "layered_round")
    assert len(stored) >= len(STACKS)
    monkeypatch.setattr(lab, "evaluate", lambda *a, **k: pytest.fail("a stored stack was recomputed"))
    again = compare(STACKS, store=capstone_store)
    assert [r.id for r in again] == [stack_results[stack_name(st)].id for st in STACKS]


def test_table_rows(stack_results):
    from labkit.capstone import table

    rows = table(stack_results.values())
    assert {row["stack"] for row in rows} == set(stack_results)
    plain = next(row for row in rows if row["stack"] == "plain")
    assert plain["poison_caught"] is False and plain["epsilon"] is None


@pytest.mark.parametrize("layers, expected", [([], ()), ("zk", ("zk",)), (["tls", "dp"], ("dp", "tls"))])
def test_check_stack_orders_layers(layers, expected):
    assert check_stack(layers) == expected


@pytest.mark.parametrize("layers", [["sgx"], ["dp", "quantum"], 3])
def test_unknown_layers_are_refused(layers):
    with pytest.raises(InvalidInput, match="layer"):
        check_stack(layers)


def test_the_tee_layer_needs_secure_aggregation():
    with pytest.raises(InvalidInput, match="'tee' needs 'secagg'"):
        check_stack(["dp", "tee"])
    assert check_stack(["tee", "secagg"]) == ("secagg", "tee")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"boost": 0.5}, "boost"),
        ({"boost": 100.0}, "boost"),
        ({"hidden": 60}, "4096"),
        ({"n_clients": 1}, "n_clients"),
        ({"noise_multiplier": -1.0}, "noise_multiplier"),
        ({"lr": float("nan")}, "lr"),
    ],
)
def test_bad_setup_is_refused_before_anything_runs(kwargs, match):
    from labkit.capstone import setup

    with pytest.raises(InvalidInput, match=match):
        setup(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match", [({"repeat": 0}, "repeat"), ({"repeat": True}, "repeat"), ({"iterations": 0}, "iterations")]
)
def test_bad_evaluate_arguments_are_refused(kwargs, match):
    from labkit.capstone import evaluate

    with pytest.raises(InvalidInput, match=match):
        evaluate((), **kwargs)
