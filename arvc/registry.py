"""A tiny registry for pluggable families (F0 methods, embedders, optimizers, vocoders...)."""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from arvc.errors import ArvcError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects; ``get`` of an unknown name raises an error listing the choices.

    Names are matched case-insensitively; aliases resolve to the same entry.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._canonical: dict[str, str] = {}

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            self.add(name, obj, *aliases)
            return obj

        return deco

    def add(self, name: str, obj: T, *aliases: str) -> None:
        key = name.lower()
        if key in self._canonical:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        self._canonical[key] = name
        for alias in aliases:
            self._canonical[alias.lower()] = name

    def resolve(self, name: str) -> str:
        """Canonical name for ``name`` (or an alias); ArvcError listing the choices if unknown."""
        try:
            return self._canonical[name.lower()]
        except KeyError:
            raise ArvcError(
                f"unknown {self.kind} {name!r}; choices: {', '.join(self.names())}"
            ) from None

    def get(self, name: str) -> T:
        return self._items[self.resolve(name)]

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._canonical

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
