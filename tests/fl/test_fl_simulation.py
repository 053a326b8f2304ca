"""labkit.fl: data splits, aggregation rules, secure-aggregation interface, training that learns."""

import numpy as np
import pytest

from labkit import fl
from labkit.errors import InvalidInput
from labkit.results import Outcome


@pytest.fixture(scope="module")
def digits():
    return fl.image_data("digits")


def test_image_data_shapes_and_range(digits):
    assert digits.image_shape == (1, 8, 8)
    assert digits.X_train.min() >= 0 and digits.X_train.max() <= 1
    patches = fl.image_data("patches32")
    assert patches.image_shape == (3, 32, 32) and patches.n_classes == 10
    assert fl.image_data("patches32", n_classes=2).label_meaning == "the source photo"
    with pytest.raises(InvalidInput, match="image data set"):
        fl.image_data("breast_cancer")


def test_split_is_disjoint_and_covers(digits):
    X = np.arange(100).reshape(100, 1, 1, 1).astype(np.float32)
    parts = fl.split_clients(X, np.arange(100) % 10, n_clients=7, rng=0)
    seen = np.concatenate([p.X.ravel() for p in parts])
    assert sorted(seen.tolist()) == list(range(100))
    non_iid = fl.split_clients(X, np.arange(100) % 10, n_clients=10, non_iid=True, rng=0)
    assert all(len(set(p.y.tolist())) == 1 for p in non_iid)


def test_split_bad_inputs():
    X = np.zeros((3, 1, 2, 2))
    with pytest.raises(InvalidInput, match="cannot fill"):
        fl.split_clients(X, np.arange(3), n_clients=5)
    with pytest.raises(InvalidInput, match="n_clients"):
        fl.split_clients(X, np.arange(3), n_clients=0)
    with pytest.raises(InvalidInput, match="one label per image"):
        fl.split_clients(X, np.arange(4), n_clients=1)


def test_aggregation_rules():
    ups = [np.array([1.0, 1.0]), np.array([2.0, 2.0]), np.array([3.0, 3.0]), np.array([100.0, -100.0])]
    assert np.allclose(fl.aggregate(ups, rule="mean"), [26.5, -23.5])
    assert np.allclose(fl.aggregate(ups, rule="mean", weights=[1, 1, 2, 0]), [2.25, 2.25])
    assert np.allclose(fl.aggregate(ups, rule="median"), [2.5, 1.5])
    assert np.allclose(fl.aggregate(ups, rule="trimmed_mean", trim=0.25), [2.5, 1.5])
    five = [*ups, np.array([2.5, 2.5])]
    assert fl.aggregate(five, rule="krum", n_byzantine=1).tolist() == [2.5, 2.5]  # closest to its 2 neighbours
    with pytest.raises(InvalidInput, match="no client updates"):
        fl.aggregate([], rule="mean")
    with pytest.raises(InvalidInput, match="different lengths"):
        fl.aggregate([np.zeros(2), np.zeros(3)])
    with pytest.raises(InvalidInput, match="NaN"):
        fl.aggregate([np.array([np.nan])])
    with pytest.raises(InvalidInput, match="Krum"):
        fl.aggregate(ups[:3], rule="krum", n_byzantine=1)


def test_plain_sum_interface():
    agg = fl.PlainSum()
    vs = [np.arange(5.0), np.ones(5), -np.arange(5.0)]
    assert np.allclose(agg.sum(vs), np.ones(5))
    assert agg.last_stats["clients"] == 3 and agg.last_stats["bytes_to_server"] == 3 * 5 * 8
    assert agg.simulated
    with pytest.raises(InvalidInput, match="at least one"):
        agg.sum([])
    with pytest.raises(InvalidInput, match="one length"):
        agg.sum([np.zeros(2), np.zeros(3)])


def test_empty_client_is_refused(digits):
    model = fl.make_model("mlp", input_shape=(1, 8, 8), n_classes=10)
    empty = fl.ClientData(3, digits.X_train[:0], digits.y_train[:0])
    with pytest.raises(InvalidInput, match="client 3 holds no data"):
        fl.client_update(model, empty)


def test_fedsgd_update_is_the_gradient(digits):
    import torch

    from labkit.fl.hooks import batch_gradients

    model = fl.make_model("mlp", input_shape=(1, 8, 8), n_classes=10, rng=1)
    c = fl.ClientData(0, digits.X_train[:5], digits.y_train[:5])
    u = fl.client_update(model, c, lr=0.1)
    g = fl.flatten(batch_gradients(model, torch.as_tensor(c.X), torch.as_tensor(c.y)))
    assert np.allclose(u.vector, g, atol=1e-5)
    assert u.n_samples == 5


def test_fedavg_learns_and_reports(digits):
    run = fl.train(data=digits, n_clients=4, rounds=6, local_steps=5, batch_size=16, rng=0)
    assert run.result.metrics["accuracy"] > 0.6  # chance is 0.1
    assert run.result.technique == "fl" and run.result.metrics["rounds"] == 6
    assert len(run.result.artifacts["accuracy_per_round"]) == 6


def test_secure_aggregation_gives_the_same_model_and_hides_updates(digits):
    seen = []
    kw = dict(data=digits, n_clients=3, rounds=2, samples_per_client=40, rng=0)
    plain = fl.train(**kw)
    secure = fl.train(**kw, secure_aggregator=fl.PlainSum(), observer=lambda r, view: seen.append(view))
    assert np.allclose(plain.result.artifacts["accuracy_per_round"], secure.result.artifacts["accuracy_per_round"])
    assert all(set(v) == {"sum", "n_samples", "n_clients"} for v in seen)
    assert secure.result.insecure  # PlainSum protects nothing: flagged
    with pytest.raises(InvalidInput, match="only their sum"):
        fl.train(**kw, rule="median", secure_aggregator=fl.PlainSum())


def test_robust_rule_resists_a_sign_flipping_client(digits):
    kw = dict(data=digits, n_clients=5, rounds=6, local_steps=5, batch_size=16, n_byzantine=1, rng=0)
    poisoned = fl.train(**kw, rule="mean").result.metrics["accuracy"]
    robust = fl.train(**kw, rule="median").result.metrics["accuracy"]
    assert poisoned < 0.2 and robust > poisoned + 0.2


def test_a_backend_plugs_into_the_interface():
    class Recording(fl.SecureAggregator):
        name = "recording"

        def __init__(self):
            super().__init__()
            self.calls = 0

        def _sum(self, vectors):
            self.calls += 1
            return np.add.reduce(vectors)

        def _stats(self, vectors):
            return {"bytes_to_server": 123}

    class Broken(fl.SecureAggregator):
        name = "broken"

        def _sum(self, vectors):
            return np.zeros(1)

    rec = Recording()
    assert np.allclose(rec.sum([np.ones(3), np.ones(3)]), 2.0) and rec.last_stats["bytes_to_server"] == 123
    run = fl.train(n_clients=2, rounds=1, samples_per_client=20, secure_aggregator=rec, rng=0)
    assert rec.calls == 2 and not run.result.insecure  # a real backend is not flagged
    with pytest.raises(InvalidInput, match="returned shape"):
        Broken().sum([np.ones(3)])


def test_ckks_secure_aggregation_matches_the_plain_sum():
    agg = fl.CKKSSum()
    vs = [np.random.default_rng(i).normal(size=5000) * 0.01 for i in range(3)]
    assert np.allclose(agg.sum(vs), np.sum(vs, axis=0), atol=1e-6)
    assert agg.last_stats["ciphertexts_per_client"] == 2 and agg.last_stats["bytes_to_server"] > 3 * 5000 * 8
    assert not agg.simulated and not agg.insecure
    with pytest.raises(InvalidInput, match="bound"):
        agg.sum([np.full(10, 400.0), np.full(10, 400.0)])
    run = fl.train(n_clients=3, rounds=2, samples_per_client=40, secure_aggregator=agg, rng=0)
    plain = fl.train(n_clients=3, rounds=2, samples_per_client=40, rng=0)
    assert (
        np.allclose(run.result.artifacts["accuracy_per_round"], plain.result.artifacts["accuracy_per_round"])
        and not run.result.insecure
    )


@pytest.mark.slow
def test_mpc_secure_aggregation_matches_the_plain_sum():
    vs = [np.random.default_rng(i).normal(size=100) for i in range(3)]
    assert np.allclose(fl.MPCSum().sum(vs), np.sum(vs, axis=0), atol=3 * 2**-16)


def test_unflatten_copies_a_read_only_vector():
    import warnings

    import torch

    received = np.frombuffer(np.arange(7.0).tobytes(), dtype="<f8")  # read-only, as a server's received bytes
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns on a non-writable NumPy array
        parts = fl.unflatten(received, [torch.zeros(2, 2), torch.zeros(3)])
    parts[0] += 1  # the tensors are the caller's own
    assert received[0] == 0.0 and parts[0][0, 0].item() == 1.0


def test_train_returns_the_model_and_its_result(digits):
    run = fl.train(data=digits, n_clients=2, rounds=1, samples_per_client=20, rng=3)
    again = fl.train(data=digits, n_clients=2, rounds=1, samples_per_client=20, rng=3)
    assert isinstance(run, Outcome) and run.result.params["seed"] == 3
    assert all(torch_equal(a, b) for a, b in zip(run.value.parameters(), again.value.parameters()))


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))
