"""Session fixtures for the zk tests: one small circuit, one norm prover, their honest proofs.

Setup and proving are the expensive steps, so every test shares these.
"""

from __future__ import annotations

import numpy as np
import pytest


def tiny_mlp(seed: int = 0, shift: float = 0.0):
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    if shift:
        with torch.no_grad():
            model[0].weight[0, 0] += shift
    return model.eval()


@pytest.fixture(scope="session")
def make_mlp():
    return tiny_mlp


@pytest.fixture(scope="session")
def sample():
    return np.random.default_rng(0).uniform(0, 1, size=(1, 8))


@pytest.fixture(scope="session")
def tiny(sample):
    from labkit.zk import ZKModel

    vis = {"input": "public", "params": "hashed", "output": "public"}
    return ZKModel(tiny_mlp(), sample, visibility=vis, scale=7)


@pytest.fixture(scope="session")
def tiny_proof(tiny, sample):
    return tiny.prove(sample)


@pytest.fixture(scope="session")
def norm_prover():
    from labkit.zk import UpdateNormProver

    return UpdateNormProver(dim=8, bound=1.0)


@pytest.fixture(scope="session")
def within_update():
    u = np.random.default_rng(1).normal(size=8)
    return 0.8 * u / np.linalg.norm(u)  # ||u|| = 0.8 <= 1


@pytest.fixture(scope="session")
def within_proof(norm_prover, within_update):
    return norm_prover.prove(within_update)
