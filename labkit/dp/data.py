"""Who is in the training set: the member / non-member / public split of a data set.

A DP audit needs three disjoint groups of real examples:

- **members**: the private training set the model is trained on;
- **non-members**: examples the model never saw, drawn from the same
  distribution, against which the attacker must tell members apart;
- **public pool**: other examples, never private, used to train the
  attacker's reference models and to compute the feature scaling, so that
  preprocessing spends no privacy budget.

The data set's fixed test split is cut in two at random (seeded): one half is
the public pool, the other half the non-members. Members are the training
split, or a seeded subset of ``n_train`` of it (the examples of the training
split left out join the public pool). Accuracy is measured on the whole test
split, which the private model never trains on.

References
----------
Shokri et al., "Membership inference attacks against machine learning models",
IEEE S&P 2017 (members, non-members and shadow data drawn from one population).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import config, datasets, validate

DATASETS = ("digits", "breast_cancer")


@dataclass(frozen=True, eq=False)
class Split:
    """Standardised float32 features and int64 labels for each group."""

    name: str
    X_members: np.ndarray
    y_members: np.ndarray
    X_nonmembers: np.ndarray
    y_nonmembers: np.ndarray
    X_public: np.ndarray
    y_public: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        """Features per example."""
        return int(self.X_members.shape[1])

    @property
    def n_members(self) -> int:
        """Examples in the private training set."""
        return len(self.y_members)


def split(name: str, *, n_train: int | None = None, rng: int | np.random.Generator | None = None) -> Split:
    """Cut a lab data set into members, non-members, public pool and test set.

    Parameters
    ----------
    name : {"digits", "breast_cancer"}
        The data set (see :func:`labkit.datasets.load`).
    n_train : int, optional
        Train on a seeded subset of this many training examples (at least 20);
        default: the whole training split.
    rng : int, numpy Generator or None
        Draws the random cuts (None: ``LABKIT_SEED``).

    Returns
    -------
    Split

    Examples
    --------
    >>> s = split("breast_cancer", n_train=100, rng=0)
    >>> s.n_members, s.n_classes, round(float(abs(s.X_public.mean())), 6) < 0.5
    (100, 2, True)
    """
    validate.choice("dataset", name, DATASETS)
    ds = datasets.load(name)
    n_available = len(ds.train_idx)
    if n_train is not None:
        n_train = validate.integer("n_train", n_train, low=20, high=n_available)
    gen = config.rng(rng)
    train_order = gen.permutation(n_available)
    keep = train_order if n_train is None else train_order[: int(n_train)]
    left_out = train_order[len(keep) :]
    test_order = gen.permutation(len(ds.test_idx))
    half = len(test_order) // 2
    public_idx, nonmember_idx = test_order[:half], test_order[half:]

    X_train, y_train = ds.X_train.astype(np.float64), ds.y_train
    X_test, y_test = ds.X_test.astype(np.float64), ds.y_test
    X_public = np.concatenate([X_test[public_idx], X_train[left_out]])
    y_public = np.concatenate([y_test[public_idx], y_train[left_out]])

    # Scaling from the public pool only: preprocessing must not look at private data.
    mean = X_public.mean(axis=0)
    std = X_public.std(axis=0)
    std[std < 1e-8] = 1.0

    def scale(X: np.ndarray) -> np.ndarray:
        return ((X - mean) / std).astype(np.float32)

    def labels(y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.int64)

    return Split(
        name=name,
        X_members=scale(X_train[keep]),
        y_members=labels(y_train[keep]),
        X_nonmembers=scale(X_test[nonmember_idx]),
        y_nonmembers=labels(y_test[nonmember_idx]),
        X_public=scale(X_public),
        y_public=labels(y_public),
        X_test=scale(X_test),
        y_test=labels(y_test),
        n_classes=ds.n_classes,
    )
