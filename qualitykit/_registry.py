"""Name → class registries with third-party plugins through entry points.

Built-in codecs and metrics register themselves with :meth:`Registry.register` when
their module is imported; plugins are found through an entry-point group
(``qualitykit.codecs`` or ``qualitykit.metrics``) whose entries name a class::

    [project.entry-points."qualitykit.codecs"]
    mycodec = "mypkg.codec:MyCodec"
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Generic, TypeVar

from .errors import Unavailable, UnknownName

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from public names to classes, filled lazily.

    ``builtins`` are module paths imported on first use; ``group`` is the
    entry-point group scanned for plugins at the same moment.
    """

    def __init__(
        self, kind: str, group: str, builtins: tuple[str, ...], families: dict[str, str] | None = None
    ) -> None:
        self.kind = kind
        #: ``PREFIX`` → ``"module:function"``: a name ``PREFIX:REST`` is the class ``function(REST)``
        #: returns, made on first use (e.g. ``pyiqa:mad``) and kept apart: :meth:`names` lists only
        #: what is registered, whatever a process happened to ask for.
        self._families = dict(families or {})
        self._made: dict[str, type[T]] = {}
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

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self._builtins:
            importlib.import_module(module)
        for ep in metadata.entry_points(group=self.group):
            if ep.name in self._classes:
                continue
            try:
                self.register(ep.load())
            except Exception as exc:  # a broken plugin must not break qk
                self._broken[ep.name] = f"plugin {ep.value!r} failed to load: {exc}"

    @contextmanager
    def temporarily(self, *classes: type[T]) -> Iterator[None]:
        """Register ``classes`` for the duration of a ``with`` block (tests, notebooks), then forget them.

        A name that is already taken by another class is refused, as with :meth:`register`.
        """
        self._load()
        added = [cls for cls in classes if getattr(cls, "name") not in self._classes]
        for cls in classes:
            self.register(cls)
        try:
            yield
        finally:
            for cls in added:
                self._classes.pop(getattr(cls, "name"), None)

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Inside the block the registry is rebuilt from scratch (built-ins, then entry points scanned
        anew, e.g. after a test put a plugin's ``dist-info`` on ``sys.path``); afterwards it is exactly
        as before, whatever was registered inside."""
        self._load()  # the built-ins register when their modules are first imported: only once per process
        saved = (dict(self._classes), dict(self._broken), self._loaded)
        builtin = {n: c for n, c in self._classes.items() if c.__module__ in self._builtins}
        self._classes, self._broken, self._loaded = builtin, {}, False
        try:
            yield
        finally:
            self._classes, self._broken, self._loaded = saved

    def names(self) -> list[str]:
        """Every registered name: the built-ins in the order of their modules in ``builtins`` (whichever
        was imported first: a test importing one metric module must not reorder the README's table),
        then the others in registration order."""
        self._load()
        rank = {module: i for i, module in enumerate(self._builtins)}
        return sorted(self._classes, key=lambda name: rank.get(self._classes[name].__module__, len(rank)))

    def broken(self) -> dict[str, str]:
        """Plugins that failed to load, with the reason."""
        self._load()
        return dict(self._broken)

    def get(self, name: str) -> type[T]:
        self._load()
        prefix, sep, rest = name.partition(":")
        if sep and name not in self._classes and prefix in self._families:
            if name not in self._made:
                module, _, function = self._families[prefix].partition(":")
                self._made[name] = getattr(importlib.import_module(module), function)(rest)
            return self._made[name]
        try:
            return self._classes[name]
        except KeyError:
            why = self._broken.get(name)
            if why:
                raise Unavailable(f"{self.kind} {name!r}: {why}") from None
            raise UnknownName(self.kind, name, self._classes) from None
