"""Claim checks: "codec X gives files N–M % smaller than Y at equal quality" against a run's measurements.

Syntax (one line; several claims separated by ``;``)::

    neural vs jpeg 40..60 %, webp 20..30 %, avif 10..20 % at equal ms-ssim, vmaf, lpips

``CODEC vs ANCHOR LO..HI % [, ANCHOR LO..HI %]... [at equal METRIC[, METRIC]...]``: the savings
claimed for ``CODEC`` against each ``ANCHOR``, in percent of the anchor's bytes (``40..60``,
``40-60`` and ``40 to 60`` all mean 40 to 60 % smaller); without ``at equal`` every metric of the
run is checked. Codecs are matched like ``--anchor`` (label, spec, id or family name). The same
claims as YAML (``qk claim RUN --file claims.yaml``)::

    claims:
      - codec: neural
        against: {jpeg: 40..60, webp: [20, 30], avif: 10..20}
        metrics: [ms-ssim, vmaf, lpips]
      - "avif vs jpeg 30..50 % at equal psnr"      # the one-line syntax works here too

For each claim × anchor × metric, and each method the run allows — **BD-rate** (always)
and **equal-quality targets** (when the run has ``--target`` on that metric) — the measured
saving (``−BD-rate``, or ``1 − Σbytes/Σbytes`` at the target) and its 95 % bootstrap interval
over images give a verdict (:data:`VERDICTS`, each with its exit status in :data:`EXIT_CODES`):

* ``confirmed``: the whole interval lies inside the claimed range;
* ``exceeded``: the whole interval lies above the claimed range (a larger saving than claimed);
* ``contradicted``: the whole interval lies below it (a smaller saving than claimed, or more bytes);
* ``inconclusive``: the interval straddles a bound of the range;
* ``not measured``: no number (metric not in the run, no overlap…), with the reason.

A learned codec is named by its model id in every row (``neural (qk-hyperprior-v1) vs JPEG``).

A BD-rate that holds over part of the quality range only says so in the row ("over 26.7–27.5 dB
only"): a claim "at equivalent quality" is then checked only where both codecs were measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import BadInput, QKError
from .rundir import Run

#: Claims shipped as examples (``qk claim RUN --example NAME``); ``docs/claims.md`` explains them.
EXAMPLES = {
    "ai-codecs": "neural vs jpeg 40..60 %, webp 20..30 %, avif 10..20 % at equal ms-ssim, vmaf, lpips",
}
VERDICTS = ("confirmed", "exceeded", "contradicted", "inconclusive", "not measured")
#: Exit status of a check: the first of these verdicts found among its rows decides (``2`` is bad input).
EXIT_CODES = {"contradicted": 1, "inconclusive": 3, "not measured": 4, "exceeded": 5, "confirmed": 0}
#: The verdicts in words (``qk claim`` prints this under its table; ``docs/claims.md`` has the same table).
MEANING = ("confirmed: the interval lies inside the claimed range; exceeded: entirely above it (a larger saving "
           "than claimed); contradicted: entirely below it; inconclusive: it straddles a bound; not measured: no "
           "number, with the reason")  # fmt: skip

_RANGE = r"(?P<lo>[0-9]+(?:\.[0-9]+)?)\s*(?:\.\.|-|–|to)\s*(?P<hi>[0-9]+(?:\.[0-9]+)?)\s*%?"


@dataclass(frozen=True)
class Claim:
    """``codec_label`` is claimed to need ``lo``–``hi`` % fewer bytes than ``anchor_label`` at equal ``metrics``
    (empty: every metric). Both are as written in the claim and matched like ``--anchor`` (label, spec, id, family)."""

    codec_label: str
    anchor_label: str
    lo: float
    hi: float
    metrics: tuple[str, ...] = ()
    text: str = ""


def _range(text: str, where: str) -> tuple[float, float]:
    if isinstance(text, (list, tuple)) and len(text) == 2:
        lo, hi = (float(v) for v in text)
    else:
        m = re.fullmatch(_RANGE, str(text).strip())
        if not m:
            raise BadInput(f"claim {where}: {text!r} is not a range like 40..60 %")
        lo, hi = float(m["lo"]), float(m["hi"])
    if lo > hi:
        raise BadInput(f"claim {where}: the range {lo:g}..{hi:g} runs backwards")
    return lo, hi


def parse_claims(text: str) -> list[Claim]:
    """Claims in the one-line syntax (see the module docstring); several separated by ``;``."""
    out: list[Claim] = []
    for one in (c.strip() for c in text.split(";")):
        if not one:
            continue
        at = re.search(r"\s+at\s+equal(?:\s+quality)?(?:\s+on)?\s+", one, flags=re.I)
        head, tail = (one[: at.start()], one[at.end() :]) if at else (one, "")
        metrics = tuple(x for x in re.split(r"\s*,\s*|\s+and\s+", tail.strip()) if x) if tail else ()
        m = re.fullmatch(r"\s*(?P<codec>\S+)\s+vs\.?\s+(?P<rest>.+)", head, flags=re.I)
        if not m:
            raise BadInput(f"claim {one!r}: write CODEC vs ANCHOR LO..HI % [, ANCHOR LO..HI %] [at equal METRIC, ...]")
        for part in (p.strip() for p in m["rest"].split(",")):
            pm = re.fullmatch(r"(?P<other>\S+)\s+" + _RANGE + r"(?:\s*(?:smaller|fewer bytes))?", part, flags=re.I)
            if not pm:
                raise BadInput(f"claim {one!r}: {part!r} is not ANCHOR LO..HI %, e.g. jpeg 40..60 %")
            lo, hi = _range(f"{pm['lo']}..{pm['hi']}", repr(one))
            out.append(Claim(m["codec"], pm["other"], lo, hi, metrics, one))
    if not out:
        raise BadInput("no claim given; e.g. 'neural vs jpeg 40..60 % at equal ms-ssim'")
    return out


def load_claims(path: str | Path) -> list[Claim]:
    """Claims from a YAML file (see the module docstring)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadInput(f"{path}: cannot read claims ({exc})") from None
    items = data.get("claims") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise BadInput(f"{path}: expected a list under 'claims:'")
    out: list[Claim] = []
    for i, item in enumerate(items, 1):
        if isinstance(item, str):
            out += parse_claims(item)
            continue
        if not isinstance(item, dict) or "codec" not in item or not isinstance(item.get("against"), dict):
            raise BadInput(f"{path}: claim {i} needs codec: and against: {{ANCHOR: LO..HI}}")
        metrics = item.get("metrics") or ()
        metrics = tuple(m.strip() for m in (metrics.split(",") if isinstance(metrics, str) else metrics))
        for other, rng in item["against"].items():
            lo, hi = _range(rng, f"{i} in {path}")
            text = f"{item['codec']} vs {other} {lo:g}..{hi:g} %" + (f" at equal {', '.join(metrics)}" if metrics else "")
            out.append(Claim(str(item["codec"]), str(other), lo, hi, metrics, text))
    return out


def verdict(lo: float | None, hi: float | None, claim_lo: float, claim_hi: float) -> str:
    """The verdict on a measured saving interval ``[lo, hi]`` (%) against the claimed ``[claim_lo, claim_hi]`` (%).

    ``confirmed`` when [lo, hi] ⊆ [claim_lo, claim_hi]; ``exceeded`` when lo > claim_hi (the whole
    interval is a larger saving than the claim's better end); ``contradicted`` when hi < claim_lo
    (wholly worse than its worse end); ``inconclusive`` when it straddles a bound; ``not measured``
    without an interval.
    """
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "not measured"
    if claim_lo <= lo and hi <= claim_hi:
        return "confirmed"
    if lo > claim_hi:
        return "exceeded"
    if hi < claim_lo:
        return "contradicted"
    return "inconclusive"


@dataclass
class ClaimCheck:
    """One row per claim × other codec × metric × method (``table``), with how it was measured (``settings``)."""

    table: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """By the rows' verdicts: 1 a row contradicted; else 3 a row inconclusive; else 4 a row not measured;
        else 5 a row exceeded; 0 every row confirmed (:data:`EXIT_CODES`)."""
        found = set(self.table["verdict"])
        return next((code for v, code in EXIT_CODES.items() if v in found), 0)

    def markdown(self) -> str:
        """The table as Markdown (what the README quotes)."""
        lines = ["| claim (saving) | metric | method | measured | 95 % interval | verdict | conditions |",
                 "|---|---|---|---:|---:|---|---|"]  # fmt: skip
        for r in self.table.itertuples():
            lines.append(
                f"| {r.pair}: {r.claimed} | {r.metric} | {r.method} | {_pct(r.saving)} | "
                f"{_interval(r.ci_low, r.ci_high)} | **{r.verdict}** | {r.conditions} |"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<ClaimCheck: {len(self.table)} row{'s' * (len(self.table) != 1)}>\n{self.text()}"

    def _repr_html_(self) -> str:
        """Notebooks: one row per claim × other codec × metric × method, with the verdict."""
        rows = [{"claim (saving)": f"{r.pair}: {r.claimed}", "metric": r.metric, "method": r.method,
                 "measured": _pct(r.saving), "95 % interval": _interval(r.ci_low, r.ci_high), "verdict": r.verdict,
                 "conditions": r.conditions} for r in self.table.itertuples()]  # fmt: skip
        return pd.DataFrame(rows).to_html(index=False, escape=True)

    def text(self, width: int = 100) -> str:
        """Plain text for a terminal: per claimed pair, one line per metric × method, wrapped conditions."""
        import textwrap

        head = f"{'metric':<8} {'method':<18} {'measured':>15} {'95 % interval':>22}  verdict"
        out: list[str] = []
        for (pair, claimed), rows in self.table.groupby(["pair", "claimed"], sort=False):
            out += [""] * bool(out) + [f"{pair}: {claimed} smaller (claimed)", head, "-" * min(width, len(head) + 6)]
            for r in rows.itertuples():
                out.append(f"{r.metric[:8]:<8} {r.method[:18]:<18} {_pct(r.saving):>15} "
                           f"{_interval(r.ci_low, r.ci_high):>22}  {r.verdict}")  # fmt: skip
                if r.conditions:
                    out += textwrap.wrap(r.conditions, width, initial_indent="    ", subsequent_indent="    ")
        return "\n".join(out)


def _pct(v: Any) -> str:
    """A saving in words: ``42.0 % smaller`` / ``211 % larger`` (a negative saving is more bytes)."""
    if v is None or pd.isna(v):
        return "—"
    return f"{v:.1f} % smaller" if v >= 0 else f"{-v:.1f} % larger"


def _interval(lo: Any, hi: Any) -> str:
    if lo is None or pd.isna(lo):
        return "—"
    if lo >= 0:
        return f"{lo:.1f} … {hi:.1f} % smaller"
    if hi <= 0:
        return f"{-hi:.1f} … {-lo:.1f} % larger"
    return f"{-lo:.1f} % larger … {hi:.1f} % smaller"


def check_claims(
    run: str | Path | Run, claims: str | list[Claim], *, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> ClaimCheck:
    """Check ``claims`` (the one-line syntax, or parsed :class:`Claim` objects) against ``run``."""
    from .analysis.bdtable import bd_table
    from .analysis.targets import summarize_targets
    from .equal_quality import read_targets

    run = run if isinstance(run, Run) else Run.load(run)
    claims = parse_claims(claims) if isinstance(claims, str) else list(claims)
    rows: list[dict[str, Any]] = []
    targets = read_targets(run.path) if run.path is not None else None
    tsum = summarize_targets(targets, n_boot, seed, confidence) if targets is not None and len(targets) else None
    unavailable = run.manifest.metrics_unavailable
    bd_cache: dict[tuple[str, str], Any] = {}
    for c in claims:
        base = {"claim": c.text, "codec_label": c.codec_label, "anchor_label": c.anchor_label,
                "pair": f"{c.codec_label} vs {c.anchor_label}", "claimed": f"{c.lo:g}..{c.hi:g} %",
                "claimed_lo": c.lo, "claimed_hi": c.hi}  # fmt: skip
        try:
            pair = (run.resolve_codec(c.anchor_label), run.resolve_codec(c.codec_label))
        except QKError as exc:
            rows.append({**base, "metric": ", ".join(c.metrics) or "all", "method": "—", "saving": None, "ci_low": None,
                         "ci_high": None, "verdict": "not measured", "conditions": str(exc)})  # fmt: skip
            continue
        metrics = list(c.metrics) or list(run.metrics)
        present = [m for m in metrics if m in run.metrics]
        if pair not in bd_cache and present:
            bd_cache[pair] = bd_table(run, None, metrics=list(run.metrics), pairs=[pair], n_boot=n_boot, seed=seed,
                                      confidence=confidence)  # fmt: skip
        labels = (run.label(pair[1]), run.label(pair[0]))  # codec, anchor
        base.update(codec_label=labels[0], anchor_label=labels[1], pair=f"{run.display(labels[0])} vs {run.display(labels[1])}")
        for metric in metrics:
            if metric not in run.metrics:
                why = unavailable.get(metric, "not measured in this run").split("; ")[0]
                rows.append({**base, "metric": metric, "method": "—", "saving": None, "ci_low": None, "ci_high": None,
                             "verdict": "not measured", "conditions": f"{metric}: {why}"})  # fmt: skip
                continue
            cell = bd_cache[pair].cell(labels[1], labels[0], metric)
            if cell is None or pd.isna(cell["bd_rate"]):
                why = "no BD-rate" if cell is None else f"no BD-rate: {cell['reason']} ({cell['detail']})"
                rows.append({**base, "metric": metric, "method": "BD-rate", "saving": None, "ci_low": None,
                             "ci_high": None, "verdict": "not measured", "conditions": why})  # fmt: skip
            else:
                lo = None if pd.isna(cell["ci_high"]) else -cell["ci_high"]
                hi = None if pd.isna(cell["ci_low"]) else -cell["ci_low"]
                unit = f" {cell['unit']}" if cell["unit"] else ""
                over = f"over {cell['range_lo']:.4g}–{cell['range_hi']:.4g}{unit}"
                over += f" only ({cell['union']:.0%} of the union of both ranges)" if cell["partial"] else ""
                cond = f"{over}; {cell['excluded_note']}"
                if cell["corpus_images"] < 10:
                    n = int(cell["corpus_images"])
                    cond += f"; interval from {n} image{'s' * (n != 1)} only"
                rows.append({**base, "metric": metric, "method": "BD-rate", "saving": -cell["bd_rate"], "ci_low": lo,
                             "ci_high": hi, "verdict": verdict(lo, hi, c.lo, c.hi), "conditions": cond})  # fmt: skip
            if tsum is None:
                continue
            for target in dict.fromkeys(tsum.savings.loc[tsum.savings["metric"] == metric, "target"]):
                s = tsum.saving(target, labels[0], labels[1])
                if s is None:
                    continue
                method = f"target {target}"
                if s["delta"] is None or pd.isna(s["delta"]):
                    rows.append({**base, "metric": metric, "method": method, "saving": None, "ci_low": None,
                                 "ci_high": None, "verdict": "not measured", "conditions": s["note"]})  # fmt: skip
                    continue
                lo, hi = -s["ci_high"], -s["ci_low"]
                n = int(s["images_used"])
                cond = s["note"] + (f"; interval from {n} image{'s' * (n != 1)} only" if n < 10 else "")
                rows.append({**base, "metric": metric, "method": method, "saving": -s["delta"], "ci_low": lo,
                             "ci_high": hi, "verdict": verdict(lo, hi, c.lo, c.hi), "conditions": cond})  # fmt: skip
    columns = ["claim", "codec_label", "anchor_label", "pair", "claimed", "claimed_lo", "claimed_hi", "metric", "method",
               "saving", "ci_low", "ci_high", "verdict", "conditions"]  # fmt: skip
    settings = {"saving": "−BD-rate (%), or 1 − Σbytes(codec)/Σbytes(anchor) at an equal-quality target (%)",
                "interval": f"{confidence:.0%} percentile bootstrap over images, {n_boot} resamples, seed {seed}",
                "verdict": MEANING}  # fmt: skip
    return ClaimCheck(pd.DataFrame(rows, columns=columns), settings)
