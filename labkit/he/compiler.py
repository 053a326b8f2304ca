"""A feed-forward program (:mod:`labkit.workload.graph`) compiled to what CKKS evaluates.

CKKS adds and multiplies; so the compiler turns the model into a chain of
*stages*, each one affine map followed by the powers of an activation
polynomial:

- consecutive affine layers (Gemm, MatMul+Add, Conv, AvgPool,
  GlobalAveragePool, BatchNorm folded, Flatten/Reshape) are fused into one
  sparse matrix, so they cost one multiplicative level together;
- each ReLU, Sigmoid, Tanh or GELU becomes a least-squares polynomial of
  ``degree`` fitted (in the Chebyshev basis, converted to monomials) over
  the pre-activation range measured on the training data, widened to the range
  the polynomial model itself produces; the squares are weighted by where the
  training pre-activations lie (95%) and a uniform grid over the range (5%):
  on the CryptoNets-shaped CNN this lifts a degree-2 fit from 88.7% to 95.8%
  accuracy. ``square`` (x*x) is exact;
- the polynomial's coefficients are folded into the next affine map (a known
  trick: the map takes the powers y, y^2, ... as inputs, scaled by the
  coefficients, and the constant goes into its bias), so an activation costs
  only the levels of its powers, ceil(log2 d). A degree-2 polynomial is
  completed to a square, c2 (y + s)^2 + k, with the shift s folded into the
  previous bias: one ciphertext and one level per activation, the cost of
  CryptoNets' x^2. The variable is also normalised, t = (y + s) / r with
  |t| <= 1 on the range, so powers stay small and the modulus headroom is set
  by the affine outputs alone;
- a final Softmax is dropped (the argmax is unchanged); a final Sigmoid is
  dropped too (the label is the logit's sign, or its argmax: sigmoid is
  monotone) unless ``final="fit"`` asks for a fitted polynomial on the output;
- MaxPool is a :class:`~labkit.workload.support.Problem` (use AvgPool).

:meth:`Plan.simulate` is "what HE computes", in numpy on plaintext; the
encrypted evaluators (:mod:`labkit.he.packing`) follow the same stages, and
:mod:`labkit.he.planner` picks the ring dimension and modulus chain for the
plan's depth and magnitudes.

References
----------
Gilad-Bachrach et al., "CryptoNets", ICML 2016 (square activations, layer fusion).
Hesamifard, Takabi & Ghasemi, "CryptoDL", arXiv:1711.05189 (polynomial
approximations of activations fitted by least squares).
Brutzkus, Oren & Gilad-Bachrach, "LoLa", ICML 2019 (fusing linear layers).
Trefethen, "Approximation Theory and Approximation Practice", SIAM 2013
(least squares in the Chebyshev basis).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import validate
from ..errors import InvalidInput
from .polynomials import complete_square, fit_activation, power_depth, powers_of

__all__ = ["Plan", "Stage", "compile_program", "compile_workload", "fit_activation", "power_depth", "require_plan"]

DEFAULT_DEGREE = 2
FINALS = ("drop", "fit")
_MARGIN = 0.05  # the fitted range is widened by 5% on each side (test data stray a little)
_DENSE = 0.25  # a block with more nonzeros than this share is multiplied as a dense array


@dataclass(frozen=True, eq=False)
class Stage:
    """One affine map ``y = sum_k M_k @ x^k + b`` then the powers of an activation polynomial.

    Attributes
    ----------
    blocks : tuple of (int, scipy CSR matrix)
        For each power k of the previous stage's output (1 for the model input), the matrix
        (out x in) it is multiplied by; the previous polynomial's coefficients are inside.
    bias : numpy.ndarray
        (out,), including the previous polynomial's constant and this activation's shift.
    powers : tuple of int
        Powers of y this stage hands to the next one (empty for the last stage).
    activation : dict
        What was fitted: fn, degree, coefficients (lowest first, in the pre-activation y),
        range (lo, hi), the node; empty for the last stage.
    """

    blocks: tuple
    bias: np.ndarray
    powers: tuple[int, ...] = ()
    activation: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_in(self) -> int:
        """Values of the previous stage (per power)."""
        return self.blocks[0][1].shape[1]

    @property
    def n_out(self) -> int:
        """Values this stage computes."""
        return len(self.bias)

    @property
    def depth(self) -> int:
        """Levels: one for the affine map, ceil(log2 max power) for the powers."""
        return 1 + power_depth(max(self.powers, default=1))

    def affine(self, inputs: dict[int, np.ndarray]) -> np.ndarray:
        """The affine map on plaintext inputs {power: (batch, n_in)} -> (batch, n_out)."""
        if "fast" not in self.cache:  # dense enough blocks as transposed numpy arrays (BLAS is faster)
            self.cache["fast"] = [
                (k, np.ascontiguousarray(m.T.toarray()) if m.nnz > _DENSE * m.shape[0] * m.shape[1] else m)
                for k, m in self.blocks
            ]
        out = None
        for k, matrix in self.cache["fast"]:
            term = inputs[k] @ matrix if isinstance(matrix, np.ndarray) else (matrix @ inputs[k].T).T
            out = term if out is None else out + term
        out += self.bias
        return out


@dataclass(frozen=True, eq=False)
class Plan:
    """The compiled model: stages, an optional output polynomial, and what was measured.

    Attributes
    ----------
    stages : tuple of Stage
    final_poly : numpy.ndarray or None
        Coefficients of a polynomial applied to the outputs (``final="fit"`` on a sigmoid).
    final : str or None
        How labels are read from the outputs: "sigmoid" (threshold 0.5), else None (argmax,
        or the sign for one output).
    notes : tuple of str
        The rewrites applied, in words.
    max_magnitude : float
        Largest |value| of any intermediate on the training data (the modulus headroom).
    input_shape : tuple of int
    """

    stages: tuple[Stage, ...]
    final_poly: np.ndarray | None
    final: str | None
    notes: tuple[str, ...]
    max_magnitude: float
    input_shape: tuple[int, ...]
    degree: int

    @property
    def depth(self) -> int:
        """Multiplicative depth of the whole plan (levels the modulus chain must hold)."""
        from .security import polynomial_depth

        final = polynomial_depth(len(self.final_poly) - 1) if self.final_poly is not None else 0
        return sum(s.depth for s in self.stages) + final

    @property
    def n_inputs(self) -> int:
        """Values in one flattened input sample."""
        return self.stages[0].n_in

    @property
    def n_outputs(self) -> int:
        """Values the plan outputs per sample."""
        return self.stages[-1].n_out

    @property
    def widest(self) -> int:
        """The largest vector any stage reads or writes (one ciphertext in single mode holds it)."""
        return max(max(s.n_in, s.n_out) for s in self.stages)

    def simulate(self, X, *, trace: list | None = None) -> np.ndarray:
        """The polynomial model in plaintext (float64): exactly the arithmetic HE performs.

        ``trace``, when a list, receives every intermediate array (for magnitudes).
        """
        x = X.reshape(len(X), -1) if isinstance(X, np.ndarray) and X.dtype == np.float64 else None
        x = x if x is not None else np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        values = {1: x}
        out = x
        for stage in self.stages:
            out = stage.affine(values)
            values = powers_of(out, stage.powers) if stage.powers else {}
            if trace is not None:
                trace.append(out)
                trace.extend(values.values())
        if self.final_poly is not None:
            out = np.polynomial.polynomial.polyval(out, self.final_poly)
        return out

    def labels(self, outputs: np.ndarray) -> np.ndarray:
        """Class labels from outputs (argmax, or a threshold for one output)."""
        from ..workload import labels_from

        return labels_from(outputs, final=self.final)

    def summary(self) -> list[dict]:
        """One row per stage: sizes, nonzero weights, powers, the activation fitted."""
        rows = []
        for s in self.stages:
            act = s.activation
            rows.append(
                {
                    "in": s.n_in,
                    "out": s.n_out,
                    "nonzero_weights": int(sum(m.nnz for _, m in s.blocks)),
                    "powers": list(s.powers),
                    "activation": act.get("fn"),
                    "range": list(act["range"]) if "range" in act else None,
                    "levels": s.depth,
                }
            )
        return rows


def compile_program(program, X_train, *, degree: int = DEFAULT_DEGREE, final: str = "drop", rows: int = 2000):
    """Compile ``program`` (a :class:`~labkit.workload.graph.Program`) for CKKS.

    Parameters
    ----------
    program : Program
        The model as read by the intake; BatchNormalization is folded here.
    X_train : array
        Training samples; the pre-activation ranges are measured on (up to ``rows`` of) them.
    degree : int
        Degree of each fitted activation polynomial (default 2: one level per activation, see
        the module docstring); square activations are exact whatever the degree.
    final : {"drop", "fit"}
        A final sigmoid dropped (labels from the logit) or fitted by a polynomial of ``degree``.
    rows : int
        Training rows used to measure ranges.

    Returns
    -------
    (Plan or None, list of Problem)
        The plan, or None with the problems (MaxPool...) that stop it.
    """
    from ..workload.support import Problem, rewrite_for

    degree = validate.integer("degree", degree, low=1, high=16)
    validate.choice("final", final, FINALS)
    program = program.folded()
    problems = [
        Problem(layer.name, layer.op, "max pooling compares values, which CKKS cannot do", rewrite_for("MaxPool"))
        for layer in program.layers
        if layer.kind == "maxpool"
    ]
    if problems:
        return None, problems
    X = np.asarray(X_train, dtype=np.float64)[:rows].reshape(-1, *program.input_shape)
    notes = list(program.notes)
    n_in = int(np.prod(program.input_shape))
    from scipy import sparse

    blocks = {1: sparse.identity(n_in, format="csr")}
    bias = np.zeros(n_in)
    poly_in = {1: X.reshape(len(X), -1)}  # the polynomial model's inputs to the current stage
    stages: list[Stage] = []
    final_poly, final_kind = None, None
    last = len(program.layers) - 1
    for index, layer in enumerate(program.layers):
        if layer.is_affine:
            matrix, b = layer.affine()
            blocks = {k: (matrix @ m).tocsr() for k, m in blocks.items()}
            bias = matrix @ bias + b.ravel()
            continue
        fn = layer.params["fn"]
        if index == last and fn == "softmax":
            notes.append(f"final Softmax {layer.name!r} dropped: the argmax is unchanged")
            continue
        if index == last and fn == "sigmoid" and final == "drop":
            notes.append(
                f"final Sigmoid {layer.name!r} dropped: sigmoid is monotone, so the label (logit > 0, or the argmax) is unchanged"
            )
            continue
        stage = Stage(tuple(sorted(blocks.items())), bias)
        y_poly = stage.affine(poly_in)
        y_orig = program.forward(X, upto=index).reshape(len(X), -1)
        lo = float(min(y_poly.min(), y_orig.min()))
        hi = float(max(y_poly.max(), y_orig.max()))
        width = hi - lo
        lo, hi = lo - _MARGIN * width, hi + _MARGIN * width
        output = index == last and fn == "sigmoid"
        if output:  # the label is p(s) > 0.5: a uniform fit on [-R, R] keeps p(0) = 0.5 (sigmoid - 0.5 is odd)
            radius = max(abs(lo), abs(hi))
            lo, hi = -radius, radius
        samples = None if output else np.concatenate([y_orig.ravel(), y_poly.ravel()])
        coef = fit_activation(fn, lo, hi, degree, samples=samples)
        info = {"fn": fn, "node": layer.name, "degree": len(coef) - 1, "coefficients": coef.tolist(), "range": (lo, hi)}
        if output:
            notes.append(
                f"final Sigmoid {layer.name!r} replaced by a degree-{degree} least-squares polynomial on "
                f"[{lo:.3g}, {hi:.3g}] (uniform, symmetric: the 0.5 threshold stays at a score of 0)"
            )
            stages.append(stage)
            final_poly, final_kind = coef, "sigmoid"
            blocks = None
            break
        if fn != "square":
            notes.append(
                f"{layer.op} {layer.name!r} replaced by a degree-{degree} least-squares polynomial on "
                f"[{lo:.3g}, {hi:.3g}] (weighted by the training pre-activations)"
            )
        shift, coef_z = complete_square(coef, lo, hi)
        # normalise the variable, t = (y + shift) / r with |t| <= ~1, so powers stay small
        r = max(abs(lo + shift), abs(hi + shift), 1e-12)
        coef_z = coef_z * r ** np.arange(len(coef_z))
        info["normaliser"] = r
        powers = tuple(k for k in range(1, len(coef_z)) if coef_z[k] != 0.0) or (1,)
        scaled = tuple((k, (m / r).tocsr()) for k, m in stage.blocks)
        stages.append(Stage(scaled, (bias + shift) / r, powers, info))
        poly_in = powers_of((y_poly + shift) / r, powers)
        n = len(bias)
        blocks = {k: sparse.diags(np.full(n, coef_z[k]), format="csr") for k in powers}
        bias = np.full(n, coef_z[0])
    if blocks is not None:
        stages.append(Stage(tuple(sorted(blocks.items())), bias))
    plan = Plan(tuple(stages), final_poly, final_kind, tuple(notes), 0.0, tuple(program.input_shape), degree)
    trace: list = []
    out = plan.simulate(X, trace=trace)
    trace.append(out)
    magnitude = max(float(np.max(np.abs(t))) for t in trace)
    magnitude = max(magnitude, float(np.max(np.abs(X))))  # inputs are encrypted as they are
    # biases are added (and final coefficients multiplied) as plaintexts under the same bound
    magnitude = max([magnitude] + [float(np.max(np.abs(s.bias))) for s in plan.stages])
    if final_poly is not None:
        magnitude = max(magnitude, float(np.max(np.abs(final_poly))))
    return Plan(plan.stages, final_poly, final_kind, plan.notes, magnitude, plan.input_shape, degree), []


def compile_workload(workload, *, degree: int = DEFAULT_DEGREE, final: str = "drop"):
    """:func:`compile_program` on a workload's program and training data; (None, problems) if unreadable."""
    if workload.program is None:
        return None, list(workload.problems)
    return compile_program(workload.program, workload.X_train, degree=degree, final=final)


def require_plan(workload, **kw) -> Plan:
    """The plan, or InvalidInput naming every problem."""
    plan, problems = compile_workload(workload, **kw)
    if plan is None:
        raise InvalidInput("; ".join(str(p) for p in problems))
    return plan
