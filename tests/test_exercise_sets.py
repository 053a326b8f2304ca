"""Every registered exercise: a right answer passes, a wrong one gets its specific hint and not the answer.

Exercises checked against a run take the run's Result (``result=`` / ``results=``); here
they get Results made up for the test, so the truth is known.
"""

from __future__ import annotations

import inspect
import math

import pytest

from labkit import exercises
from labkit.results import Result

R = Result


def _noise_sweep(psnr):
    return [
        R("inversion", "frontier_point", params={"knob": "gaussian_noise", "value": v}, metrics={"psnr": p})
        for v, p in ((0.01, 30.0), (0.1, psnr), (1.0, 6.0))
    ]


def _dp_sweep(private_accuracy, baseline_accuracy, overhead):
    keys = ("attack_auc", "attack_auc_se", "attack_auc_calibrated", "tpr_at_low_fpr", "empirical_epsilon")
    return [
        R(
            "dp",
            "train_private",
            params={"target_epsilon": eps, "max_grad_norm": 1.0, "batch_size": 64},
            metrics={
                "epsilon": eps,
                "delta": 1e-5,
                "noise_multiplier": 1.0,
                "accuracy": acc,
                "overhead": overhead,
                "baseline_accuracy": baseline_accuracy,
                **{k: 0.5 for k in keys},
                **{f"baseline_{k}": 0.5 for k in keys},
            },
        )
        for eps, acc in ((1.0, private_accuracy), (8.0, baseline_accuracy - 0.01))
    ]


def _capstone():
    rows = {
        "plain": (30.0, False, 1.0),
        "zk": (30.0, True, 8.0),
        "secagg": (8.0, False, 2.0),
        "dp+secagg+zk+tls+tee": (8.0, True, 900.0),
    }
    return [
        R(
            "capstone",
            "layered_round",
            params={"layers": [] if n == "plain" else n.split("+")},
            metrics={
                "psnr": p,
                "poison_caught": float(c),
                "overhead": o,
                "accuracy": 0.8,
                "accuracy_before": 0.8,
                "ssim": 0.1,
                "epsilon": math.inf,
            },
            artifacts={"stack": n},
        )
        for n, (p, c, o) in rows.items()
    ]


def _assessment():
    """A made-up assessment: in use, inversion is the cheapest that ran (pqc is cheaper but protects transit)."""
    from labkit.assessment import Assessment

    runs = [
        R("he", "assess", metrics={"supported": 1, "overhead": 130.0}),
        R("tee", "assess", metrics={"supported": 1, "overhead": 20.0}, artifacts={"provenance": {"overhead": "simulated"}}),
        R("pqc", "assess", metrics={"supported": 1, "overhead": 1.05}),
        R("inversion", "assess", params={"safe_band_db": 12.0}, metrics={"supported": 1, "overhead": 1.2, "psnr_batch1": 60.0, "psnr_batch": 7.0}),
        R("dp", "assess", metrics={"supported": 1, "overhead": 2.3, "epsilon": 3.0, "accuracy_plain": 0.93, "accuracy_private": 0.87}),
        R("mpc", "assess", metrics={"supported": 0}),
    ]  # fmt: skip
    return Assessment(workload=None, support={}, results=runs)


MPC_RUN = R(
    "mpc",
    "private_inference",
    metrics={"compute_seconds": 0.2, "rounds": 12, "bytes_max_party": 875_000, "overhead": 400.0},
)
# id: (right, wrong, words of the wrong answer's hint, context, the answer's text that must not leak)
CASES = {
    "00.protects_in_use": ("homomorphic encryption", "TLS", "in transit", {}, None),
    "00.threat_for_inversion": ("server", "byzantine client", "see", {}, None),
    "00.claimed_tee_ratio": (1.07, 7, "1 + p/100", {}, "1.07"),
    "00.extra_time_factor": (50 / 7, 1.5, "extra time", {}, "7.14"),
    "01.smallest_secure_n": (16384, 8192, "Add up the bits", {}, "16384"),
    "01.chain_depth": (3, 5, "rescale drops one", {}, None),
    "01.exact_scheme": ("BFV", "ckks", "approximate", {}, None),
    "01.wraparound": (24463, 90000, "modulo t", {}, "24463"),
    "01.polynomial_depth": (4, 12, "doubles the highest power", {}, None),
    "02.slots": (8192, 16384, "N/2 slots", {}, None),
    "02.bsgs_rotations": (30, 256, "B - 1", {}, None),
    "02.batched_overhead": (100, 5, "too low", {"result": R("he", "inference", metrics={"overhead": 300.0})}, "300"),
    "02.race_verdict": ("openfhe", "seal", "below 1 means OpenFHE", {}, None),
    "03.label_entry": ("smallest", "largest", "p - 1", {}, None),
    "03.psnr_from_mse": (30.0, 20.0, "10 log10", {}, None),
    "03.clipping_letter": ("b", "a", "deterministic", {}, None),
    "03.aggregate_batch": (32, 4, "mean of equal-sized batch means", {}, "32"),
    "03.noise_stops": ("no", "yes", "barely turns", {"results": _noise_sweep(20.0)}, None),
    "04.what_is_checked": ("instances", "pretty_public_inputs", "never checked", {}, None),
    "04.provenance_decision": ("reject", "accept", "stated hash", {}, None),
    "04.norm_excess": (5.0, 1.0, "squares, not the norm", {}, None),
    "04.prover_ratio": (
        10_000,
        10,
        "powers of ten",
        {"result": R("zk", "costs", metrics={"overhead": 900.0, "overhead_warm": 20_000.0})},
        "20000",
    ),
    "05.shares_to_reconstruct": (3, 2, "uniformly random", {}, None),
    "05.leaky_provider": ("TFP", "TTP", "dealer", {}, None),
    "05.max_clients": (65, 8, "largest whole n", {}, None),
    "05.wan_bottleneck": ("rounds", "compute", "count the rounds", {"result": MPC_RUN}, None),
    "05.published_ratio": (555, 20, "powers of ten", {"result": MPC_RUN}, "400"),
    "06.tpr_bound": (math.e * 0.05, 0.05, "exp(epsilon)", {}, "0.1359"),
    "06.more_noise": ("down", "up", "shrinks", {}, None),
    "06.bigger_batch": ("up", "down", "twice as many", {}, None),
    "06.audit_proves": ("no", "yes", "lower bound", {}, None),
    "06.accuracy_cost": (20.0, 0.2, "percentage points", {"results": _dp_sweep(0.7, 0.9, 3.0)}, None),
    "06.overhead_vs_opacus": ("above", "similar", "fixed per-step costs", {"results": _dp_sweep(0.7, 0.9, 3.0)}, "3.0"),
    "07.replay_reason": ("stale_nonce", "bad_signature", "still verifies", {}, None),
    "07.upgrade_policy": ("signer", "measurement", "new build has a new key", {}, None),
    "07.oblivious_touches": (256, 17, "8-bit pixel", {}, "256"),
    "07.leaked_fraction": (
        1.0,
        0.5,
        "page number",
        {"result": R("tee", "trace", metrics={"pixels_recovered": 1.0})},
        None,
    ),
    "07.claim_boundary_mb": (
        93,
        500,
        "usable size",
        {"result": R("tee", "m", metrics={"claim_holds_up_to_mb": 93.0})},
        "93",
    ),
    "08.extra_bytes_up": (
        1184,
        32,
        "encapsulation key",
        {
            "result": R("pqc", "handshake", metrics={"bytes_client_to_server": 1800.0}),
            "baseline": R("pqc", "handshake", metrics={"bytes_client_to_server": 616.0}),
        },
        "1184",
    ),
    "08.downgrade_reason": (
        "no_common_group",
        "unknown_ca",
        "never reached",
        {"result": R("pqc", "refusals", artifacts={"rows": [{"case": "downgrade", "reason": "no_common_group"}]})},
        "no_common_group",
    ),
    "08.hndl_readable": (
        "X25519",
        "both",
        "ML-KEM secret",
        {
            "result": R(
                "pqc",
                "hndl",
                artifacts={
                    "rows": [{"group": "X25519", "recovered": True}, {"group": "X25519MLKEM768", "recovered": False}]
                },
            )
        },
        None,
    ),
    "08.hello_segments": (
        2,
        1,
        "round up",
        {"result": R("pqc", "handshake", metrics={"client_hello_segments": 2.0})},
        None,
    ),
    "08.slow_link_ratio": (
        1.4,
        30.0,
        "bytes dominate",
        {"result": R("pqc", "claims_check", metrics={"model.pq_slow 3G.handshake_ratio": 1.3317})},
        "1.33",
    ),
    "09.stops_poison": ("zk", "secagg", "unseen", {}, None),
    "09.key_holder": ("enclave", "server", "never releases", {}, None),
    "09.tls_stops": ("eavesdropper", "server", "terminates", {}, None),
    "09.cheapest_safe_stack": ("dp+secagg+zk+tls+tee", "zk", "readable to the server", {"results": _capstone()}, None),
    "10.cheapest_in_use": ("inversion", "tee", "lower overhead", {"assessment": _assessment()}, "inversion"),
    "10.dp_accuracy_cost": (6.0, 0.06, "percentage points", {"assessment": _assessment()}, "6"),
    "10.inversion_band": ("batch 1", "both", "One of your two readings", {"assessment": _assessment()}, None),
    "10.tee_overhead_kind": ("simulated", "measured", "cost model", {"assessment": _assessment()}, "simulated"),
}


def test_every_registered_exercise_has_a_case():
    assert {e.id for e in exercises.exercises()} == set(CASES)


@pytest.mark.parametrize("exercise_id", sorted(CASES))
def test_right_passes_wrong_gets_its_hint_without_the_answer(exercise_id):
    right, wrong, hint, context, secret = CASES[exercise_id]
    fb = exercises.check(exercise_id, right, **context)
    assert fb.passed and fb.status == "correct", fb
    fb = exercises.check(exercise_id, wrong, **context)
    assert not fb.passed and fb.status == "not yet", fb
    assert hint in fb.message, fb.message
    assert "wrong form" not in fb.message
    if secret is not None:
        assert secret not in fb.message, f"{exercise_id}: the hint gives the answer away: {fb.message}"


@pytest.mark.parametrize("exercise_id", sorted(CASES))
def test_unanswered_is_not_answered_yet_with_the_question(exercise_id):
    context = CASES[exercise_id][3]
    fb = exercises.check(exercise_id, ..., **context)
    assert fb.status == "not answered" and not fb
    assert exercises.prompt(exercise_id) in fb.message and "Not answered yet" in fb.message
    assert "Not answered yet" in fb._repr_html_() and str(fb).startswith("NOT ANSWERED YET")


def test_no_checker_takes_a_typed_in_measurement():
    typed_in = {"measured", "verdict", "parts", "table", "rows", "hello_bytes", "norm", "bound", "n_clients"}
    for ex in exercises.exercises():
        params = set(inspect.signature(ex.checker).parameters)
        assert not params & typed_in, f"{ex.id} takes {params & typed_in} from the learner"


def test_predictions_without_their_result_are_feedback_not_a_crash():
    fb = exercises.check("07.leaked_fraction", 1.0)
    assert not fb and "wrong form" in fb.message and "Result" in fb.message


def test_strict_mode_raises_on_anything_but_correct(monkeypatch):
    monkeypatch.setenv(exercises.STRICT_ENV, "1")
    assert exercises.check("01.chain_depth", 3)
    with pytest.raises(exercises.ExerciseNotCorrect, match="NOT YET"):
        exercises.check("01.chain_depth", 4)
    with pytest.raises(exercises.ExerciseNotCorrect, match="NOT ANSWERED YET"):
        exercises.check("01.chain_depth", ...)


def test_log_records_every_check(monkeypatch, tmp_path):
    import json

    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(exercises.LOG_ENV, str(log))
    exercises.check("01.chain_depth", 3)
    exercises.check("01.chain_depth", ...)
    assert [json.loads(line)["status"] for line in log.read_text().splitlines()] == ["correct", "not answered"]


def test_ask_prints_the_question(capsys):
    q = exercises.ask("03.clipping_letter")
    out = capsys.readouterr().out
    assert "(a)" in out and "(b)" in out and "(c)" in out and "03.clipping_letter" in out
    assert "Question" in q._repr_html_()
