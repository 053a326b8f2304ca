"""Which backends work on this machine, their versions, and why not.

``labkit doctor`` runs one real operation per backend, each in its own
subprocess (so a crashing native library or a hang cannot take the report
down with it), and prints a table. It exits non-zero when a required
backend fails. OpenFHE is required only on Python 3.10: its PyPI wheels
carry a CPython 3.10 binary only (DESIGN.md section 6).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Check:
    name: str
    operation: str
    distributions: tuple[str, ...]
    required: bool = True


@dataclass(frozen=True)
class Outcome:
    name: str
    operation: str
    version: str
    required: bool
    ok: bool
    seconds: float
    detail: str  # what the smoke operation produced, or why it failed


def _version(dists: Iterable[str]) -> str:
    parts = []
    for dist in dists:
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


# -- smoke operations: each does real work, returns a short detail, raises on failure --
def _smoke_seal() -> str:
    import tenseal as ts

    ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=8192, coeff_mod_bit_sizes=[60, 40, 40, 60])
    ctx.global_scale = 2**40
    ctx.generate_relin_keys()
    x, y = [1.5, -2.0, 3.25], [2.0, 0.5, -1.0]
    got = (ts.ckks_vector(ctx, x) * ts.ckks_vector(ctx, y) + 1.0).decrypt()
    want = [a * b + 1.0 for a, b in zip(x, y)]
    err = max(abs(g - w) for g, w in zip(got, want))
    if err > 1e-3:
        raise RuntimeError(f"CKKS x*y+1 decrypted with error {err:.2e}")
    return f"CKKS N=8192 encrypt, multiply, add, decrypt: max error {err:.1e}"


def _smoke_openfhe() -> str:
    if sys.version_info[:2] != (3, 10):
        raise RuntimeError(
            f"Python {sys.version_info.major}.{sys.version_info.minor}: OpenFHE's PyPI wheels carry a "
            "CPython 3.10 binary only; run the lab on Python 3.10 to use it"
        )
    import openfhe as fhe

    params = fhe.CCParamsCKKSRNS()
    params.SetMultiplicativeDepth(1)
    params.SetScalingModSize(50)
    params.SetBatchSize(8)
    cc = fhe.GenCryptoContext(params)
    for feature in (fhe.PKESchemeFeature.PKE, fhe.PKESchemeFeature.KEYSWITCH, fhe.PKESchemeFeature.LEVELEDSHE):
        cc.Enable(feature)
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    x, y = [1.5, -2.0, 3.25], [2.0, 0.5, -1.0]
    cx = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(x))
    cy = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(y))
    pt = cc.Decrypt(cc.EvalMult(cx, cy), keys.secretKey)
    pt.SetLength(len(x))
    got = pt.GetRealPackedValue()
    err = max(abs(g - a * b) for g, a, b in zip(got, x, y))
    if err > 1e-3:
        raise RuntimeError(f"CKKS x*y decrypted with error {err:.2e}")
    return f"CKKS ring {cc.GetRingDimension()} encrypt, multiply, decrypt: max error {err:.1e}"


def _smoke_crypten() -> str:
    from labkit.mpc import _crypten

    total = _crypten.smoke_add(parties=2)
    if abs(total - 11.0) > 1e-2:
        raise RuntimeError(f"2-party secret-shared sum gave {total}, expected 11.0")
    return f"2 parties (processes, TCP loopback) add secret shares: sum {total:.4f}"


def _tiny_onnx(path: Path) -> None:
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


def _smoke_ezkl() -> str:
    import ezkl

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _tiny_onnx(d / "m.onnx")
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


def _smoke_opacus() -> str:
    import torch
    from opacus import PrivacyEngine

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    data = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,)))
    loader = torch.utils.data.DataLoader(data, batch_size=16)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    engine = PrivacyEngine()
    model, optimizer, loader = engine.make_private(
        module=model, optimizer=optimizer, data_loader=loader, noise_multiplier=1.0, max_grad_norm=1.0
    )
    for x, y in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    eps = engine.get_epsilon(delta=1e-5)
    if not 0 < eps < 100:
        raise RuntimeError(f"accountant returned epsilon {eps}")
    return f"DP-SGD epoch on a linear model (noise 1.0, clip 1.0): epsilon {eps:.2f} at delta 1e-5"


def _smoke_pqc_primitives() -> str:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem

    kem = mlkem.MLKEM768PrivateKey.generate()
    shared, ciphertext = kem.public_key().encapsulate()
    if kem.decapsulate(ciphertext) != shared:
        raise RuntimeError("ML-KEM-768 decapsulation gave another shared secret")
    signer = mldsa.MLDSA65PrivateKey.generate()
    sig = signer.sign(b"labkit doctor")
    signer.public_key().verify(sig, b"labkit doctor")
    try:
        signer.public_key().verify(sig, b"labkit doctoR")
    except InvalidSignature:
        pass
    else:
        raise RuntimeError("ML-DSA-65 accepted a signature over another message")
    return f"ML-KEM-768 encaps/decaps ({len(ciphertext)} B ciphertext); ML-DSA-65 sign/verify, forgery refused"


def _smoke_tls() -> str:
    from labkit import pqc

    hs = pqc.handshake(group="X25519MLKEM768")
    group = getattr(hs, "group", None) or hs.artifacts.get("group")
    if group != "X25519MLKEM768":
        raise RuntimeError(f"negotiated {group!r} instead of X25519MLKEM768")
    return f"TLS 1.3 on 127.0.0.1 negotiated {group}"


def _smoke_widgets() -> str:
    import plotly.graph_objects as go

    fig = go.FigureWidget(data=[go.Bar(y=[1, 2, 3])])
    with fig.batch_update():
        fig.data[0].y = [3, 2, 1]
    if list(fig.data[0].y) != [3, 2, 1]:
        raise RuntimeError("FigureWidget did not take the update")
    return "plotly FigureWidget built and updated (anywidget front end)"


def _smoke_jupyter() -> str:
    import jupyterlab_jupytext
    import jupytext

    nb = jupytext.reads("# %% [markdown]\n# Title\n\n# %%\nx = 1\n", fmt="py:percent")
    kinds = [c.cell_type for c in nb.cells]
    if kinds != ["markdown", "code"]:
        raise RuntimeError(f"jupytext read cells {kinds}")
    if not callable(getattr(jupyterlab_jupytext, "load_jupyter_server_extension", None)):
        raise RuntimeError("jupytext's server extension (jupyterlab_jupytext) is missing")
    return "jupytext reads a percent-format notebook; its JupyterLab server extension is installed"


CHECKS: tuple[Check, ...] = (
    Check("TenSEAL (SEAL)", "CKKS encrypt-multiply-decrypt", ("tenseal",)),
    Check("OpenFHE", "CKKS encrypt-multiply-decrypt", ("openfhe",), required=sys.version_info[:2] == (3, 10)),
    Check("CrypTen", "2-party secret-shared add", ("crypten", "torch")),
    Check("ezkl", "circuit compile, witness and mock", ("ezkl", "onnx")),
    Check("Opacus", "one DP-SGD epoch and epsilon", ("opacus", "torch")),
    Check("cryptography ML-KEM/ML-DSA", "ML-KEM-768 and ML-DSA-65 round trips", ("cryptography",)),
    Check("pyOpenSSL X25519MLKEM768", "hybrid TLS 1.3 handshake on loopback", ("pyopenssl", "cryptography")),
    Check("plotly + anywidget", "FigureWidget update", ("plotly", "anywidget", "ipywidgets")),
    Check("JupyterLab + jupytext", "read a .py notebook", ("jupyterlab", "jupytext")),
)

_SMOKES: dict[str, Callable[[], str]] = dict(
    zip(
        (c.name for c in CHECKS),
        (
            _smoke_seal,
            _smoke_openfhe,
            _smoke_crypten,
            _smoke_ezkl,
            _smoke_opacus,
            _smoke_pqc_primitives,
            _smoke_tls,
            _smoke_widgets,
            _smoke_jupyter,
        ),
    )
)


def _run_in_process(name: str) -> tuple[bool, str]:
    try:
        return True, _SMOKES[name]()
    except Exception as exc:  # report any failure as a reason, never a traceback
        return False, f"{type(exc).__name__}: {exc}".strip()


def run_check(check: Check, *, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """Run one check in a fresh interpreter; a crash or hang becomes a reason."""
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "labkit.doctor", "--one", check.name]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if lines:
            payload = json.loads(lines[-1])
            ok, detail = payload["ok"], payload["detail"]
        else:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            ok, detail = False, f"process exited with code {proc.returncode}: {tail}"
    except subprocess.TimeoutExpired:
        ok, detail = False, f"no answer within {timeout:.0f} s"
    return Outcome(
        check.name,
        check.operation,
        _version(check.distributions),
        check.required,
        ok,
        time.perf_counter() - start,
        detail,
    )


def run(names: Iterable[str] | None = None, *, workers: int = 2, timeout: float = DEFAULT_TIMEOUT) -> list[Outcome]:
    """Run the checks (all, or those named) two at a time; outcomes in table order."""
    wanted = list(CHECKS) if names is None else [c for c in CHECKS if c.name in set(names)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda c: run_check(c, timeout=timeout), wanted))


def healthy(outcomes: Iterable[Outcome]) -> bool:
    """True when every required backend passed."""
    return all(o.ok or not o.required for o in outcomes)


def table(outcomes: Iterable[Outcome]) -> str:
    """A plain-text table for the terminal."""
    rows = [("backend", "version", "status", "time", "what it did / why not")]
    for o in outcomes:
        status = "ok" if o.ok else ("FAIL" if o.required else "unavailable")
        rows.append((o.name, o.version, status, f"{o.seconds:.1f} s", o.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    lines.insert(1, "-" * min(160, len(lines[0])))
    return "\n".join(lines)


def html_table(outcomes: Iterable[Outcome]) -> str:
    """The same table as HTML, for notebook 00."""
    import html

    body = "".join(
        f"<tr><td>{html.escape(o.name)}</td><td>{html.escape(o.version)}</td>"
        f"<td style='color:{'#1b5e20' if o.ok else '#b00020'}'>{'ok' if o.ok else 'not working'}</td>"
        f"<td>{o.seconds:.1f} s</td><td>{html.escape(o.detail)}</td></tr>"
        for o in outcomes
    )
    return (
        "<table><tr><th>backend</th><th>version</th><th>status</th><th>time</th>"
        f"<th>what it did / why not</th></tr>{body}</table>"
    )


def as_json(outcomes: Iterable[Outcome]) -> str:
    return json.dumps([asdict(o) for o in outcomes], indent=2)


if __name__ == "__main__":  # used by run_check: python -m labkit.doctor --one NAME
    if len(sys.argv) == 3 and sys.argv[1] == "--one" and sys.argv[2] in _SMOKES:
        ok, detail = _run_in_process(sys.argv[2])
        print(json.dumps({"ok": ok, "detail": detail}))
        sys.exit(0)
    sys.exit("usage: python -m labkit.doctor --one NAME (use `labkit doctor` for the table)")
