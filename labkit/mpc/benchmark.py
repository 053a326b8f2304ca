"""The MPC benchmark behind ``labkit bench mpc``: both models, 2 and 3 parties.

:func:`benchmark` is the one entry (the registry's ``Technique.run_benchmark``
stores what it returns); :func:`rows` and :func:`closing_note` lay its Results
out for notebook 05.

For each model (the digits MLP and the breast-cancer logistic regression)
and each party count it runs :func:`labkit.mpc.private_inference` on a batch
of the test split and reports rounds, bytes, online time and the overhead
against plaintext measured in the same run, next to CrypTen's published
2-party figures (:data:`labkit.mpc.technique.PUBLISHED`). Points already in the ResultStore
(same parameters) are reused, so an interrupted sweep resumes.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984), and CrypTen's benchmark suite:
logistic regression inference 0.11 -> 61 ms (~560x), 3-layer MLP inference
2.3 -> 264 ms (~115x), 2 parties on CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import config, datasets
from ..bench import format_ratio, format_seconds
from ..results import Result, ResultStore
from . import inference, models
from .technique import PUBLISHED

BENCH_MODELS = ("digits_mlp", "breast_cancer_logreg")


def benchmark(
    *,
    store: ResultStore,
    progress: bool = False,
    model_names: Sequence[str] = BENCH_MODELS,
    parties: Sequence[int] = (2, 3),
    n: int | None = None,
) -> list[Result]:
    """Run (or reuse from ``store``) every model x party-count point; return the Results.

    Parameters
    ----------
    store : ResultStore
        Each new point is stored as soon as it is measured, so an interrupted sweep resumes.
    progress : bool
        Show a progress bar.
    model_names, parties : sequence
        The sweep (default: both models, 2 and 3 parties).
    n : int, optional
        Test samples per private inference (default 100, 50 in fast mode).

    Returns
    -------
    list of Result
        One ``<model>_inference`` Result per point.
    """
    n = config.pick(100, 50) if n is None else n
    repeat = config.pick(5, 3)
    fast = config.fast()
    points = [(m, p) for m in model_names for p in parties]
    from tqdm.auto import tqdm

    results = []
    for name, p in tqdm(points, desc="mpc bench", disable=not progress):
        model = models.load(name)
        ds = datasets.load(model.dataset)
        params = inference.run_params(
            model.name, n=n, parties=p, reveal="logits", provider="TTP", repeat=repeat, fast=fast
        )
        found = store.latest("mpc", f"{name}_inference", params)
        if found is None:
            found = inference.private_inference(
                model, ds.X_test[:n], labels=ds.y_test[:n], parties=p, repeat=repeat
            ).result
            store.add(found)
        results.append(found)
    return results


def rows(results: Sequence[Result]) -> list[dict[str, object]]:
    """One plain dict per Result: the columns of the benchmark table."""
    out = []
    for r in results:
        m = r.metrics
        out.append(
            {
                "model": r.params["model"],
                "parties": r.params["parties"],
                "n": r.params["n"],
                "rounds": int(m["rounds"]),
                "MB (busiest party)": m["bytes_max_party"] / 1e6,
                "MPC s (median)": m["compute_seconds"],
                "plaintext s": r.timings["overhead.baseline"].median,
                "overhead": m.get("overhead", float("nan")),
                "agreement": m["agreement"],
                "LAN s (modelled)": m["latency_lan_s"],
                "WAN s (modelled)": m["latency_wan_s"],
            }
        )
    return out


def closing_note(results: Sequence[Result]) -> str:
    """Plain-text summary quoting our numbers next to CrypTen's published 2-party figures."""
    lines = []
    for r in results:
        m, p = r.metrics, r.params
        per_sample = m["compute_seconds"] / p["n"]
        lines.append(
            f"{p['model']}, {p['parties']} parties, batch {p['n']}: {int(m['rounds'])} rounds, "
            f"{m['bytes_max_party'] / 1e6:.2f} MB for the busiest party, online {format_seconds(m['compute_seconds'])} "
            f"({format_seconds(per_sample)} per sample), overhead {format_ratio(m['overhead'])} vs plaintext "
            f"in the same run; modelled LAN {format_seconds(m['latency_lan_s'])}, WAN {format_seconds(m['latency_wan_s'])}."
        )
    for name, (label, plain_ms, mpc_ms) in PUBLISHED.items():
        ours = [r for r in results if r.params["model"] == name and r.params["parties"] == 2]
        if ours:
            lines.append(
                f"CrypTen published (2 parties, CPU) {label} inference {plain_ms} -> {mpc_ms} ms "
                f"(~{mpc_ms / plain_ms:.0f}x); ours: {format_ratio(ours[0].metrics['overhead'])} for {name}."
            )
    return "\n".join(lines)
