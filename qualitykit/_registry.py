"""Name → class registries with third-party plugins through entry points.

Built-in codecs and metrics register themselves with :meth:`Registry.register` when
their module is imported; plugins are found through an entry-point group
(``qualitykit.codecs`` or ``qualitykit.metrics``) whose entries name a class::

    [project.entry-points."qualitykit.codecs"]
    mycodec = "mypkg.codec:MyCodec"
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from .errors import Unavailable, UnknownName

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from public names to classes, filled lazily.

    ``builtins`` are module paths imported on first use; ``group`` is the
    entry-point group scanned for plugins at the same moment.
    """

    def __init__(self, kind: str, group: str, builtins: tuple[str, ...]) -> None:
        self.kind = kind
        self.group = group
        self._builtins = builtins
        self._classes: dict[str, type[T]] = {}
        self._broken: dict[str, str] = {}
        self._loaded = False

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: register ``cls`` under ``cls.name``."""
        name = getattr(cls, "name")
        other = self._classes.get(name)
        if other is not None and other is not cls:
            raise ValueError(f"{self.kind} name {name!r} is taken by {other.__module__}.{other.__qualname__}")
        self._classes[name] = cls
        return cls

    @contextlib.contextmanager
    def registered(self, *classes: type[T]) -> Iterator[None]:
        """Register ``classes`` for the duration of a ``with`` block (tests, notebooks), then remove them."""
        self._load()
        added = [cls for cls in classes if self._classes.get(getattr(cls, "name")) is not cls]
        for cls in added:
            self.register(cls)
        try:
            yield
        finally:
            for cls in added:
                del self._classes[getattr(cls, "name")]

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self._builtins:
            importlib.import_module(module)
        for ep in entry_points(group=self.group):
            if ep.name in self._classes:
                continue
            try:
                self.register(ep.load())
            except Exception as exc:  # a broken plugin must not break qk
                self._broken[ep.name] = f"plugin {ep.value!r} failed to load: {exc}"

    def names(self) -> list[str]:
        """Every registered name, in registration order (built-ins first)."""
        self._load()
        return list(self._classes)

    def broken(self) -> dict[str, str]:
        """Plugins that failed to load, with the reason."""
        self._load()
        return dict(self._broken)

    def get(self, name: str) -> type[T]:
        self._load()
        try:
            return self._classes[name]
        except KeyError:
            why = self._broken.get(name)
            if why:
                raise Unavailable(f"{self.kind} {name!r}: {why}") from None
            raise UnknownName(self.kind, name, self._classes) from None
