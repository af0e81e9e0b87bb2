"""Small name -> factory registries for backends (targets, generators, proposers).

A spec string selects a backend: ``"name"`` or ``"family:argument"`` (e.g. ``"hf:meta-llama/..."``,
``"torchvision:resnet50"``). Factories take the argument (or ``None``) plus keyword options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from line_core.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered backend: its factory and a one-line description."""

    name: str
    factory: Callable[..., T]
    description: str
    takes_argument: bool


class Registry(Generic[T]):
    """A registry of backends of one kind, looked up by spec string."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self, name: str, description: str = "", *, takes_argument: bool = False
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory(argument, **options)`` under ``name``."""

        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            doc = description or (factory.__doc__ or "").strip().splitlines()[0:1]
            text = doc if isinstance(doc, str) else (doc[0] if doc else "")
            self._entries[name] = Entry(name, factory, text, takes_argument)
            return factory

        return decorator

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._entries)

    def entries(self) -> list[Entry[T]]:
        """Registered entries in registration order."""
        return list(self._entries.values())

    def split(self, spec: str) -> tuple[Entry[T], str | None]:
        """Resolve a spec to its entry and argument; raise ConfigError if unknown."""
        spec = spec.strip()
        if spec in self._entries and not self._entries[spec].takes_argument:
            return self._entries[spec], None
        family, sep, argument = spec.partition(":")
        entry = self._entries.get(family)
        if sep and entry is not None and entry.takes_argument:
            if not argument:
                raise ConfigError(f"{self.kind} spec '{spec}' needs an argument after '{family}:'")
            return entry, argument
        if entry is not None and entry.takes_argument:
            raise ConfigError(f"{self.kind} '{family}' needs an argument: use '{family}:NAME'")
        raise ConfigError(
            f"unknown {self.kind} '{spec}'; choose one of: {', '.join(self.describe_names())}"
        )

    def describe_names(self) -> list[str]:
        """Names as a user types them (families shown as ``family:NAME``)."""
        return [e.name + (":NAME" if e.takes_argument else "") for e in self._entries.values()]

    def create(self, spec: str, **options: Any) -> T:
        """Build the backend a spec names."""
        entry, argument = self.split(spec)
        if entry.takes_argument:
            return entry.factory(argument, **options)
        return entry.factory(**options)
