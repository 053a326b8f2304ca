"""Label recovery from the classifier head's gradient (iDLG, and its batch extension).

With cross-entropy on softmax outputs, the gradient of the loss with respect
to the last layer's bias is ``mean_b(p_b - y_b)``: every entry is positive
except for the classes present in the batch, which go negative by their
count over the batch size. At batch size 1 the one negative entry is the
label, always (Zhao et al. 2020). For a batch of B the count of class i is
about ``B * (p_i - g_i)``; we pick labels greedily, most negative first,
adding 1 to ``B * g_i`` each time a class is chosen (the idea of Wainakh et
al.'s LLG, here assuming roughly uniform predictions, true near initialisation).
Without a bias, batch size 1 still works from the weight gradient's rows, which
are all parallel to the layer's input and point the other way for the label.

References
----------
Zhao, Mopuri & Bilen, "iDLG: Improved Deep Leakage from Gradients", arXiv:2001.02610, 2020.
Wainakh et al., "User-Level Label Leakage from Gradients in Federated
Learning", PoPETs 2022.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInput


def head_index(model: Any) -> tuple[int, int | None]:
    """Positions, in ``model.parameters()``, of the last Linear layer's weight and bias."""
    import torch.nn as nn

    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise InvalidInput("label recovery needs a model whose last layer is a torch.nn.Linear classifier head.")
    head = linears[-1]
    ids = [id(p) for p in model.parameters()]
    w = ids.index(id(head.weight))
    b = ids.index(id(head.bias)) if head.bias is not None else None
    return w, b


def recover_labels(model: Any, gradients: list[Any], *, batch_size: int = 1) -> np.ndarray:
    """Recover the labels of a batch from its gradient (sorted, as a multiset).

    Parameters
    ----------
    model : torch.nn.Module
        The model the gradient belongs to (its last Linear layer is the head).
    gradients : list of tensors
        One per parameter, in ``model.parameters()`` order (mean loss over the batch).
    batch_size : int

    >>> import torch
    >>> from labkit.fl import make_model
    >>> from labkit.fl.hooks import batch_gradients
    >>> m = make_model("mlp", input_shape=(1, 8, 8), n_classes=10)
    >>> g = batch_gradients(m, torch.rand(1, 1, 8, 8), torch.tensor([7]))
    >>> recover_labels(m, g).tolist()
    [7]
    """
    w_i, b_i = head_index(model)
    if batch_size < 1:
        raise InvalidInput(f"batch_size must be at least 1, not {batch_size!r}.")
    if b_i is None:
        if batch_size != 1:
            raise InvalidInput("a head without bias reveals labels here only at batch size 1; add a bias or use B=1.")
        rows = _np(gradients[w_i])
        ref = rows[np.argmax(np.linalg.norm(rows, axis=1))]
        signs = np.sign(rows @ ref)
        odd = np.flatnonzero(signs != np.sign(np.sum(signs)))
        return np.array([int(odd[0]) if len(odd) else int(np.argmax(np.linalg.norm(rows, axis=1)))])
    h = batch_size * _np(gradients[b_i]).astype(np.float64)
    labels = []
    for _ in range(batch_size):
        i = int(np.argmin(h))
        labels.append(i)
        h[i] += 1.0
    return np.array(sorted(labels), dtype=np.int64)


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
