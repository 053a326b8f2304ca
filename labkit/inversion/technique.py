"""Defenses against gradient inversion in the technique registry: identity, claims, chart points, doctor check.

The claims of the DLG and iDLG papers are declared here and checked in
notebook 03 with :func:`labkit.report.verdict`; ``labkit report`` reads no
inversion claim from the store (the CKKS secure-aggregation ratios of
``inversion/scenario`` Results are readings of the HE claim). Importing this
module is cheap: torch loads only when a door is called.

References
----------
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019.
Zhao, Mopuri & Bilen, "iDLG: Improved Deep Leakage from Gradients", arXiv:2001.02610, 2020.
Geiping et al., "Inverting Gradients", NeurIPS 2020.
"""

from __future__ import annotations

from .. import overview, report
from ..claims import Claim
from ..results import Result, ResultStore
from ..techniques import Check, Technique

#: An attack whose (median) PSNR is below this many dB is stopped: the lab's threshold everywhere.
THRESHOLD_DB = 12.0

DLG = "Zhu, Liu & Han 2019 (DLG)"
ANCHORS = (
    "DLG (2019): batch-1 reconstructions from gradients; pruning >~20% or noise variance >=1e-2 stops it",
    "breaching DLG ConvNet CIFAR-10 batch 1: PSNR 23.4 dB",
)

FURTHER_CLAIMS = {
    "inversion.reconstruction": (
        Claim(
            "gradient inversion reconstructs training data from shared gradients (practitioner guide)",
            20.0,
            100.0,
            source="practitioner guide (2025); breaching: DLG ConvNet CIFAR-10 batch 1, 23.4 dB",
            unit="attack PSNR at batch 1 (dB; 100 is an exact copy)",
        ),
        (ANCHORS[1],),
    ),
    "inversion.labels": (
        Claim(
            "iDLG label recovery always succeeds at batch 1 (Zhao et al. 2020)",
            1.0,
            1.0,
            source="Zhao, Mopuri & Bilen 2020 (iDLG)",
            unit="fraction of labels recovered",
        ),
        ("iDLG (2020): the label of a single image is read off the sign of the last layer's bias gradient",),
    ),
    "inversion.noise": (
        Claim(
            "noise of variance >= 1e-2 (sigma >= 0.1) stops the attack (DLG paper)",
            0.0,
            0.1,
            source=DLG,
            unit=f"smallest Gaussian noise sigma that brings the attack below {THRESHOLD_DB:g} dB",
        ),
        (ANCHORS[0],),
    ),
    "inversion.pruning": (
        Claim(
            "pruning above ~20% stops the attack (DLG paper)",
            0.0,
            0.2,
            source=DLG,
            unit=f"smallest pruned fraction that brings the attack below {THRESHOLD_DB:g} dB",
        ),
        (ANCHORS[0],),
    ),
}


def stopped(psnr: float) -> bool:
    """True when an attack's PSNR (dB) is below :data:`THRESHOLD_DB`: the reconstruction no longer shows the image.

    >>> stopped(9.5), stopped(30.0)
    (True, False)
    """
    return psnr < THRESHOLD_DB


def readings(store: ResultStore) -> list[report.Reading]:
    """None: the inversion claims are checked in notebook 03, not from the store (see the module docstring)."""
    return []


def points(results: list[Result]) -> list[overview.Point]:
    """Secure aggregation of the clients' updates (an ``inversion/scenario`` with an aggregator) against a plain sum."""
    out = []
    for r in results:
        if r.name != "scenario" or "aggregation_overhead" not in r.metrics:
            continue
        extra = f"attack PSNR {r.metrics['psnr']:.3g} dB" if "psnr" in r.metrics else ""
        label = (
            f"secure aggregation ({r.params.get('secure_aggregator')}) vs plain sum, "
            f"{r.params.get('n_clients')} clients"
        )
        out.append(overview.point(r, label, "aggregation_overhead", extra=extra))
    return out


def smoke_inversion() -> str:
    """One gradient of the lab's small digits model, and iDLG recovering the label from it.

    Returns
    -------
    str
        One line for ``labkit doctor``; raises when the label recovered is not the true one.
    """
    import torch

    from ..fl.hooks import batch_gradients
    from ..fl.models import make_model
    from .attacks import attack

    model = make_model("mlp", input_shape=(1, 8, 8), n_classes=10, rng=0)
    x = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    grads = batch_gradients(model, x, torch.tensor([3]))
    out = attack("idlg", model=model, gradients=grads, input_shape=(1, 8, 8), iterations=1, rng=0)
    found = out.result.artifacts["recovered_labels"]
    if found != [3]:
        raise RuntimeError(f"iDLG recovered label {found} from the gradient of an image labelled 3")
    return f"gradient of a {sum(p.numel() for p in model.parameters())}-parameter MLP; iDLG recovered its label (3)"


TECHNIQUE = Technique(
    key="inversion",
    title="Defenses against gradient inversion (federated learning)",
    data_state="in use",
    protects="shared gradients no longer let the server reconstruct training images",
    adversary="honest-but-curious server",
    notebooks=("03_gradient_inversion",),
    protection="attack success prevented",
    best_use="federated learning on images or text",
    color="#a6761d",
    claim=None,
    anchors=ANCHORS,
    further_claims=FURTHER_CLAIMS,
    bench_title="gradient inversion vs defenses",
    checks=(
        Check(
            "PyTorch gradient inversion",
            "one gradient and an iDLG label recovery",
            ("torch",),
            "labkit.inversion.technique:smoke_inversion",
        ),
    ),
    benchmark="labkit.inversion.benchmark:benchmark",
    support="labkit.inversion.assess:support",
    assess="labkit.inversion.assess:assess",
    readings=readings,
    points=points,
)
