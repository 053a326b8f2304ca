"""The mpc assess door: support before any party, the 8x8 CNN run privately, refusals, Ctrl-C."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from labkit import techniques
from labkit.assessment import check
from labkit.mpc import assess, inference, models
from labkit.workload import Workload, examples


@pytest.fixture(scope="module")
def cnn():
    return examples.workload("digits_cnn")


def test_support_answers_in_a_second_with_an_estimate(cnn, monkeypatch):
    monkeypatch.setattr(inference, "run_parties", _no_parties)
    start = time.perf_counter()
    s = assess.support(cnn, budget_bytes=8 * 2**30)
    assert time.perf_counter() - start < 1.0
    assert s.supported and s.technique == "mpc"
    e = s.estimate
    assert e["rounds"] == 12  # conv 1 + ReLU 9 + linear 1 + reveal 1 (two parties)
    assert e["memory_bytes"] > 4 * 2**20 * 100 and e["seconds"] > 0 and e["bytes_per_party"] > 0
    assert assess.support(cnn, parties=3, budget_bytes=8 * 2**30).estimate["rounds"] > e["rounds"]


def test_over_the_memory_budget_is_refused_with_the_estimate(cnn):
    s = assess.support(cnn, budget_bytes=100 * 2**20)
    assert not s.supported
    (p,) = s.problems
    assert p.op == "memory" and "MB" in p.reason and "CrypTen parties" in p.reason and p.suggestion


@pytest.mark.parametrize("parties", [2, 3])
def test_the_8x8_cnn_agrees_with_plaintext_and_reports_its_costs(cnn, parties):
    r = assess.assess(cnn, parties=parties, samples=100, fast=True)
    m = r.metrics
    assert (r.technique, r.name, m["supported"]) == ("mpc", "assess", 1)
    assert m["agreement"] >= 0.99 and m["agreement_original"] >= 0.99
    assert m["accuracy_private"] == pytest.approx(m["accuracy_plain"], abs=0.01)
    assert m["accuracy_plain"] == pytest.approx(float(np.mean(cnn.predict(cnn.X_test[:100]) == cnn.y_test[:100])))
    assert m["overhead"] > 1 and m["latency_wan_s"] > m["latency_lan_s"] > 0
    # the estimate made before any party started is the measured cost (2 parties) or close to it (3)
    assert m["rounds"] == pytest.approx(m["estimate_rounds"], rel=0.25)
    assert m["bytes_per_party"] == pytest.approx(m["estimate_bytes_per_party"], rel=0.25)
    assert r.params["parties"] == parties and r.params["workload"] == "digits_cnn"
    assert "modelled" in r.artifacts["modelled"]


def test_samples_run_in_batches_and_add_up(cnn):
    r = assess.assess(cnn, samples=assess.BATCH + 20, fast=True)
    assert r.metrics["samples"] == assess.BATCH + 20 and r.params["batch"] == assess.BATCH
    assert r.metrics["bytes_per_sample"] == pytest.approx(r.metrics["bytes_per_party"] / (assess.BATCH + 20))
    assert r.metrics["agreement"] >= 0.99


def _topk_workload():
    import torch

    class Top(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 6)

        def forward(self, x):
            return torch.topk(self.lin(x), 3).values

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 8)).astype(np.float32)
    return Workload.from_torch(Top().eval(), X, rng.integers(0, 3, 20), name="topk")


def _no_parties(*args, **kwargs):
    raise AssertionError("a party was started")


def test_an_unsupported_op_is_named_with_a_suggestion_and_no_party_starts(monkeypatch):
    monkeypatch.setattr(inference, "run_parties", _no_parties)
    w = _topk_workload()
    s = assess.support(w)
    assert not s.supported
    top = next(p for p in s.problems if p.op == "TopK")
    assert "top k" in top.suggestion and top.reason
    r = assess.assess(w)
    assert r.metrics == {"supported": 0}
    assert any(row["op"] == "TopK" for row in r.artifacts["unsupported"])


def test_the_registry_door_and_the_lab_wide_check(cnn):
    t = techniques.get("mpc")
    assert t.assessable
    table = check(cnn, techniques=["mpc"], budget_bytes=8 * 2**30)
    assert table["mpc"].supported and table["mpc"].estimate["rounds"] == 12


def test_the_built_in_models_come_through_the_intake_with_their_accuracy():
    # the accuracies of the lab's own training before the intake existed (fast mode, LABKIT_SEED default)
    before = {
        "digits_mlp": 0.9711111111111111,
        "digits_cnn": 0.9733333333333334,
        "breast_cancer_logreg": 0.993006993006993,
    }
    for name, accuracy in before.items():
        m = models.load(name)
        assert m.test_accuracy == pytest.approx(accuracy, abs=1e-9), name
        assert m.info["workload"]["workload"] == name  # made by plain_model from a Workload


SCRIPT = """
from labkit.mpc import assess
from labkit.workload import examples
w = examples.workload("digits_cnn")
print("start", flush=True)
assess.assess(w, parties=3, samples=450, fast=False)
print("finished", flush=True)
"""


@pytest.mark.parametrize("group", [False, True], ids=["process", "terminal-group"])
def test_ctrl_c_ends_every_party_process(tmp_path, group):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        me = psutil.Process(proc.pid)
        seen: set[int] = set()
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            kids = me.children(recursive=True)
            seen |= {k.pid for k in kids}
            if "start\n" in lines and len(kids) >= 4:  # the run began: fork server, parties 0-2 (and the dealer)
                break
            time.sleep(0.02)
        assert proc.poll() is None, (lines, proc.stderr.read())
        time.sleep(0.3)
        seen |= {k.pid for k in me.children(recursive=True)}
        if group:
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        else:
            os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=5)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err, (proc.returncode, lines, err[-2000:])
    time.sleep(0.5)
    left = [p for p in seen if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not left, f"processes left after Ctrl-C: {left}"
