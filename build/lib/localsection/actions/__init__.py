"""The API actions: one module per domain, each action a thin adapter over `localsection.domain`."""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Import every action module so their @action decorators fill the registry (idempotent)."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
