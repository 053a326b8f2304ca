"""Your model and your data: the workload every technique's ``assess`` door takes.

>>> from labkit.workload import Workload, examples
>>> w = examples.workload("digits_cnn")
>>> w.input_shape, w.n_outputs, [layer.kind for layer in w.program.layers]
((1, 8, 8), 10, ['conv', 'activation', 'reshape', 'linear'])

Modules: :mod:`.core` (the :class:`Workload`), :mod:`.onnxfile` (model files
as untrusted data, the torch export), :mod:`.data` (data files, checks,
split), :mod:`.graph` and :mod:`.layers` (the ONNX graph read as a
feed-forward program), :mod:`.ops` (one node into a layer), :mod:`.support`
(problems, the support answer, the memory budget), :mod:`.examples` (the
lab's demonstration workloads).
"""

from .core import Workload, labels_from
from .support import Problem, Support, default_budget_bytes

__all__ = ["Problem", "Support", "Workload", "default_budget_bytes", "labels_from"]
