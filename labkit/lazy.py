"""Lazy attributes for labkit's packages: ``import labkit.he`` stays cheap.

Each lab package lists the names it exports and the module each lives in;
the first access imports that module (and so the heavy backend behind it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable


def lazy_exports(
    package: str, exports: dict[str, str | tuple[str, str]], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``.

    ``exports`` maps a public name to the submodule defining it (``"api"``),
    or to ``(submodule, attribute)`` when the names differ; ``submodules``
    are reachable as attributes too.
    """
    subs = set(submodules)

    def __getattr__(name: str):
        if name in exports:
            target = exports[name]
            module, attr = target if isinstance(target, tuple) else (target, name)
            return getattr(importlib.import_module(f"{package}.{module.lstrip('.')}"), attr)
        if name in subs:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(exports) | subs)

    return __getattr__, __dir__
