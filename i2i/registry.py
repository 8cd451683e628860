"""Name -> builder registries, so configs can say `name: unet_256` without import magic."""
from __future__ import annotations

import functools
import inspect
from typing import Callable

from .errors import UserError


def _with_presets(fn: Callable, presets: dict) -> Callable:
    """fn with some keyword defaults replaced, keeping a real signature."""
    sig = inspect.signature(fn)
    unknown = [k for k in presets if k not in sig.parameters]
    if unknown:
        raise TypeError(f"{fn.__name__}() has no parameter {unknown[0]!r} to preset")

    @functools.wraps(fn)
    def builder(**kw):
        return fn(**{**presets, **kw})
    builder.__signature__ = sig.replace(parameters=[
        p if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        else p.replace(kind=p.KEYWORD_ONLY, default=presets.get(p.name, p.default))
        for p in sig.parameters.values()])
    return builder


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Callable] = {}

    def register(self, name: str, **preset_kwargs):
        """Decorator; `preset_kwargs` let one builder serve several names (unet_128, unet_256).
        The name then maps to a wrapper whose signature is the builder's own with those
        defaults filled in (keyword-only), so `inspect.signature` still tells which
        parameters it takes (nn/build.py checks config keys against it)."""
        def deco(fn):
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._items[name] = _with_presets(fn, preset_kwargs) if preset_kwargs else fn
            return fn
        return deco

    def get(self, name: str) -> Callable:
        if name not in self._items:
            raise UserError(f"unknown {self.kind} '{name}'; known: {', '.join(sorted(self._items))}")
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items


GENERATORS = Registry("generator")
DISCRIMINATORS = Registry("discriminator")
PIPELINES = Registry("pipeline")
