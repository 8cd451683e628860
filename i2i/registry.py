"""Name -> builder registries, so configs can say `name: unet_256` without import magic."""
from __future__ import annotations

from typing import Callable

from .errors import UserError


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Callable] = {}

    def register(self, name: str, **preset_kwargs):
        """Decorator; `preset_kwargs` let one builder serve several names (unet_128, unet_256)."""
        def deco(fn):
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._items[name] = (lambda **kw: fn(**{**preset_kwargs, **kw})) if preset_kwargs else fn
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
