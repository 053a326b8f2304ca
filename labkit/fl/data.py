"""Image data for the federated simulation, and its split across clients.

Images are float32 arrays of shape (N, C, H, W) with values in [0, 1], the
form both the models and the gradient-inversion attacks use.

References
----------
McMahan et al., "Communication-Efficient Learning of Deep Networks from
Decentralized Data", AISTATS 2017 (IID and non-IID client splits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import config, datasets
from ..errors import InvalidInput

IMAGE_DATASETS = ("digits", "patches32")


@dataclass(frozen=True, eq=False)
class ImageData:
    """Images in [0, 1] as (N, C, H, W) float32 with integer labels, train and test."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    label_meaning: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image."""
        return tuple(self.X_train.shape[1:])

    def most_textured(self) -> int:
        """Index (into ``X_train``) of the image with the largest pixel standard deviation.

        A demonstration picks it so the reconstruction has something to show: a
        flat patch (sky, a wall) looks the same whether or not the attack worked.

        >>> data = image_data("patches32")
        >>> i = data.most_textured()
        >>> bool(data.X_train[i].std() >= data.X_train.std(axis=(1, 2, 3)).max())
        True
        """
        return int(np.argmax(self.X_train.reshape(len(self.X_train), -1).std(axis=1)))

    def __repr__(self) -> str:
        return (
            f"ImageData({self.name!r}, image {self.image_shape}, {self.n_classes} classes, "
            f"train={len(self.y_train)}, test={len(self.y_test)})"
        )


@dataclass(frozen=True, eq=False)
class ClientData:
    """The private data of one client."""

    client_id: int
    X: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def image_data(name: str = "digits", *, n_classes: int | None = None) -> ImageData:
    """Load ``digits`` or ``patches32`` as images in [0, 1].

    Parameters
    ----------
    name : {"digits", "patches32"}
        ``digits``: 8x8 greyscale, 10 classes (the real digit).
        ``patches32``: 32x32 RGB patches. Their own label is only the source
        photo (2 classes), which makes a poor classifier head; by default each
        patch gets a pseudo-identity class ``index % n_classes`` (10 classes),
        like a recognition model whose head has one output per identity.
    n_classes : int, optional
        For ``patches32``: 2 keeps the source-photo labels; any other value
        >= 2 uses pseudo-identity classes. Ignored for ``digits``.

    >>> image_data("digits").image_shape
    (1, 8, 8)
    """
    if name not in IMAGE_DATASETS:
        raise InvalidInput(f"image data set must be one of {IMAGE_DATASETS}, not {name!r}.")
    ds = datasets.load(name)
    if name == "digits":
        X = (ds.X.reshape(-1, 1, 8, 8) / 16.0).astype(np.float32)
        y = ds.y.astype(np.int64)
        k, meaning = 10, "the handwritten digit"
    else:
        X = (np.transpose(ds.X, (0, 3, 1, 2)) / 255.0).astype(np.float32)
        k = 10 if n_classes is None else int(n_classes)
        if k < 2:
            raise InvalidInput(f"n_classes must be at least 2, not {n_classes!r}.")
        if k == 2:
            y, meaning = ds.y.astype(np.int64), "the source photo"
        else:
            y, meaning = np.arange(len(ds.y), dtype=np.int64) % k, f"a pseudo-identity (patch index mod {k})"
    return ImageData(name, X[ds.train_idx], y[ds.train_idx], X[ds.test_idx], y[ds.test_idx], k, meaning)


def split_clients(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_clients: int,
    samples_per_client: int | None = None,
    non_iid: bool = False,
    rng: int | np.random.Generator | None = None,
) -> list[ClientData]:
    """Split (X, y) into ``n_clients`` disjoint client data sets.

    Parameters
    ----------
    n_clients : int
        How many clients (>= 1).
    samples_per_client : int, optional
        Cap on each client's size (default: all the data, shared equally).
    non_iid : bool
        Sort by label before splitting, so each client sees few classes
        (the pathological non-IID split of McMahan et al.).
    rng : int or Generator, optional
        Seed of the shuffle (default: the teaching seed).

    >>> import numpy as np
    >>> parts = split_clients(np.zeros((10, 1, 2, 2)), np.arange(10), n_clients=3, rng=0)
    >>> [len(p) for p in parts]
    [4, 3, 3]
    """
    if isinstance(n_clients, bool) or not isinstance(n_clients, (int, np.integer)) or n_clients < 1:
        raise InvalidInput(f"n_clients must be a positive integer, not {n_clients!r}.")
    if len(X) != len(y):
        raise InvalidInput(f"X has {len(X)} rows but y has {len(y)}; give one label per image.")
    if len(y) < n_clients:
        raise InvalidInput(f"{len(y)} samples cannot fill {n_clients} clients; use fewer clients.")
    gen = config.rng(rng)
    order = gen.permutation(len(y))
    if non_iid:
        order = order[np.argsort(y[order], kind="stable")]
    parts = np.array_split(order, n_clients)
    if non_iid:  # deal the label-sorted shards out in a shuffled order
        parts = [parts[i] for i in gen.permutation(n_clients)]
    if samples_per_client is not None:
        if samples_per_client < 1:
            raise InvalidInput(f"samples_per_client must be >= 1, not {samples_per_client!r}.")
        parts = [p[:samples_per_client] for p in parts]
    return [ClientData(i, X[p], y[p]) for i, p in enumerate(parts)]
