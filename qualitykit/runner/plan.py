"""Planning a run: every name resolved, every setting validated, every image read and hashed, before any work.

:func:`make_plan` turns a corpus, codec specs and metric names into a :class:`Plan`. Whatever
can be refused is refused here, with a message naming it: unknown codecs, metrics or settings
(with a "did you mean"), a codec given twice, ``--device cuda`` without a GPU. Whatever concerns
one image only is recorded and the rest goes on: an unreadable or special file, an image above
the pixel limit, an image too large to score with some metric inside the memory limit
(:class:`~qualitykit.rundir.ItemError` with stage ``load`` or ``metric NAME``).

Memory is planned, not hoped for: each unit (one image × one codec) gets an estimate of its
peak memory — a worker's base footprint, the source image, the decoded images of one scoring
batch and the largest metric's working memory (:meth:`Metric.memory_bytes`) — and a batch size
(pairs scored together) that keeps it inside its share of the limit. Peak memory therefore
grows with the image size, not with the ladder length or the number of metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..codecs import Codec, codec_from_spec
from ..datasets import Corpus
from ..device import check_device
from ..errors import BadInput, MissingExtra, QKError, Unavailable
from ..extras import missing_extra
from ..fsutil import sha256_file
from ..imageio import read_header
from ..metrics import Metric, default_metrics, ensure_available, registry
from ..metrics.sets import expand
from ..metrics.base import MetricInfo
from ..processes import cpus_available
from ..rundir import CodecEntry, ItemError, SourceImage
from ..store import Store, encode_key

#: Memory a worker process needs before any image: Python, NumPy, PyTorch and loaded models (bytes).
WORKER_BASE_BYTES = 700e6
#: Working memory of an encode and decode, per pixel (encoder buffers, the decoded image).
CODEC_BYTES_PER_PIXEL = 24.0


def memory_available() -> int:
    """Bytes the system can give now without swapping (``MemAvailable``; total memory where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return int(psutil.virtual_memory().available)


def default_memory_limit() -> int:
    """qk's default memory limit: 80 % of the memory available when the run starts."""
    return int(0.8 * memory_available())


@dataclass(frozen=True)
class Unit:
    """One image × one codec: the work a worker does in one go (all ``qs`` of the codec's ladder).

    ``batch_pairs`` is how many decoded points are scored together; ``memory_bytes`` the
    estimated peak beyond a worker's base footprint; ``metrics`` the metrics this image gets
    (those refused for it on memory grounds are left out).
    """

    index: int
    image: SourceImage
    codec_id: str
    versions: dict[str, object]
    qs: tuple[float, ...]
    metrics: tuple[str, ...]
    batch_pairs: int
    memory_bytes: float

    def keys(self) -> list[str]:
        return [encode_key(self.image.sha256, self.codec_id, q, self.versions) for q in self.qs]


@dataclass
class Plan:
    """Everything a run will compute, resolved and checked before any work starts."""

    corpus: Corpus
    images: list[SourceImage]
    codecs: list[CodecEntry]
    codec_objects: dict[str, Codec]
    metrics: list[MetricInfo]
    metric_objects: dict[str, Metric]
    metrics_unavailable: dict[str, str] = field(default_factory=dict)
    codecs_unavailable: dict[str, str] = field(default_factory=dict)
    errors: list[ItemError] = field(default_factory=list)
    device: str = "cpu"
    jobs: int = 1
    memory_limit: int = 0
    max_pixels: int | None = None
    units: list[Unit] = field(default_factory=list)
    #: Why fewer workers than asked for run (:func:`cap_workers`), or ``None``.
    jobs_note: str | None = None

    @property
    def n_items(self) -> int:
        return sum(len(u.qs) for u in self.units)

    @property
    def uses_torch(self) -> bool:
        """Whether any codec or metric of the plan computes with PyTorch: workers import it only then."""
        return any(o.uses_torch for o in [*self.codec_objects.values(), *self.metric_objects.values()])


def _label(spec: str) -> str:
    """The spec without its ladder: ``avif:speed=4:q=20/40`` → ``avif:speed=4``."""
    return ":".join(p for p in spec.split(":") if not p.startswith(("q=", "quality=")))


def resolve_codecs(specs: Sequence[str], device: str) -> tuple[list[CodecEntry], dict[str, Codec], dict[str, str]]:
    """Codec entries and objects for ``specs``; codecs that cannot run here are returned with the reason.

    Malformed specs, unknown names and one codec given twice raise.
    """
    entries: list[CodecEntry] = []
    objects: dict[str, Codec] = {}
    unavailable: dict[str, str] = {}
    if not specs:
        raise BadInput("no codec given")
    for spec in specs:
        try:
            codec, ladder = codec_from_spec(spec)
            codec.fetch(ladder)  # zoo weights: downloaded now if missing, never in the workers
        except MissingExtra:  # asked for by name, it cannot run without another install: say so now
            raise
        except Unavailable as exc:  # e.g. weights missing offline: the other codecs still run
            unavailable[spec] = str(exc)
            continue
        codec.device = device
        same = next((e.spec for e in entries if e.id == codec.id), None)
        if same is not None:
            raise BadInput(f"{same!r} and {spec!r} are the same codec ({codec.id}); give it once, with one ladder")
        label = _label(spec)
        if any(e.label == label for e in entries):
            label = spec
        entries.append(CodecEntry(spec, label, codec.id, codec.name, dict(codec.options), list(ladder), codec.versions()))
        objects[codec.id] = codec
    return entries, objects, unavailable


def resolve_metrics(names: Sequence[str] | None, device: str) -> tuple[dict[str, Metric], dict[str, str]]:
    """Metric objects to run and metrics left out with the reason.

    ``None`` means qk's default set (every metric with ``default = True`` that can run here); a
    named metric set (``jpeg-ai``, :mod:`qualitykit.metrics.sets`) stands for its members. Unknown names raise; a metric asked for by name first gets a chance to fetch its assets —
    here, in the main process, and nowhere else (:mod:`qualitykit.assets`).
    """
    unavailable: dict[str, str] = {}
    if names is None:
        chosen = []
        for name, why in default_metrics().items():
            if why is None:
                chosen.append(name)
            else:
                unavailable[name] = why
    else:
        chosen = []
        for name in expand(names):
            missing = missing_extra(registry.get(name).extra)  # unknown names raise here, before any work
            if missing:
                raise MissingExtra(f"metric {name} {missing}")
            why = ensure_available(name)
            if why is None:
                chosen.append(name)
            else:
                unavailable[name] = why
    return {n: registry.get(n)(device=device) for n in chosen}, unavailable


def nothing_to_do(entries: Sequence[CodecEntry], codecs_unavailable: dict[str, str], metrics: dict[str, Metric],
                  metrics_unavailable: dict[str, str]) -> None:  # fmt: skip
    """Raise :class:`Unavailable` when no codec or no metric can run here: a run would encode or score nothing, so
    it stops at plan time with every reason (a missing weights file: its name and where it goes) and writes no run."""
    def reasons(unavailable: dict[str, str]) -> str:
        return "".join(f"\n  {name}: {why}" for name, why in unavailable.items())

    if not entries:
        raise Unavailable("no codec asked for can run here, so nothing can be encoded:" + reasons(codecs_unavailable))
    if not metrics:
        if not metrics_unavailable:
            raise BadInput("no metric given, so nothing can be scored: name at least one (qk metrics lists them)")
        raise Unavailable("no metric asked for can be computed here, so nothing can be scored:" + reasons(metrics_unavailable))


def scan_images(
    corpus: Corpus, store: Store | None, max_pixels: int | None, progress: Callable[[int], None] | None = None
) -> tuple[list[SourceImage], list[ItemError]]:
    """Read every image's header and hash it (hashes cached in ``store`` by path, size, mtime and inode).

    Files that cannot be used are returned as errors naming the file; so are the entries the
    corpus listing skipped (broken links, FIFOs, folders named like images).
    """
    images, errors = [], [ItemError(name, None, None, "load", why) for name, why in corpus.skipped.items()]
    for name in corpus.files:
        path = corpus.path(name)
        try:
            header = read_header(path, max_pixels)
            st = path.stat()
            digest = store.file_hashes.sha256(path, st) if store else sha256_file(path)
        except BadInput as exc:
            errors.append(ItemError(name, None, None, "load", str(exc)))
        except OSError as exc:
            errors.append(ItemError(name, None, None, "load", f"{path}: cannot read ({exc.strerror or exc})"))
        else:
            images.append(
                SourceImage(name, str(path.resolve()), digest, header.width, header.height, corpus.expected.get(name))
            )
        if progress:
            progress(1)
    return images, errors


def plan_memory(
    image: SourceImage, metrics: dict[str, Metric], points: int, worker_budget: float, limit: float
) -> tuple[tuple[str, ...], int, float, dict[str, str]]:
    """Which metrics ``image`` can be scored with inside the limit, the batch size, the unit's
    memory estimate beyond a worker's base, and why each other metric is refused."""
    px = image.width * image.height
    source = 3.0 * px
    refused = {}
    kept = []
    for name, m in metrics.items():
        need = WORKER_BASE_BYTES + source + 3.0 * px + m.memory_bytes(px)
        if need > limit:
            refused[name] = (
                f"{image.path}: {image.width}x{image.height} ({px / 1e6:.1f} MP) needs about {need / 2**30:.1f} GiB "
                f"to score with {name}, above the memory limit of {limit / 2**30:.1f} GiB; "
                "raise it with --max-memory or leave this metric out"
            )
        else:
            kept.append(name)
    worst = max((metrics[n].memory_bytes(px) for n in kept), default=0.0) / px if px else 0.0
    per_pair = px * (3.0 + worst)
    room = worker_budget - WORKER_BASE_BYTES - source
    batch = max(1, min(points, int(room // per_pair) if per_pair > 0 else points))
    estimate = source + max(CODEC_BYTES_PER_PIXEL * px, batch * per_pair)
    return tuple(kept), batch, estimate, refused


def build_unit(
    index: int, image: SourceImage, codec_id: str, versions: dict[str, str], qs: Sequence[float],
    metrics: dict[str, Metric], worker_budget: float, limit: float,
) -> tuple[Unit, dict[str, str]]:
    """Unit ``index``: ``image`` encoded by ``codec_id`` at ``qs`` and scored with the ``metrics`` that
    fit in memory (:func:`plan_memory`), batched to ``worker_budget``; and why each other metric is
    refused. The one place units are built, for a grid (:func:`make_plan`) and for explicit points
    (:func:`~.points.point_plan`)."""
    kept, batch, estimate, refused = plan_memory(image, metrics, len(qs), worker_budget, limit)
    return Unit(index, image, codec_id, versions, tuple(qs), kept, batch, estimate), refused


def make_plan(
    corpus: Corpus,
    codecs: Sequence[str],
    metrics: Sequence[str] | None = None,
    device: str = "auto",
    *,
    store: Store | None = None,
    jobs: int = 1,
    memory_limit: int | None = None,
    max_pixels: int | None = None,
    progress: Callable[[int], None] | None = None,
    device_check: Callable[[str], str] = check_device,
    local: bool = True,
) -> Plan:
    """Resolve, validate and size everything a run will do (see the module docstring).

    ``jobs`` is the number of worker processes; ``memory_limit`` bytes for the whole run
    (default :func:`default_memory_limit`); ``max_pixels`` the largest image accepted
    (default: Pillow's decompression-bomb limit). ``device_check`` resolves ``device`` where the
    work will run (default: this machine; the Dask executor asks its cluster's workers).
    ``local``: the workers run on this machine, so ``jobs`` is capped by :func:`cap_workers`
    (the plan's ``jobs`` and ``jobs_note`` say what runs and why).
    """
    if jobs < 1:
        raise BadInput(f"--jobs {jobs}: give at least 1 worker process")
    entries, codec_objects, codecs_unavailable = resolve_codecs(codecs, device)
    metric_objects, metrics_unavailable = resolve_metrics(metrics, device)
    nothing_to_do(entries, codecs_unavailable, metric_objects, metrics_unavailable)
    # PyTorch (seconds to import) is asked where to run only when something in the plan uses it
    uses_torch = any(o.uses_torch for o in (*codec_objects.values(), *metric_objects.values()))
    device = device_check(device) if uses_torch or device == "cuda" else "cpu"
    for obj in (*codec_objects.values(), *metric_objects.values()):
        obj.device = device
    images, errors = scan_images(corpus, store, max_pixels, progress)
    limit = memory_limit or default_memory_limit()
    jobs_note = None
    if local:
        jobs, jobs_note = cap_workers(jobs, images, len(entries), metric_objects, limit)
    worker_budget = limit / jobs
    units = []
    for image in images:
        refused: dict[str, str] = {}
        for entry in entries:
            unit, refused = build_unit(len(units), image, entry.id, entry.versions, entry.ladder, metric_objects, worker_budget, limit)
            units.append(unit)
        errors += [ItemError(image.image, None, None, f"metric {name}", why) for name, why in refused.items()]
    infos = []
    for m in metric_objects.values():
        try:
            infos.append(m.info())
        except QKError as exc:  # e.g. libvmaf's version cannot be read: say so at plan time
            raise Unavailable(f"metric {m.name}: {exc}") from None
    return Plan(
        corpus, images, entries, codec_objects, infos, metric_objects, metrics_unavailable, codecs_unavailable,
        errors, device, jobs, limit, max_pixels, units, jobs_note,
    )  # fmt: skip


def workers_for(jobs: int | None) -> int:
    """``jobs``, or every CPU this process may use when ``None``."""
    return jobs if jobs is not None else cpus_available()


def cap_workers(
    jobs: int, images: Sequence[SourceImage], n_codecs: int, metrics: dict[str, Metric], limit: float
) -> tuple[int, str | None]:
    """Worker processes to start on this machine for a request of ``jobs``, and why fewer when so.

    At most: the CPUs this process may run on, the workers that fit in the memory ``limit``
    (bytes) each with its base footprint plus the smallest plan of the largest image (one pair
    scored at a time), and the units of work (image × codec) — a worker with nothing to do is
    only memory.
    """
    units = len(images) * n_codecs
    largest = max(images, key=lambda i: i.width * i.height, default=None)
    smallest_unit = plan_memory(largest, metrics, 1, 0.0, float("inf"))[2] if largest else 0.0
    per_worker = WORKER_BASE_BYTES + smallest_unit
    caps = {
        "CPUs this process may use": cpus_available(),
        f"workers of about {per_worker / 2**30:.1f} GiB that fit in the memory limit of {limit / 2**30:.1f} GiB": max(1, int(limit // per_worker)),
        "units of work (image × codec)": max(1, units),
    }
    capped = min(jobs, *caps.values())
    if capped == jobs:
        return jobs, None
    why = "; ".join(f"{n} {what}" for what, n in caps.items() if n == capped)
    return capped, f"--jobs {jobs} reduced to {capped}: {why}"
