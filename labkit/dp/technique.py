"""Differential privacy in the technique registry: identity, the published anchor, readings, chart points, doctor.

Importing this module is cheap: torch and Opacus load only when a door is called.

References
----------
Abadi et al., "Deep learning with differential privacy", CCS 2016.
Yousefpour et al., "Opacus: user-friendly differential privacy library in PyTorch", 2021 (arXiv:2109.12298).
"""

from __future__ import annotations

from .. import overview, report
from ..claims import Claim
from ..results import Result, ResultStore
from ..techniques import Check, Technique

#: Opacus MNIST on CPU: a DP-SGD epoch takes about this many times a non-private one.
PUBLISHED_EPOCH_RATIO = 1.6
#: A measured epoch ratio within this factor of the published one is "similar" to it.
SIMILAR_FACTOR = 1.25

ANCHORS = (
    "Opacus MNIST (CPU): DP epoch ~1.6x a non-DP epoch",
    "Opacus MNIST: 98.94% non-private, 96.78% at eps=2.91, 94.63% at eps=1.16 (delta 1e-5)",
)

#: No guide claim for DP: the published epoch-time ratio, and the band in which a measurement is "similar" to it.
EPOCH_RATIO = Claim(
    "published anchor (no guide claim): Opacus MNIST on CPU, a DP epoch ~1.6x a non-DP one",
    PUBLISHED_EPOCH_RATIO / SIMILAR_FACTOR,
    PUBLISHED_EPOCH_RATIO * SIMILAR_FACTOR,
    source="Yousefpour et al. 2021 (Opacus)",
    unit="time ratio of a DP-SGD epoch to a non-private one",
)


def readings(store: ResultStore) -> list[report.Reading]:
    """The DP/non-DP epoch time ratio of ``labkit bench dp`` beside Opacus's published ~1.6x (a comparison)."""
    t = TECHNIQUE
    claim, anchors = t.further_claims["dp.anchor"]
    r = store.latest("dp", "benchmark")
    if r is None or "overhead" not in r.metrics:
        return [report.missing("dp.anchor", claim, "dp", t.lab, anchors, "DP-SGD epsilon sweep on digits")]
    eps = r.params.get("epsilons") or []
    setting = f"DP-SGD on digits, median over {len(eps)} epsilon targets"
    out = report.comparison(
        "dp.anchor",
        claim.text,
        r,
        setting,
        r.metrics["overhead"],
        PUBLISHED_EPOCH_RATIO,
        bench="dp",
        lab=t.lab,
        anchors=anchors,
    )
    out.spread = "min-max"
    return [out]


def points(results: list[Result]) -> list[overview.Point]:
    """One point per ``train_private`` Result: the DP-SGD epoch against the non-private one, same run."""
    out = []
    for r in results:
        if r.name != "train_private" or "overhead" not in r.metrics:
            continue
        m = r.metrics
        extra = f"accuracy {m.get('accuracy', float('nan')):.3g}"
        if "attack_auc" in m and "baseline_attack_auc" in m:
            extra += f"; membership attack AUC {m['baseline_attack_auc']:.3g} -> {m['attack_auc']:.3g}"
        eps = m.get("epsilon", r.params.get("target_epsilon"))
        label = "DP-SGD epoch vs non-private" + (f", epsilon {eps:.3g}" if isinstance(eps, (int, float)) else "")
        out.append(overview.point(r, label, "overhead", extra=extra))
    return out


def smoke_opacus() -> str:
    """One DP-SGD epoch of a linear model through Opacus, and the epsilon its accountant spent.

    Returns
    -------
    str
        One line for ``labkit doctor``; raises when the accountant's epsilon is not plausible.
    """
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


TECHNIQUE = Technique(
    key="dp",
    title="Differential privacy (DP-SGD, Opacus)",
    data_state="output",
    protects="the trained model reveals little about any one training record (bounded by epsilon, delta)",
    adversary="membership-inference attacker with the model",
    notebooks=("06_dp_tradeoffs",),
    protection="attack success prevented",
    best_use="training on personal data whose model is shared or published",
    color="#e7298a",
    claim=None,
    anchors=ANCHORS,
    further_claims={"dp.anchor": (EPOCH_RATIO, ANCHORS)},
    bench_title="DP-SGD epsilon sweep and audit",
    checks=(Check("Opacus", "one DP-SGD epoch and epsilon", ("opacus", "torch"), "labkit.dp.technique:smoke_opacus"),),
    benchmark="labkit.dp.benchmark:benchmark",
    support="labkit.dp.assess:support",
    assess="labkit.dp.assess:assess",
    readings=readings,
    points=points,
)
