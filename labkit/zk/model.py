"""``ZKModel``: prove that a torch model produced an output, and check such proofs.

>>> import labkit.zk
>>> labkit.zk.Visibility(input="private").params
'public'

Building a ZKModel runs (or loads from the cache) the whole pipeline of
:mod:`labkit.zk.circuit`. ``prove(x)`` makes a witness and a proof;
``verify(proof)`` checks it against this model's verifying key and returns
True or False, never raising on a proof that is merely invalid.

What a proof covers is the list of public instances: public inputs and
outputs as field elements, and Poseidon hashes for hashed parts. The
"pretty" values and the ``hex_proof`` ezkl also writes into a proof file are
not checked by ezkl's verifier, so this module decodes what a proof claims
from the instances only, and :meth:`ZKModel.verify` refuses a file whose
redundant encodings disagree (:meth:`ZKModel.check_consistency` says where).

References
----------
Gabizon, Williamson, Ciobotaru, "PLONK", ePrint 2019/953; the Halo2 book
(https://zcash.github.io/halo2/); ezkl documentation (https://docs.ezkl.xyz/).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import validate
from ..errors import InvalidInput, LabkitError
from . import backend, consistency, footprint, prover
from .circuit import DECOMPOSITION, Circuit, Visibility, build, export_onnx, onnx_shapes

# Fixed-point values must stay well inside the field and lookup ranges: |x| * 2**scale below this.
_MAX_FIXED_POINT = 2**20


@dataclass
class Proof:
    """A proof as ezkl writes it (``data``), with what this lab knows about it."""

    data: dict[str, Any]
    circuit: str  # content key of the circuit that made it
    seconds: float = 0.0  # proving time
    witness_seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def instances(self) -> list[str]:
        """The public instances (field elements, little-endian hex) the proof is about."""
        return list(self.data["instances"][0])

    @property
    def size(self) -> int:
        """Bytes of the proof itself (without the public instances)."""
        return len(self.data["proof"])

    def copy(self) -> Proof:
        """A deep copy (to tamper with without touching the original)."""
        return Proof(copy.deepcopy(self.data), self.circuit, self.seconds, self.witness_seconds, dict(self.meta))

    def to_json(self) -> str:
        """The proof data and its circuit key as JSON."""
        return json.dumps({"data": self.data, "circuit": self.circuit})

    @classmethod
    def from_json(cls, text: str) -> Proof:
        """A Proof from :meth:`to_json` text (timings are not kept)."""
        d = json.loads(text)
        return cls(d["data"], d["circuit"])


def as_array(x: Any, what: str) -> np.ndarray:
    """``x`` (array-like or torch tensor) as a float64 array of finite numbers, or InvalidInput naming ``what``.

    >>> as_array([[1, 2]], "x").tolist()
    [[1.0, 2.0]]
    """
    return validate.finite_array(what, x.detach().cpu().numpy() if hasattr(x, "detach") else x)


def _is_torch_module(model: Any) -> bool:
    import torch

    return isinstance(model, torch.nn.Module)


class ZKModel:
    """A torch model (or an ONNX graph) compiled to a zk-SNARK circuit (ezkl), ready to prove and verify.

    Parameters
    ----------
    model : torch.nn.Module or bytes
        A feed-forward model whose operators ezkl supports (Linear, Conv,
        ReLU, pooling, ...), exported once by the workload intake's exporter
        (TorchScript, batch of one); or the bytes of an ONNX graph with static
        shapes (a :class:`labkit.workload.Workload`'s ``onnx_bytes``).
    sample_input : array-like
        One input with the exact shape every later input must have (batch
        axis of one included, e.g. ``(1, 64)``); also used for calibration.
    visibility : dict or Visibility, optional
        ``{"input": ..., "params": ..., "output": ...}``, each "public",
        "private" or "hashed" (default: all public).
    scale : int, optional
        Fixed-point scale (bits after the point); calibrated when omitted.
    logrows : int, optional
        Circuit size (log2 of the rows); the smallest that fits when omitted.
    target : {"resources", "accuracy"}
        What calibration optimises.
    calibration : array-like, optional
        More inputs (first axis = samples) to calibrate on.
    srs_path : path-like, optional
        A reference string you trust. Without one a development string is
        generated here, and :attr:`development_setup` is True: such proofs
        can be forged by whoever knows its secret (not for production).
    decomposition : (int, int)
        Range checks split values into ``legs`` digits in ``base`` (each digit
        looked up in a table of ``base`` rows); see ``circuit.DECOMPOSITION``.
    cache : bool
        Reuse the compiled circuit and keys of an identical earlier build.
    budget_bytes : int, optional
        Memory the prover may use; a circuit estimated above it is refused
        after calibration, before setup (default: the lab's memory budget).
    """

    def __init__(
        self,
        model: Any,
        sample_input: Any,
        *,
        visibility: Visibility | dict | None = None,
        scale: int | None = None,
        logrows: int | None = None,
        target: str = "resources",
        calibration: Any = None,
        srs_path: str | os.PathLike | None = None,
        decomposition: tuple[int, int] = DECOMPOSITION,
        cache: bool = True,
        budget_bytes: int | None = None,
    ):
        is_onnx = isinstance(model, (bytes, bytearray))
        if not is_onnx and not _is_torch_module(model):
            raise InvalidInput(
                f"model must be a torch.nn.Module or the bytes of an ONNX model, not {type(model).__name__}."
            )
        sample = as_array(sample_input, "sample_input")
        if sample.ndim < 2:
            raise InvalidInput(f"sample_input needs a batch axis: shape (1, ...), not {sample.shape}.")
        if scale is not None:
            scale = validate.integer("scale", scale, low=0, high=20)
        self.visibility = Visibility.of(visibility)
        self.input_shape = tuple(sample.shape)
        calib = sample[None] if calibration is None else as_array(calibration, "calibration")
        if calib.shape[1:] != self.input_shape:
            raise InvalidInput(f"calibration samples must each have shape {self.input_shape}, not {calib.shape[1:]}.")
        start = time.perf_counter()
        if is_onnx:
            self.model = None
            self.onnx = bytes(model)
            shape_in, shape_out = onnx_shapes(self.onnx)
            if shape_in != self.input_shape:
                raise InvalidInput(f"sample_input has shape {self.input_shape}; the ONNX graph takes {shape_in}.")
        else:
            self.model = model.eval()
            self.onnx = export_onnx(self.model, sample)
            shape_out = onnx_shapes(self.onnx)[1]
        export_seconds = time.perf_counter() - start
        self.output_size = int(np.prod(shape_out))
        self.circuit: Circuit = build(
            self.onnx,
            calib,
            visibility=self.visibility,
            scale=scale,
            logrows=logrows,
            target=target,
            srs_path=srs_path,
            decomposition=decomposition,
            cache=cache,
            budget_bytes=budget_bytes,
        )
        self.timings = {"export": export_seconds, **self.circuit.timings}
        self._commitment: str | None = None
        self._evaluator: Any = None

    # -- facts -------------------------------------------------------------------------
    @property
    def development_setup(self) -> bool:
        """True when the reference string was generated here (not for production)."""
        return self.circuit.srs.development

    @property
    def logrows(self) -> int:
        """The circuit size: it has ``2**logrows`` rows."""
        return self.circuit.logrows

    def sizes(self) -> dict[str, int]:
        """Bytes on disk of the ONNX model, compiled circuit, keys and reference string."""
        return self.circuit.sizes()

    @property
    def verifying_key_id(self) -> str:
        """SHA-256 of the verifying key: what a verifier pins."""
        return hashlib.sha256(self.circuit.path("vk").read_bytes()).hexdigest()

    # -- inputs ------------------------------------------------------------------------
    def check_input(self, x: Any) -> np.ndarray:
        """``x`` as an array of this model's input shape, or InvalidInput saying what is wrong."""
        arr = as_array(x, "x")
        if arr.shape != self.input_shape:
            if arr.size == int(np.prod(self.input_shape)) and arr.ndim == len(self.input_shape) - 1:
                hint = f" (add the batch axis: x[None] has shape {(1, *arr.shape)})"
            else:
                hint = ""
            raise InvalidInput(f"x has shape {arr.shape}; this circuit takes shape {self.input_shape}{hint}.")
        limit = _MAX_FIXED_POINT / 2**self.circuit.input_scale
        if np.max(np.abs(arr)) > limit:
            raise InvalidInput(
                f"|x| reaches {np.max(np.abs(arr)):.3g}; at scale {self.circuit.input_scale} this "
                f"circuit takes values up to {limit:.3g}: normalise the input."
            )
        return arr

    def plaintext(self, x: Any) -> np.ndarray:
        """The model's ordinary (float) output on ``x`` (torch, or ONNX's reference evaluator for a graph)."""
        arr = self.check_input(x)
        if self.model is None:
            from onnx.reference import ReferenceEvaluator

            if self._evaluator is None:
                self._evaluator = ReferenceEvaluator(self.onnx)
            name = self._evaluator.input_names[0]
            return np.asarray(self._evaluator.run(None, {name: arr.astype(np.float32)})[0], dtype=float).ravel()
        import torch

        with torch.no_grad():
            return self.model(torch.as_tensor(arr, dtype=torch.float32)).numpy().ravel()

    # -- proving -----------------------------------------------------------------------
    def witness(self, x: Any, folder: Path) -> dict[str, Any]:
        """Run the circuit on ``x`` (ezkl ``gen_witness``) and return the witness."""
        arr = self.check_input(x)
        data, out = folder / "input.json", folder / "witness.json"
        data.write_text(json.dumps({"input_data": [arr.ravel().tolist()]}))
        backend.call("gen_witness", data, self.circuit.path("compiled"), out)
        return json.loads(out.read_text())

    def prove(self, x: Any, *, isolated: bool = False, timeout: float | None = None) -> Proof:
        """A proof that this circuit, run on ``x``, gives the output it states.

        ``isolated=True`` proves in a child process (:mod:`labkit.zk.prover`): a
        prover that hangs is stopped after ``timeout`` seconds (default: 30 times
        the estimated proving time, at least two minutes), and ``proof.meta``
        gets the prover's measured ``prover_ram_bytes``.
        """
        arr = self.check_input(x)
        meta: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="labkit-zk-") as tmp:
            folder = Path(tmp)
            start = time.perf_counter()
            wit = self.witness(arr, folder)
            witness_seconds = time.perf_counter() - start
            paths = {
                "witness": folder / "witness.json",
                "compiled": self.circuit.path("compiled"),
                "pk": self.circuit.path("pk"),
                "proof": folder / "proof.json",
            }
            start = time.perf_counter()
            if isolated:
                if timeout is None:
                    estimated = footprint.from_settings(self.circuit.settings).prove_seconds
                    timeout = max(prover.MIN_TIMEOUT, 30 * estimated)
                run = prover.prove_in_child(**paths, srs=self.circuit.srs.path, timeout=timeout)
                seconds = run.pop("seconds")
                meta.update(run)
            else:
                backend.call("prove", *paths.values(), srs_path=self.circuit.srs.path)
                seconds = time.perf_counter() - start
            # The file, not the returned dict: the file is what ezkl's verifier reads back.
            data = json.loads((folder / "proof.json").read_text())
        outputs = wit.get("pretty_elements", {}).get("rescaled_outputs") or [[]]
        meta["circuit_output"] = [float(v) for v in outputs[0]]
        proof = Proof(data, self.circuit.key, seconds, witness_seconds, meta=meta)
        self._check_layout(proof, wit)
        return proof

    # -- verifying ---------------------------------------------------------------------
    def verify(
        self,
        proof: Proof,
        *,
        output: Any = None,
        input: Any = None,
        commitment: str | None = None,
        atol: float | None = None,
    ) -> bool:
        """True when ``proof`` verifies under this model's key (and matches what you expect).

        Parameters
        ----------
        proof : Proof
        output, input : array-like, optional
            Values the proof must state (public parts only), within ``atol``
            (default: 0.05 or 2% of the largest expected value, whichever is
            larger: fixed-point inference drifts a few grid steps per layer).
        commitment : str, optional
            The published parameter hash (``params_commitment``): a proof made
            with other weights states another hash and fails.

        Returns
        -------
        bool
            False for any invalid or mismatching proof, and for a proof file whose
            redundant encodings disagree (:meth:`check_consistency`); never raises on one.
        """
        if not isinstance(proof, Proof):
            raise InvalidInput(f"verify takes a Proof (from prove), not {type(proof).__name__}.")
        try:
            if self.check_consistency(proof) or not self.snark_verifies(proof):
                return False
            if output is not None and not self._close(self.claimed_output(proof), output, atol):
                return False
            if input is not None and not self._close(self.claimed_input(proof), input, atol):
                return False
            return commitment is None or self.claimed_commitment(proof) == commitment
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # a malformed proof is an invalid proof
            return False

    def check_consistency(self, proof: Proof) -> list[str]:
        """What disagrees between the redundant encodings of ``proof``'s file (empty: nothing).

        ``hex_proof`` must be the proof bytes; each part of ``pretty_public_inputs``
        must repeat the instances it stands for (see :mod:`labkit.zk.consistency`).
        ezkl's verifier reads neither, so a file that passes the SNARK check can
        still show a reader values the proof never bound; :meth:`verify` refuses it.

        References
        ----------
        ezkl documentation, proof files: https://docs.ezkl.xyz/
        """
        if not isinstance(proof, Proof):
            raise InvalidInput(f"check_consistency takes a Proof (from prove), not {type(proof).__name__}.")
        data = proof.data
        if not isinstance(data, dict) or consistency.instance_problems(data):
            return consistency.problems(data, groups={}, rescaled={})
        layout, inst = self.layout(proof), proof.instances
        if layout["output"].start < layout["params"].stop or layout["params"].start > layout["params"].stop:
            return [
                *consistency.proof_bytes_problems(data),
                f"the proof states {len(inst)} public values; this circuit states more",
            ]
        scales = {"input": self.circuit.input_scale, "output": self.circuit.output_scale}
        try:
            groups, rescaled = consistency.expected_copies(
                inst, layout=layout, visibility=self.visibility.as_dict(), scales=scales
            )
        except ValueError as exc:
            return [str(exc)]
        return consistency.problems(data, groups=groups, rescaled=rescaled)

    def snark_verifies(self, proof: Proof) -> bool:
        """ezkl's own check alone: the proof bytes against the instances and this verifying key.

        It ignores ``hex_proof`` and ``pretty_public_inputs``; use :meth:`verify`,
        which also refuses a file whose encodings disagree.
        """
        with tempfile.TemporaryDirectory(prefix="labkit-zk-") as tmp:
            path = Path(tmp) / "proof.json"
            path.write_text(json.dumps(proof.data))
            try:
                return bool(
                    backend.call(
                        "verify",
                        path,
                        self.circuit.path("settings"),
                        self.circuit.path("vk"),
                        srs_path=self.circuit.srs.path,
                    )
                )
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # ezkl raises on a failed check; a Rust panic arrives as a BaseException
                return False

    @staticmethod
    def _close(claimed: np.ndarray | None, expected: Any, atol: float | None) -> bool:
        if claimed is None:
            return False
        want = np.asarray(expected, dtype=float).ravel()
        if atol is None:
            atol = max(0.05, 0.02 * float(np.max(np.abs(want)))) if want.size else 0.05
        return claimed.shape == want.shape and bool(np.allclose(claimed, want, rtol=0, atol=atol))

    # -- what a proof states -----------------------------------------------------------
    def layout(self, proof: Proof) -> dict[str, slice]:
        """Where each part ("input", "params", "output") sits among a proof's public instances.

        ezkl 23 puts an input hash first, then the parameter hashes, then public
        input values, then the output (hash or values); :meth:`prove` checks this
        against the witness on every proof.
        """
        n_in = {"public": int(np.prod(self.input_shape)), "hashed": 1, "private": 0}[self.visibility.input]
        n_out = {"public": self.output_size, "hashed": 1, "private": 0}[self.visibility.output]
        total = len(proof.instances)
        n_params = total - n_in - n_out
        if self.visibility.input == "hashed":
            first, second = slice(0, 1), slice(1, 1 + n_params)
            return {"input": first, "params": second, "output": slice(total - n_out, total)}
        return {
            "params": slice(0, n_params),
            "input": slice(n_params, n_params + n_in),
            "output": slice(total - n_out, total),
        }

    def _check_layout(self, proof: Proof, wit: dict[str, Any]) -> None:
        layout, inst = self.layout(proof), proof.instances
        expected = {
            "params": (wit.get("processed_params") or {}).get("poseidon_hash") or [],
            "input": (wit.get("processed_inputs") or {}).get("poseidon_hash") or [],
            "output": (wit.get("processed_outputs") or {}).get("poseidon_hash") or [],
        }
        if self.visibility.input == "public":
            expected["input"] = [f for group in wit["inputs"] for f in group]
        if self.visibility.output == "public":
            expected["output"] = [f for group in wit["outputs"] for f in group]
        for part, want in expected.items():
            if inst[layout[part]] != list(want):
                raise LabkitError(
                    f"ezkl {backend.version()} orders the public instances differently than labkit "
                    f"expects ({part}); claimed values cannot be decoded."
                )

    def claimed_output(self, proof: Proof) -> np.ndarray | None:
        """The output a proof states (decoded from its public instances); None unless output is public."""
        if self.visibility.output != "public":
            return None
        felts = proof.instances[self.layout(proof)["output"]]
        return np.array([backend.felt_to_float(f, self.circuit.output_scale) for f in felts])

    def claimed_input(self, proof: Proof) -> np.ndarray | None:
        """The input a proof states; None unless input is public."""
        if self.visibility.input != "public":
            return None
        felts = proof.instances[self.layout(proof)["input"]]
        return np.array([backend.felt_to_float(f, self.circuit.input_scale) for f in felts])

    def claimed_input_hash(self, proof: Proof) -> str | None:
        """The Poseidon hash of the input a proof states; None unless input is hashed."""
        if self.visibility.input != "hashed":
            return None
        return ",".join(proof.instances[self.layout(proof)["input"]])

    def claimed_commitment(self, proof: Proof) -> str | None:
        """The parameter hash a proof states; None unless params are hashed."""
        if self.visibility.params != "hashed":
            return None
        return ",".join(proof.instances[self.layout(proof)["params"]])

    @property
    def params_commitment(self) -> str | None:
        """The Poseidon hash of this model's weights, as the owner publishes it (params="hashed")."""
        if self.visibility.params != "hashed":
            return None
        if self._commitment is None:
            with tempfile.TemporaryDirectory(prefix="labkit-zk-") as tmp:
                wit = self.witness(np.zeros(self.input_shape), Path(tmp))
            self._commitment = ",".join(wit["processed_params"]["poseidon_hash"])
        return self._commitment

    def rebound(self, model: Any, onnx_bytes: bytes, circuit: Circuit) -> ZKModel:
        """A copy proving with ``model`` (its ONNX bytes) on ``circuit``, sharing this model's shapes and visibility.

        Used by :func:`labkit.zk.provenance.swap_weights`: same architecture and keys, other
        weights; the copy computes its own parameter commitment.
        """
        other = copy.copy(self)
        other.model = model.eval()
        other.onnx = onnx_bytes
        other.circuit = circuit
        other.timings = {}
        other._commitment = None
        other._evaluator = None
        return other

    def __repr__(self) -> str:
        dev = " [development setup: not for production]" if self.development_setup else ""
        return f"ZKModel(input {self.input_shape}, visibility {self.visibility.as_dict()}, logrows {self.logrows}){dev}"
