"""Codecs that are a pair of external programs: an encoder and a decoder run as commands.

Each one is defined by name in a small TOML (or YAML) file and then used like any other codec::

    # codecs.toml
    [codecs.cjxl]
    encode = "cjxl {input} {output} --distance {q} --effort {effort} --quiet"
    decode = "djxl {input} {output} --quiet"
    version = "cjxl --version"
    extension = "jxl"
    ladder = [15, 9.7, 6.3, 4.4, 3.5, 2.6, 1.8, 1.1]
    quality_range = [0.05, 25]
    settings = { effort = { default = 7, range = [1, 10] } }

    qk bench --codec-file codecs.toml --codecs jpeg,cjxl:effort=9:q=4/2/1

Placeholders: ``{input}`` and ``{output}`` (paths in a fresh temporary directory), ``{q}`` (the
quality, as written in the ladder) and ``{name}`` for every declared setting. The encoder reads
``input.png`` (or ``.ppm``, ``input_format``) and must write ``{output}``: that file's bytes are
the bitstream. The decoder reads the bitstream from ``{input}`` (``input.<extension>``) and
writes ``{output}`` as PNG or PPM (``output_format``). Commands are split like a shell would
(:func:`shlex.split`) but run without one, each in its own process group that is killed when the
call ends, however it ends, with its ``qk-<codec>-*`` folder removed
(:func:`qualitykit.processes.run_program`). A non-zero exit, a missing output or a call past
``timeout`` seconds (in all) raises :class:`CommandFailed` with the command and the tail of its stderr:
the runner records it as that item's error and goes on. The ``version`` command's output and
both command templates go into :meth:`ExternalCodec.versions` (so into cache keys and the run's
manifest): a new encoder build or a changed command is a different codec.

Definitions are also read from the files listed in ``$QK_CODEC_FILES`` (``os.pathsep``-separated)
when the codec registry loads; :func:`load_codec_file` appends to it, so worker processes see the
same codecs whichever way they start.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import shlex
import shutil
import string
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from . import registry
from ..errors import BadInput, UnknownName
from ..processes import remove_scratch, run_program, scratch_folder
from .base import Codec, Setting, _format_value, format_quality

ENV = "QK_CODEC_FILES"
#: Keys of one codec definition, with what each means (documented in docs/external-codecs.md).
FIELDS = {
    "encode": "encoder command; must use {input} and {output}",
    "decode": "decoder command; must use {input} and {output}",
    "extension": "file name extension of the bitstream (e.g. jxl)",
    "ladder": "default qualities, fewest bytes first",
    "version": "command whose output names the encoder/decoder build (recommended)",
    "quality_range": "[low, high] allowed qualities (default [0, 100])",
    "quality_integer": "true when the encoder only takes whole numbers (default false)",
    "settings": "name → default, or name → {default, choices, range}",
    "timeout": "seconds per command (default 300)",
    "input_format": "png or ppm: what the encoder reads (default png)",
    "output_format": "png or ppm: what the decoder writes (default png)",
    "description": "one line for qk codecs",
}
_BUILTIN_PLACEHOLDERS = ("input", "output", "q")
_FORMATS = {"png": "PNG", "ppm": "PPM"}


class CommandFailed(RuntimeError):
    """An external encoder or decoder failed: names the command, its exit status and its stderr's tail."""


def _tail(text: bytes, limit: int = 800) -> str:
    s = text.decode("utf-8", "replace").strip()
    return s if len(s) <= limit else "…" + s[-limit:]


def run_command(argv: list[str], timeout: float, cwd: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` (no shell) in its own process group, killed when the call ends however it ends
    (:func:`qualitykit.processes.run_program`); ``timeout`` seconds bound the whole call.

    Raises :class:`CommandFailed` on a non-zero exit, a timeout or a program that cannot start.
    """
    try:
        status, out, err = run_program(argv, timeout, cwd)
    except OSError as exc:
        raise CommandFailed(f"`{shlex.join(argv)}` could not start: {exc}") from None
    if status is None:
        raise CommandFailed(f"`{shlex.join(argv)}` timed out after {format_quality(timeout)} s; stderr: {_tail(err) or '(empty)'}")
    if status != 0:
        raise CommandFailed(f"`{shlex.join(argv)}` exited with status {status}; stderr: {_tail(err) or '(empty)'}")
    return subprocess.CompletedProcess(argv, status, out, err)


@contextlib.contextmanager
def _scratch(prefix: str) -> Iterator[Path]:
    """A ``qk-<codec>-*`` temporary folder, removed on every exit path (a SIGTERM included:
    :func:`qualitykit.processes.stop_children`)."""
    path = scratch_folder(prefix)
    try:
        yield Path(path)
    finally:
        remove_scratch(path)


class ExternalCodec(Codec):
    """Base of the codecs made by :func:`define`; one subclass per definition."""

    encode_command: ClassVar[str]
    decode_command: ClassVar[str]
    version_command: ClassVar[str | None] = None
    timeout: ClassVar[float] = 300.0
    input_format: ClassVar[str] = "png"
    output_format: ClassVar[str] = "png"
    source: ClassVar[str] = ""  # the file that defined it

    @classmethod
    def available(cls) -> str | None:
        for what, command in (("encoder", cls.encode_command), ("decoder", cls.decode_command)):
            program = shlex.split(command)[0]
            if shutil.which(program) is None:
                return f"{what} program {program!r} not found (on PATH or as a path); defined in {cls.source or 'Python'}"
        try:
            cls._version()
        except CommandFailed as exc:
            return f"version command failed: {exc}"
        return None

    @classmethod
    @functools.cache
    def _version(cls) -> str:
        if not cls.version_command:
            return "(no version command given)"
        done = run_command(shlex.split(cls.version_command), timeout=min(cls.timeout, 60.0))
        text = (done.stdout or done.stderr).decode("utf-8", "replace").strip()
        return " ".join(text.split())[:300]

    def _argv(self, template: str, **paths: str) -> list[str]:
        values = {k: _format_value(v) for k, v in self.options.items()}
        return [token.format(**values, **paths) for token in shlex.split(template)]

    def encode(self, image: np.ndarray, q: float) -> bytes:
        with _scratch(f"qk-{self.name}-") as tmp:
            src = tmp / f"input.{self.input_format}"
            dst = tmp / f"output.{self.extension}"
            Image.fromarray(np.ascontiguousarray(image), "RGB").save(src, format=_FORMATS[self.input_format])
            argv = self._argv(self.encode_command, input=str(src), output=str(dst), q=format_quality(q))
            run_command(argv, self.timeout, cwd=str(tmp))
            if not dst.is_file() or dst.stat().st_size == 0:
                raise CommandFailed(f"`{shlex.join(argv)}` exited 0 but wrote no {dst.name}")
            return dst.read_bytes()

    def decode(self, data: bytes) -> np.ndarray:
        with _scratch(f"qk-{self.name}-") as tmp:
            src = tmp / f"input.{self.extension}"
            dst = tmp / f"output.{self.output_format}"
            src.write_bytes(data)
            argv = self._argv(self.decode_command, input=str(src), output=str(dst), q="")
            run_command(argv, self.timeout, cwd=str(tmp))
            if not dst.is_file():
                raise CommandFailed(f"`{shlex.join(argv)}` exited 0 but wrote no {dst.name}")
            with Image.open(dst) as im:
                return np.asarray(im.convert("RGB"))

    def versions(self) -> dict[str, str]:
        return {"version": self._version(), "encode": self.encode_command, "decode": self.decode_command}


def _setting(codec: str, key: str, value: Any) -> Setting:
    if not isinstance(value, Mapping):
        return Setting(value)
    extra = set(value) - {"default", "choices", "range", "help"}
    if "default" not in value or extra:
        raise BadInput(f"{codec}: setting {key} must be a value or a table with default (and choices or range, help); got {dict(value)}")
    choices = tuple(value["choices"]) if "choices" in value else None
    rng = tuple(value["range"]) if "range" in value else None
    if rng is not None and len(rng) != 2:
        raise BadInput(f"{codec}: setting {key}: range must be [low, high]")
    setting = Setting(value["default"], choices=choices, range=rng, help=str(value.get("help", "")))  # type: ignore[arg-type]
    setting.check(codec, key, setting.default)  # the default itself must be allowed
    return setting


def _placeholders(template: str) -> set[str]:
    names = set()
    for token in shlex.split(template):
        names |= {f for _, f, _, _ in string.Formatter().parse(token) if f is not None}
    return names


def define(name: str, definition: Mapping[str, Any], source: str = "") -> type[ExternalCodec]:
    """Make (and register) the codec ``name`` from one definition; see :data:`FIELDS`.

    Every problem is refused here, before any work: unknown keys (with a did-you-mean), missing
    commands or placeholders, a placeholder that is no setting, a setting no command uses.
    """
    where = f"{source}: " if source else ""
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise BadInput(f"{where}codec name {name!r}: use letters, digits, '-', '_' or '.'")
    unknown = [k for k in definition if k not in FIELDS]
    for key in unknown:
        raise UnknownName(f"key in {where}[codecs.{name}]", key, FIELDS)
    for key in ("encode", "decode", "extension", "ladder"):
        if key not in definition:
            raise BadInput(f"{where}codec {name}: {key} is required ({FIELDS[key]})")
    settings = {k: _setting(name, k, v) for k, v in dict(definition.get("settings") or {}).items()}
    clash = set(settings) & set(_BUILTIN_PLACEHOLDERS)
    if clash:
        raise BadInput(f"{where}codec {name}: setting name(s) {', '.join(sorted(clash))} are reserved placeholders")
    used: set[str] = set()
    for key in ("encode", "decode"):
        template = str(definition[key])
        try:
            found = _placeholders(template)
        except ValueError as exc:
            raise BadInput(f"{where}codec {name}: {key} command {template!r}: {exc}") from None
        for required in ("input", "output"):
            if required not in found:
                raise BadInput(f"{where}codec {name}: the {key} command must contain {{{required}}}")
        for field in found - set(settings) - set(_BUILTIN_PLACEHOLDERS):
            close = difflib.get_close_matches(field, [*settings, *_BUILTIN_PLACEHOLDERS], n=1)
            hint = f"; did you mean {{{close[0]}}}?" if close else ""
            raise BadInput(f"{where}codec {name}: {key} command uses {{{field}}}, which is no setting{hint} "
                           f"(placeholders: input, output, q, {', '.join(settings) or 'no settings'})")  # fmt: skip
        used |= found
    if "q" not in _placeholders(str(definition["encode"])):
        raise BadInput(f"{where}codec {name}: the encode command must contain {{q}}")
    unused = set(settings) - used
    if unused:
        raise BadInput(f"{where}codec {name}: setting(s) {', '.join(sorted(unused))} appear in no command, so they cannot change the bitstream")
    for key in ("input_format", "output_format"):
        if definition.get(key, "png") not in _FORMATS:
            raise BadInput(f"{where}codec {name}: {key}={definition[key]!r}; use png or ppm")
    try:
        ladder = tuple(float(q) for q in definition["ladder"])
        quality_range = tuple(float(q) for q in definition.get("quality_range", (0, 100)))
        timeout = float(definition.get("timeout", 300))
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{where}codec {name}: ladder, quality_range and timeout are numbers ({exc})") from None
    if len(quality_range) != 2 or timeout <= 0 or not ladder:
        raise BadInput(f"{where}codec {name}: needs a non-empty ladder, quality_range [low, high] and timeout > 0")
    attrs = {
        "name": name,
        "encode_command": str(definition["encode"]),
        "decode_command": str(definition["decode"]),
        "version_command": definition.get("version"),
        "extension": str(definition["extension"]).lstrip("."),
        "ladder": ladder,
        "quality_range": quality_range,
        "quality_integer": bool(definition.get("quality_integer", False)),
        "timeout": timeout,
        "input_format": definition.get("input_format", "png"),
        "output_format": definition.get("output_format", "png"),
        "description": str(definition.get("description", f"external commands ({shlex.split(str(definition['encode']))[0]})")),
        "settings": settings,
        "source": source,
        "__doc__": f"External codec {name!r} defined in {source or 'Python'}.",
    }
    cls = type(f"External_{name}", (ExternalCodec,), attrs)
    registry._load()
    existing = registry._classes.get(name)
    if existing is not None:
        if issubclass(existing, ExternalCodec) and _same(existing, cls):
            return existing  # the same file loaded twice (e.g. by a worker): nothing to do
        raise BadInput(f"{where}codec name {name!r} is already taken by {existing.__module__}.{existing.__qualname__}"
                       + (f" (defined in {existing.source})" if issubclass(existing, ExternalCodec) else ""))  # fmt: skip
    cls(**{}).check_ladder(ladder)  # defaults and ladder valid
    registry.register(cls)
    return cls


def _same(a: type[ExternalCodec], b: type[ExternalCodec]) -> bool:
    keys = ("encode_command", "decode_command", "version_command", "extension", "ladder", "quality_range",
            "quality_integer", "timeout", "input_format", "output_format", "settings")  # fmt: skip
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def read_codec_file(path: str | os.PathLike[str]) -> dict[str, Mapping[str, Any]]:
    """The ``codecs`` table of a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise BadInput(f"codec file {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            data = tomllib.loads(text)
    except Exception as exc:
        raise BadInput(f"codec file {path}: not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'TOML'}: {exc}") from None
    codecs = data.get("codecs") if isinstance(data, dict) else None
    if not isinstance(codecs, dict) or not codecs:
        raise BadInput(f"codec file {path}: expected a [codecs.NAME] table per codec (see docs/external-codecs.md)")
    extra = set(data) - {"codecs"}
    if extra:
        raise BadInput(f"codec file {path}: unknown top-level key(s) {', '.join(sorted(extra))}; only [codecs.NAME] tables")
    for name, definition in codecs.items():
        if not isinstance(definition, dict):
            raise BadInput(f"codec file {path}: codecs.{name} must be a table")
    return codecs


def load_codec_file(path: str | os.PathLike[str]) -> list[str]:
    """Define every codec in ``path``; return their names. Also listed in ``$QK_CODEC_FILES`` for workers."""
    path = Path(path).resolve()
    names = [define(name, d, str(path)).name for name, d in read_codec_file(path).items()]
    listed = [p for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    if str(path) not in listed:
        os.environ[ENV] = os.pathsep.join([*listed, str(path)])
    return names


def _load_from_environment() -> None:
    for path in filter(None, os.environ.get(ENV, "").split(os.pathsep)):
        for name, definition in read_codec_file(path).items():
            define(name, definition, str(Path(path).resolve()))


_load_from_environment()
