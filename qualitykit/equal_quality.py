"""Equal-quality comparison per image: for each image and codec, the smallest file that reaches a target score.

``qk bench --target ms-ssim=0.98`` (or ``qualitykit.bench(..., targets=["ms-ssim=0.98"])``) asks,
for every image and every codec of the run, for the fewest bytes whose score reaches the target
(``≥`` for a higher-is-better metric, ``≤`` for LPIPS). The answer is found by searching the
codec's own quality setting ``q``:

* **direction from the codec**: a codec declares its default ladder "from fewest to most
  bytes", so the ladder's order says whether a larger ``q`` means more bytes (JPEG, WebP,
  AVIF: yes; JPEG XL's butteraugli *distance*: no). Nothing is assumed from the name;
* **integer scales** (JPEG 1–100, AVIF 0–100, …: ``quality_integer``) are bisected exactly to
  neighbouring integers; **continuous scales** (JPEG XL distance, JPEG 2000 target bpp) are
  bisected to 1/512 of the declared ``quality_range`` (in log scale when the range spans more
  than a factor of 10, so small distances get fine steps);
* **discrete codecs** (learned models with a few trained qualities: ``neural``, ``learned``) have
  every setting encoded and the smallest file at or above the target is taken — "the nearest
  setting at or above the target", and the row says so;
* the run's own ladder points are the first probes (free: already computed), so the search
  starts from the ladder's bracket; only a target beyond the ladder probes the range's ends;
* every probe is encoded, decoded and scored **through the runner**
  (:func:`qualitykit.runner.points.run_points`): cached like any grid point, so a rerun costs
  nothing, and each round of probes runs in parallel across images and codecs;
* if scores are not monotonic in ``q``, the smallest file among *all* probes that reach the
  target is taken; an image a codec cannot bring to the target (even at its highest setting),
  or that the metric cannot score, is counted and named, never silently dropped.

The answer is a table (written to the run directory as ``targets.csv``): one row per target ×
image × codec with the chosen ``q``, ``bytes``, ``bpp``, the ``score`` reached, whether the
target was ``reached`` and a ``note``. :mod:`qualitykit.analysis.targets` turns it into totals and
savings with bootstrap intervals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .codecs.base import Codec, bits_per_pixel, format_quality
from .errors import BadInput
from .rundir import TARGET_COLUMNS, TARGETS, ItemError, SourceImage
from .store import Store

if TYPE_CHECKING:
    from .runner.executor import Executor

#: Bisection stops on a continuous scale when the bracket is this fraction of the (log) range.
CONTINUOUS_STEP = 1 / 512
MAX_ROUNDS = 16


@dataclass(frozen=True)
class Target:
    """A target score: ``metric`` at ``value``; ``higher_is_better`` says whether "reaching" is ≥ or ≤."""

    metric: str
    value: float
    higher_is_better: bool = True

    @property
    def spec(self) -> str:
        return f"{self.metric}={format_quality(self.value)}"

    def describe(self) -> str:
        return f"{self.metric} {'≥' if self.higher_is_better else '≤'} {format_quality(self.value)}"

    def reached(self, score: float) -> bool:
        if score is None or not math.isfinite(score):
            return False
        return score >= self.value if self.higher_is_better else score <= self.value


def parse_targets(items: str | Iterable[str]) -> list[Target]:
    """``"ms-ssim=0.98,vmaf=90"`` (or a list of such strings) → targets, one per ``metric=value``.

    Unknown metric names are refused with a "did you mean" (the metric registry's).
    """
    from .metrics import registry

    if isinstance(items, str):
        items = [items]
    out: list[Target] = []
    for item in items:
        for part in (p.strip() for p in str(item).split(",")):
            if not part:
                continue
            m = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(?:=|>=|<=)\s*([-+0-9.eE]+)", part)
            if not m:
                raise BadInput(f"target {part!r}: write METRIC=VALUE, e.g. ms-ssim=0.98 or vmaf=90")
            cls = registry.get(m[1])  # unknown names: UnknownName with the closest names
            try:
                value = float(m[2])
            except ValueError:
                raise BadInput(f"target {part!r}: {m[2]!r} is not a number") from None
            lo, hi = cls.range
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise BadInput(f"target {part!r}: {m[1]} scores lie in {lo}..{hi}")
            t = Target(m[1], value, cls.higher_is_better)
            if t not in out:
                out.append(t)
    return out


# ---------------------------------------------------------------- quality scales


@dataclass(frozen=True)
class Scale:
    """A codec's quality setting as the search sees it.

    ``kind`` is ``discrete`` (``values``, fewest bytes first), ``integer`` or ``continuous``
    (``lo``..``hi``); ``up``: a larger ``q`` gives more bytes; ``log``: bisect in log scale.
    Positions ``u`` in [0, 1] run from the fewest-bytes end (0) to the most-bytes end (1).
    """

    kind: str
    lo: float
    hi: float
    up: bool = True
    log: bool = False
    values: tuple[float, ...] = ()

    def q_at(self, u: float) -> float:
        if self.kind == "integer":
            k = round(u * (self.hi - self.lo))
            return float(self.lo + k if self.up else self.hi - k)
        if self.log:
            q = self.lo * (self.hi / self.lo) ** (u if self.up else 1 - u)
        else:
            q = self.lo + (self.hi - self.lo) * (u if self.up else 1 - u)
        return float(f"{q:.4g}")

    def u_of(self, q: float) -> float:
        if self.kind == "integer" or not self.log:
            u = (q - self.lo) / (self.hi - self.lo)
        else:
            u = math.log(q / self.lo) / math.log(self.hi / self.lo)
        return u if self.up else 1 - u

    def steps(self) -> float:
        """Smallest meaningful step in ``u``."""
        return 1 / (self.hi - self.lo) if self.kind == "integer" else CONTINUOUS_STEP

    def describe(self) -> str:
        if self.kind == "discrete":
            return "discrete " + "/".join(format_quality(v) for v in self.values)
        way = "higher q = more bytes" if self.up else "lower q = more bytes"
        return f"{self.kind} {format_quality(self.lo)}..{format_quality(self.hi)}, {way}" + (", log steps" if self.log else "")


def codec_scale(codec: Codec, ladder: Sequence[float] = ()) -> Scale:
    """The search scale of ``codec``, from what it declares.

    A codec with a fixed set of trained qualities lists them (:attr:`Codec.qualities`: learned
    models, ``neural`` and ``learned`` plugins): discrete. Otherwise its
    ``quality_range`` and ``quality_integer`` give the scale, and its default ``ladder`` (written
    from fewest to most bytes) the direction; the run's ``ladder`` is the fallback.
    """
    values = codec.qualities
    if values:
        return Scale("discrete", min(values), max(values), values=tuple(float(v) for v in values))
    declared = tuple(type(codec).ladder) or tuple(ladder)
    up = not (len(declared) >= 2 and declared[-1] < declared[0])
    lo, hi = (float(v) for v in codec.quality_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise BadInput(f"{codec.name}: no finite quality range to search ({lo}..{hi})")
    if codec.quality_integer:
        return Scale("integer", math.ceil(lo), math.floor(hi), up)
    return Scale("continuous", lo, hi, up, log=lo > 0 and hi / lo > 10)


# ---------------------------------------------------------------- the search


@dataclass
class _State:
    """The search for one target × image × codec."""

    target: Target
    image: SourceImage
    codec_id: str
    scale: Scale
    done: bool = False
    note: str = ""
    tried: set[float] = field(default_factory=set)


@dataclass
class SearchOutcome:
    """What :func:`search` found (``table``, the rows of ``targets.csv``) and what it cost."""

    table: pd.DataFrame
    rounds: int = 0
    encoded: int = 0
    scored: int = 0
    errors: list[ItemError] = field(default_factory=list)


def _known(points: dict, state: _State) -> list[tuple[float, float, int, float]]:
    """``(u, q, bytes, score)`` of every point known for ``state``'s image × codec with a score for its metric."""
    out = []
    for q, (n_bytes, scores) in points.get((state.image.image, state.codec_id), {}).items():
        score = scores.get(state.target.metric, float("nan"))
        out.append((state.scale.u_of(q), q, n_bytes, score))
    return out


def _next_probe(state: _State, points: dict) -> list[float]:
    """The ``q`` values ``state`` needs next; marks it done when it needs none."""
    sc, t = state.scale, state.target
    known = _known(points, state)
    if sc.kind == "discrete":
        missing = [v for v in sc.values if v not in {q for _, q, _, _ in known}]
        if not missing or set(missing) <= state.tried:  # every setting known, or the rest failed to encode
            state.done = True
            return []
        return missing
    scored = [k for k in known if math.isfinite(k[3])]
    if known and not scored:  # the metric could not score this image (e.g. too small for MS-SSIM)
        state.done, state.note = True, f"no {t.metric} score for this image"
        return []
    passing = sorted(u for u, _, _, s in scored if t.reached(s))
    if not passing:
        top = sc.q_at(1.0)
        if any(q == top for _, q, _, _ in scored) or top in state.tried:
            state.done = True
            return []
        return [top]
    good = passing[0]
    failing = [u for u, _, _, s in scored if not t.reached(s) and u < good]
    if not failing:
        bottom = sc.q_at(0.0)
        if good <= 0 or any(q == bottom for _, q, _, _ in scored) or bottom in state.tried:
            state.done = True
            return []
        return [bottom]
    bad = max(failing)
    mid = sc.q_at((good + bad) / 2)
    if good - bad <= sc.steps() * 1.000001 or mid in state.tried or mid in {q for _, q, _, _ in known}:
        state.done = True
        return []
    return [mid]


def _choose(state: _State, points: dict) -> dict[str, Any]:
    """The row of ``targets.csv`` for a finished ``state``: the smallest file reaching the target."""
    t, sc = state.target, state.scale
    known = _known(points, state)
    reach = [k for k in known if t.reached(k[3])]
    row: dict[str, Any] = {
        "target": t.spec, "metric": t.metric, "value": t.value, "image": state.image.image,
        "codec_id": state.codec_id, "probes": len(known), "scale": sc.describe(),
    }  # fmt: skip
    if reach:
        _, q, n_bytes, score = min(reach, key=lambda k: (k[2], -k[0]))
        note = state.note
        if sc.kind == "discrete":
            note = f"discrete qualities {'/'.join(format_quality(v) for v in sc.values)}: nearest setting at or above the target"
        elif q == sc.q_at(0.0):
            note = "reached at the codec's lowest setting (the target is below its range)"
        row.update(q=q, bytes=n_bytes, bpp=bits_per_pixel(n_bytes, state.image.width, state.image.height), score=score, reached=True, note=note)
        return row
    scored = [k for k in known if math.isfinite(k[3])]
    if scored:
        _, q, n_bytes, score = max(scored, key=lambda k: k[3] if t.higher_is_better else -k[3])
        note = state.note or f"cannot reach {t.describe()}: best is {score:.4g} at q={format_quality(q)}"
        row.update(q=q, bytes=n_bytes, bpp=bits_per_pixel(n_bytes, state.image.width, state.image.height), score=score, reached=False, note=note)
    else:
        row.update(q=float("nan"), bytes=float("nan"), bpp=float("nan"), score=float("nan"), reached=False,
                   note=state.note or f"no {t.metric} score for this image")  # fmt: skip
    return row


def search(
    plan: Any,
    store: Store,
    executor: Executor,
    targets: Sequence[Target],
    results: pd.DataFrame | None = None,
    progress: Callable[[int], None] | None = None,
    max_rounds: int = MAX_ROUNDS,
) -> SearchOutcome:
    """Find, for every target × image × codec of ``plan``, the smallest file reaching the target.

    ``plan`` is the run's :class:`~qualitykit.runner.plan.Plan` (its images, codecs and metric
    objects; every target metric must be one of its metrics), ``executor`` a running pool;
    ``results`` the run's results table (its ladder points are the first probes).
    """
    from .runner.points import run_points

    metric_names = list(dict.fromkeys(t.metric for t in targets))
    missing = [m for m in metric_names if m not in plan.metric_objects]
    if missing:
        raise BadInput(f"target metric(s) {', '.join(missing)} are not computed in this run; add them to --metrics")
    versions = {m.name: m.version for m in plan.metrics}
    entries = {c.id: c for c in plan.codecs}
    scales = {cid: codec_scale(plan.codec_objects[cid], entries[cid].ladder) for cid in entries}
    labels = {cid: e.label for cid, e in entries.items()}
    images = {i.image: i for i in plan.images}
    points: dict[tuple[str, str], dict[float, tuple[int, dict[str, float]]]] = {}
    if results is not None and len(results):  # the run's ladder points: free first probes
        sub = results[results["codec_id"].isin(list(entries)) & results["image"].isin(list(images))]
        cols = [m for m in metric_names if m in sub.columns]
        for image, cid, q, n_bytes, *vals in zip(sub["image"], sub["codec_id"], sub["q"], sub["bytes"], *(sub[m] for m in cols)):
            scores = {m: float("nan") for m in metric_names} | {m: float(v) for m, v in zip(cols, vals)}
            points.setdefault((image, cid), {})[float(q)] = (int(n_bytes), scores)
    states = [_State(t, img, cid, scales[cid]) for t in targets for img in plan.images for cid in entries]
    out = SearchOutcome(pd.DataFrame(columns=TARGET_COLUMNS))
    for _ in range(max_rounds):
        wanted: list[tuple[SourceImage, str, float]] = []
        for s in states:
            if s.done:
                continue
            for q in _next_probe(s, points):
                s.tried.add(q)
                wanted.append((s.image, s.codec_id, q))
        if not wanted:
            break
        out.rounds += 1
        sub, done = run_points(plan, store, executor, wanted, metric_names, progress)
        out.encoded += done.encoded
        out.scored += done.scored
        out.errors += done.errors
        for unit in sub.units:
            keys = unit.keys()
            encodes = store.get_encodes(keys)
            scores = store.get_scores(keys, {m: versions[m] for m in metric_names})
            for q, key in zip(unit.qs, keys):
                e = encodes.get(key)
                if e is None:
                    continue  # the encode failed: its error is recorded; the state stops on it
                points.setdefault((unit.image.image, unit.codec_id), {})[float(q)] = (
                    e.bytes, {m: scores.get((key, m), float("nan")) for m in metric_names})
    for s in states:
        if not s.done:
            s.note = s.note or f"search stopped after {max_rounds} rounds"
    rows = [{**_choose(s, points), "codec_label": labels[s.codec_id]} for s in states]
    out.table = pd.DataFrame(rows, columns=TARGET_COLUMNS)
    return out


def read_targets(run_dir: str | Path) -> pd.DataFrame | None:
    """The run's ``targets.csv``, or ``None`` when the run has no targets."""
    path = Path(run_dir) / TARGETS
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype={"image": str, "codec_id": str, "codec_label": str, "target": str, "note": str})
    table["note"] = table["note"].fillna("")
    table["reached"] = table["reached"].astype(str).str.lower().isin(["true", "1"])
    return table


__all__ = ["TARGETS", "TARGET_COLUMNS", "Scale", "SearchOutcome", "Target", "codec_scale", "parse_targets",
           "read_targets", "search"]  # fmt: skip
