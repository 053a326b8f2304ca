"""Load a plotly FigureWidget's front end when the chart is first drawn, not when its model is created.

Why: plotly ships its FigureWidget front end (all of plotly.js, about 5 MB)
as the anywidget module of every figure. anywidget (0.11) gives a model 2 s
from its creation in the page to import that module and run its
``initialize``; past that it rejects the model's ``ready`` promise for good,
and every later message from the kernel to that model is dropped (the page
reports ``[anywidget] Failed to initialize model.``). The chart is still
drawn from the state the page loaded, so it looks fine, but no update ever
reaches it while the widgets around it (HTML, buttons) keep updating. A page
with several figures on a busy machine (Voila loading the whole app at once)
misses the 2 s window now and then.

:func:`defer_front_end` swaps the figure's anywidget module for a small
loader that initializes at once and imports plotly's module (shipped in a
separate synced trait, evaluated once per page for all figures) at the first
render, where no deadline applies. Python-side behaviour is unchanged: the
figure is the same FigureWidget, and its updates travel as before.

References
----------
.. [1] anywidget, the model runtime's 2 s initialization timeout,
   https://github.com/manzt/anywidget/pull/828
.. [2] plotly.py, ``plotly/basewidget.py`` (FigureWidget built on anywidget, plotly 6+).
"""

from __future__ import annotations

import functools
import hashlib

LOADER_ESM = """\
// labkit: plotly's FigureWidget front end, imported at the first render (see labkit/widgets/figure.py).
const CACHE = "__labkit_plotly_front_end";

function frontEnd(model) {
  const cache = (globalThis[CACHE] ??= new Map());
  const key = model.get("_labkit_plotly_key");
  if (!cache.has(key)) {
    const blob = new Blob([model.get("_labkit_plotly_esm")], { type: "text/javascript" });
    const url = URL.createObjectURL(blob);
    cache.set(key, import(url).finally(() => URL.revokeObjectURL(url)));
  }
  return cache.get(key);
}

export default () => {
  let context; // what anywidget passed to initialize: plotly's model wrapper is built on it
  let figure; // plotly's widget definition for this model, once loaded and initialized
  return {
    initialize(ctx) {
      context = ctx;
    },
    async render(ctx) {
      figure ??= frontEnd(context.model).then(async (mod) => {
        const def = typeof mod.default === "function" ? await mod.default() : mod.default;
        await def.initialize?.(context);
        return def;
      });
      return (await figure).render(ctx);
    },
  };
};
"""


@functools.lru_cache(maxsize=4)
def _key(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def defer_front_end(fig):
    """Make ``fig`` (a plotly FigureWidget) import plotly's front end at its first render; returns ``fig``.

    Call it before the figure is shown (a page that already shows it keeps
    its loaded module). Calling it again does nothing.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> fig = defer_front_end(go.FigureWidget())
    >>> fig._esm == LOADER_ESM and len(fig._labkit_plotly_esm) > 1_000_000
    True
    """
    import traitlets

    if fig.has_trait("_labkit_plotly_esm"):
        return fig
    source = str(fig._esm)
    # The module travels first: a page that applies the loader finds it already in the state.
    fig.add_traits(
        _labkit_plotly_esm=traitlets.Unicode(source).tag(sync=True),
        _labkit_plotly_key=traitlets.Unicode(_key(source)).tag(sync=True),
    )
    fig._esm = LOADER_ESM
    return fig


def figure_widget(*args, **kwargs):
    """``plotly.graph_objects.FigureWidget(*args, **kwargs)`` with :func:`defer_front_end` applied.

    Every lab widget makes its chart with this, so a notebook on a busy machine (a
    workshop, Binder) gets charts that keep updating, as the Voila app does.
    """
    import plotly.graph_objects as go

    return defer_front_end(go.FigureWidget(*args, **kwargs))
