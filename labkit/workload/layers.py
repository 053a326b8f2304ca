"""The layers of a feed-forward program, each with its plaintext forward pass and, when affine, its matrix.

A :class:`Layer` acts on one sample at a time, in the ONNX (NCHW, C-order)
layout, and knows its input and output shapes without the batch dimension.
The affine kinds (``linear``, ``conv``, ``avgpool``, ``batchnorm``,
``reshape``) expose :meth:`Layer.affine`: a sparse matrix ``M`` and a bias
``b`` with ``y = M @ x + b`` on the flattened sample. That one form is what
the HE compiler fuses and packs, and what the plaintext forward pass uses, so
the compiler and the reference computation cannot drift apart.

References
----------
ONNX operator specifications, https://onnx.ai/onnx/operators/ (Gemm, Conv,
AveragePool, MaxPool, BatchNormalization: the attribute semantics followed here).
Ioffe & Szegedy, "Batch Normalization", ICML 2015 (inference-time affine form).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

AFFINE = ("linear", "conv", "avgpool", "batchnorm", "reshape")
KINDS = (*AFFINE, "activation", "maxpool")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "square", "softmax")


@dataclass(frozen=True, eq=False)
class Layer:
    """One step of a feed-forward program.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    name : str
        The ONNX node it came from (the first one, for fused patterns).
    op : str
        The ONNX operator(s), e.g. ``"Gemm"``, ``"MatMul+Add"``, ``"Conv"``.
    in_shape, out_shape : tuple of int
        One sample's shape before and after, without the batch dimension.
    params : mapping
        ``linear``: weight (out, in), bias (out,). ``conv``: weight (M, C/group, kh, kw),
        bias (M,), strides, pads (top, left, bottom, right), dilations, group.
        ``avgpool``/``maxpool``: kernel, strides, pads (and count_include_pad).
        ``batchnorm``: scale (C,), shift (C,). ``activation``: fn (one of :data:`ACTIVATIONS`).
    """

    kind: str
    name: str
    op: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def in_size(self) -> int:
        """Values in one input sample."""
        return int(np.prod(self.in_shape))

    @property
    def out_size(self) -> int:
        """Values in one output sample."""
        return int(np.prod(self.out_shape))

    @property
    def is_affine(self) -> bool:
        """True for the kinds with a matrix form (:meth:`affine`)."""
        return self.kind in AFFINE

    def n_parameters(self) -> int:
        """Trainable values (weights and biases) the layer holds."""
        return int(sum(np.size(self.params[k]) for k in ("weight", "bias") if k in self.params))

    def affine(self):
        """``(M, b)``: a scipy CSR matrix (out_size x in_size) and a bias vector, cached."""
        if not self.is_affine:
            raise TypeError(f"a {self.kind} layer has no matrix form")
        if "affine" not in self.cache:
            self.cache["affine"] = _affine(self)
        return self.cache["affine"]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer on a batch ``x`` of shape (batch, *in_shape), in float64."""
        x = np.asarray(x, dtype=np.float64)
        batch = x.shape[0]
        if self.is_affine:
            matrix, bias = self.affine()
            flat = x.reshape(batch, -1)
            return (matrix @ flat.T).T.reshape(batch, *self.out_shape) + bias.reshape(self.out_shape)
        if self.kind == "maxpool":
            return _maxpool(x, self.params)
        return activate(self.params["fn"], x)


def activate(fn: str, x: np.ndarray) -> np.ndarray:
    """The exact activation ``fn`` on ``x`` (softmax over the last axis of each sample)."""
    if fn == "relu":
        return np.maximum(x, 0.0)
    if fn == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * x))
    if fn == "tanh":
        return np.tanh(x)
    if fn == "gelu":
        from scipy.special import erf

        return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
    if fn == "square":
        return x * x
    if fn == "softmax":
        flat = x.reshape(x.shape[0], -1)
        e = np.exp(flat - flat.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).reshape(x.shape)
    raise ValueError(f"unknown activation {fn!r}")


def pooled_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int = 1) -> int:
    """Output length of a window sliding over ``size`` values (floor mode).

    >>> pooled_size(28, 5, 2, 1, 1), pooled_size(8, 3, 1, 0, 0), pooled_size(6, 2, 2, 0, 0)
    (13, 6, 3)
    """
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def _window_index(layer: Layer):
    """For a windowed layer: output index, input index and kernel offset of every (output, tap) pair inside."""
    p = layer.params
    c_in, h, w = layer.in_shape
    c_out, oh, ow = layer.out_shape
    kh, kw = p["kernel"]
    sh, sw = p["strides"]
    dh, dw = p.get("dilations", (1, 1))
    top, left = p["pads"][0], p["pads"][1]
    oy, ox, ky, kx = np.meshgrid(np.arange(oh), np.arange(ow), np.arange(kh), np.arange(kw), indexing="ij")
    iy = oy * sh - top + ky * dh
    ix = ox * sw - left + kx * dw
    inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    return oy[inside], ox[inside], iy[inside], ix[inside], ky[inside], kx[inside], (c_in, h, w, c_out, oh, ow)


def _affine(layer: Layer):
    from scipy import sparse

    p, n_in, n_out = layer.params, layer.in_size, layer.out_size
    if layer.kind == "reshape":
        return sparse.identity(n_in, format="csr"), np.zeros(n_out)
    if layer.kind == "linear":
        return sparse.csr_matrix(np.asarray(p["weight"], dtype=np.float64)), np.asarray(p["bias"], dtype=np.float64)
    if layer.kind == "batchnorm":
        per = n_in // layer.in_shape[0]
        scale = np.repeat(np.asarray(p["scale"], dtype=np.float64), per)
        return sparse.diags(scale, format="csr"), np.repeat(np.asarray(p["shift"], dtype=np.float64), per)
    oy, ox, iy, ix, ky, kx, (c_in, h, w, c_out, oh, ow) = _window_index(layer)
    taps = len(oy)
    if layer.kind == "avgpool":  # channel c to channel c
        channel = np.repeat(np.arange(c_in), taps)
        rows = (channel * oh + np.tile(oy, c_in)) * ow + np.tile(ox, c_in)
        cols = (channel * h + np.tile(iy, c_in)) * w + np.tile(ix, c_in)
        kh, kw = p["kernel"]
        if p.get("count_include_pad", False):
            vals = np.full(rows.size, 1.0 / (kh * kw))
        else:  # divide by the taps inside the input
            counts = np.bincount(rows, minlength=n_out)
            vals = 1.0 / counts[rows]
        return sparse.csr_matrix((vals, (rows, cols)), shape=(n_out, n_in)), np.zeros(n_out)
    weight = np.asarray(p["weight"], dtype=np.float64)  # (M, C/g, kh, kw)
    group = p.get("group", 1)
    per_group_in, per_group_out = c_in // group, c_out // group
    m = np.arange(c_out)
    c_local = np.arange(per_group_in)
    mm, cc = np.meshgrid(m, c_local, indexing="ij")  # every output map with every input map of its group
    mm, cc = mm.ravel(), cc.ravel()
    c_abs = (mm // per_group_out) * per_group_in + cc
    rows = ((mm[:, None] * oh + oy[None, :]) * ow + ox[None, :]).ravel()
    cols = ((c_abs[:, None] * h + iy[None, :]) * w + ix[None, :]).ravel()
    vals = weight[mm[:, None], cc[:, None], ky[None, :], kx[None, :]].ravel()
    bias = np.repeat(np.asarray(p["bias"], dtype=np.float64), oh * ow)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(n_out, n_in)), bias


def _maxpool(x: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    kh, kw = p["kernel"]
    sh, sw = p["strides"]
    top, left, bottom, right = p["pads"]
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=-np.inf)
    windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return windows.max(axis=(-2, -1))
