"""Zero-knowledge proofs of inference in the technique registry: identity, claims, readings, chart points, doctor.

Importing this module is cheap: ezkl, onnx and torch load only when a door is called.

References
----------
ezkl documentation, https://docs.ezkl.xyz/ (the circuit compiler).
The Halo2 book, https://zcash.github.io/halo2/ (the proof system).
ZKML-Benchmark (ezkl, MLP 784-56-10: prove 2.66 s in "resources" mode).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from .. import overview, report
from ..claims import Claim
from ..results import Result, ResultStore
from ..techniques import Check, Technique

VERIFY = "zk.verify"


def readings(store: ResultStore) -> list[report.Reading]:
    """Prover time against plaintext inference, and verification time, from the newest ``zk/costs`` Results.

    Up to three models (newest per model and width); each gives a ``zk.prover``
    reading (the interleaved ratio, with the warm-plaintext ratio as a note) and a
    ``zk.verify`` reading in milliseconds.
    """
    t = TECHNIQUE
    v_claim, v_anchors = t.further_claims[VERIFY]
    found = report.latest_by(store.query("zk", "costs"), lambda r: (r.params.get("model"), r.params.get("width")))[:3]
    if not found:
        return [
            report.missing("zk.prover", t.claim, "zk", t.lab, t.anchors),
            report.missing(VERIFY, v_claim, "zk", t.lab, v_anchors),
        ]
    out = []
    for r in found:
        ratio = r.metrics["overhead"]
        warm = r.metrics.get("overhead_warm", ratio)
        what = f"{r.params.get('model', 'model')} (width {r.params.get('width', '?')}, logrows {r.metrics.get('logrows', 0):.0f})"
        low, high = report.iqr(r, "overhead")
        out.append(
            report.reading(
                "zk.prover",
                t.claim,
                r,
                f"ezkl prove, {what}",
                ratio,
                low=low,
                high=high,
                bench="zk",
                lab=t.lab,
                anchors=t.anchors,
                note=f"against warm plaintext inference: {report.fmt(warm)}x",
            )
        )
        out.append(
            report.reading(
                VERIFY,
                v_claim,
                r,
                f"ezkl verify, {what}",
                r.metrics["verify_ms"],
                unit="ms",
                bench="zk",
                lab=t.lab,
                anchors=v_anchors,
            )
        )
    return out


def points(results: list[Result]) -> list[overview.Point]:
    """One point per ``costs`` Result: the prover/plaintext ratio, with verify time and proof size in the hover."""
    out: list[overview.Point] = []
    for r in results:
        if r.name != "costs" or "overhead" not in r.metrics:
            continue
        extra = (
            f"verify {r.metrics.get('verify_ms', float('nan')):.3g} ms, proof {r.metrics.get('proof_bytes', 0):.0f} B"
        )
        label = f"ezkl prove, {r.params.get('model', '')} width {r.params.get('width', '?')}"
        out.append(overview.point(r, label, "overhead", extra=extra))
    return out


def tiny_onnx(path: Path) -> None:
    """Write a 4-2 Gemm+ReLU ONNX model with fixed weights to ``path`` (for :func:`smoke_ezkl`)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.array([[0.5, -0.25], [0.1, 0.2], [0.3, -0.4], [0.05, 0.6]], np.float32), "W")
    b = numpy_helper.from_array(np.array([0.1, -0.1], np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "doctor",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)


def smoke_ezkl() -> str:
    """``labkit doctor``: settings, circuit, witness and mock of a tiny ONNX model, outputs checked by hand.

    References
    ----------
    ezkl documentation, https://docs.ezkl.xyz/
    """
    import ezkl

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        tiny_onnx(d / "m.onnx")
        (d / "in.json").write_text(json.dumps({"input_data": [[0.5, 1.0, -0.5, 0.25]]}))
        ok = ezkl.gen_settings(str(d / "m.onnx"), str(d / "s.json"))
        ok = ok and ezkl.compile_circuit(str(d / "m.onnx"), str(d / "c.ezkl"), str(d / "s.json"))
        ezkl.gen_witness(str(d / "in.json"), str(d / "c.ezkl"), str(d / "w.json"))
        ok = ok and ezkl.mock(str(d / "w.json"), str(d / "c.ezkl"))
        outputs = json.loads((d / "w.json").read_text())["pretty_elements"]["rescaled_outputs"][0]
    got = [float(v) for v in outputs]
    want = [0.3125, 0.325]  # relu(x @ W + b), computed by hand
    err = max(abs(g - w) for g, w in zip(got, want))
    if not ok or err > 0.05:
        raise RuntimeError(f"ezkl circuit mock failed (ok={ok}, output error {err:.3f})")
    return f"ONNX Gemm+ReLU -> settings, circuit, witness, mock constraints satisfied (output error {err:.3f})"


TECHNIQUE = Technique(
    key="zk",
    title="Zero-knowledge proofs of inference (zk-SNARKs, ezkl)",
    data_state="output",
    protects="anyone can check that a committed model produced an output, without seeing private inputs or weights",
    adversary="dishonest prover (a model owner who swaps the model or the output)",
    notebooks=("04_zk_proofs",),
    protection="integrity of outputs",
    best_use="audit trails, model provenance",
    color="#d95f02",
    claim=Claim("prover 5x-50x slower; verification in milliseconds", 5.0, 50.0),
    anchors=(
        "ZKML-Benchmark: MLP 784-56-10 ezkl prove 2.66 s ('resources' mode)",
        "so against microsecond plaintext inference the ratio is ~10^3-10^6x",
    ),
    further_claims={
        VERIFY: (
            Claim("zk-SNARK verification in milliseconds", 0.0, 1000.0, unit="milliseconds per verification"),
            ("ZKML-Benchmark and ezkl: verification of a tiny MLP proof takes ~15 ms",),
        )
    },
    bench_title="ezkl proofs of inference",
    # The first four as before; then the build times and proving's share of the cold run, for a longer table.
    headline=(
        "prove_s",
        "verify_ms",
        "cached_speedup",
        "overhead",
        "cold_build_s",
        "cached_build_s",
        "cold_prove_share",
    ),
    checks=(
        Check(
            "ezkl",
            "circuit compile, witness and mock",
            ("ezkl", "onnx"),
            "labkit.zk.technique:smoke_ezkl",
            required=True,
        ),
    ),
    benchmark="labkit.zk.benchmark:benchmark",
    readings=readings,
    points=points,
    support="labkit.zk.assess:support",
    assess="labkit.zk.assess:assess",
)
