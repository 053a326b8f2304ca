"""Gradient inversion: attacks on federated gradients, and the defenses that stop them.

- :func:`attack` (``dlg``, ``idlg``, ``ig``) rebuilds images from a shared gradient;
- :func:`recover_labels` reads a batch's labels off the classifier head's gradient;
- :mod:`~labkit.inversion.metrics`: PSNR, SSIM, label accuracy, optimal matching;
- :mod:`~labkit.inversion.defenses`: client-side gradient defenses;
- :func:`run_scenario` plays one federated round with an honest-but-curious
  server and scores what it recovers; :func:`sweep` maps the privacy-utility
  frontier; :func:`benchmark` is ``labkit bench inversion``;
- :mod:`~labkit.inversion.technique` declares the technique (its claims, chart
  points and ``labkit doctor`` check);
- :mod:`~labkit.inversion.assess` is its door for a user's workload
  (``labkit assess``): the attacks on the user's own model and samples
  (:mod:`~labkit.inversion.exposure`), the cheapest defense that stops them
  and its price (:mod:`~labkit.inversion.protect`).

Importing this package does not import torch.

References
----------
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019.
Zhao, Mopuri & Bilen, "iDLG: Improved Deep Leakage from Gradients", 2020.
Geiping et al., "Inverting Gradients", NeurIPS 2020.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "ATTACKS": "attacks",
    "attack": "attacks",
    "check_gradients": "attacks",
    "recover_labels": "labels",
    "psnr": "metrics",
    "ssim": "metrics",
    "match": "metrics",
    "label_accuracy": "metrics",
    "DEFENSES": "defenses",
    "make_defense": "defenses",
    "run_scenario": "scenario",
    "Images": "scenario",
    "defense_utility": "scenario",
    "sweep": "sweep",
    "rows": "sweep",
    "benchmark": "benchmark",
    "TECHNIQUE": "technique",
}
_SUBMODULES = {
    *("assess", "attacks", "benchmark", "defenses", "exposure", "labels", "metrics", "protect", "readout"),
    *("scenario", "sweep", "technique"),
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, _SUBMODULES)
