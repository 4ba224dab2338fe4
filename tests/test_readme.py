"""Every code block of README.md runs, offline, as written (shell and Python), with ../shared beside the checkout.

The blocks run in order in a scratch folder laid out like a checkout: ``../shared/datasets/kodak`` there holds
three Kodak images (from the real ``../shared``), ``qk`` is ``python -m qualitykit`` of this checkout, the cache is
fresh. What the test changes, and why, is in :data:`CHANGES` and :data:`SKIPPED`; every such line must still be in
the README, so the README cannot drift away from what is tested. Files the commands read are made first: the two
images ``qk compare`` takes, runs named as the README names them (links to the runs made by earlier lines) and
CompressAI-style JSON curves (written from a run's own curves).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qualitykit.claims import EXIT_CODES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"
KODAK_SUBSET = ("kodim03.png", "kodim07.png", "kodim23.png")

#: README text → what runs instead, and why (each left side must occur in the README).
CHANGES = {
    "pip install -e '.[learned]' && qk bench ": ("qk bench --metrics psnr,ms-ssim ", "the checkout is installed already; two metrics keep it fast"),
    "qk bench --codecs 'jpeg:q=10/30/50/70/90,avif:subsampling=444:q=20/40/60/80'":
        ("qk bench --codecs 'jpeg:q=10/30/50/70/90,avif:subsampling=444:q=20/40/60/80' --metrics psnr", "one metric keeps it fast"),
    "qk bench --codecs jpeg,webp,avif --target ms-ssim=0.98":
        ("qk bench --codecs jpeg,webp,avif --target ms-ssim=0.98 --metrics psnr", "one more metric than the target's"),
}  # fmt: skip
#: README lines not run, and why.
SKIPPED = {
    "pip install -e '.[test]' && python -m pytest": "the test suite itself (the test checks that the extra exists)",
    "pip install qualitykit       # the core install": "an install from the package index (the core install is tested in tests/test_light_install.py)",
}


def code_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block, in order."""
    return re.findall(r"^```(\w+)\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_blocks_are_all_shell_or_python_and_every_change_still_applies():
    text = README.read_text(encoding="utf-8")
    blocks = code_blocks(text)
    assert len(blocks) >= 5 and {lang for lang, _ in blocks} == {"bash", "python"}
    for old in [*CHANGES, *SKIPPED]:
        assert old in text, f"README no longer says {old!r}: update tests/test_readme.py"
    extras = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for extra in re.findall(r"'\.\[(\w+)\]'", text):
        assert re.search(rf"^{extra} = \[", extras, flags=re.M), f"README names the extra [{extra}], pyproject has none"


def _python_script(code: str) -> str:
    """The block as a script that prints the ``repr`` (and checks the ``_repr_html_``) of every bare expression, as
    a notebook shows them."""
    tree = ast.parse(code)
    body = []
    for node in tree.body:
        if isinstance(node, ast.Expr):
            show = ast.parse("__show(None)").body[0]
            show.value.args = [node.value]
            node = ast.copy_location(show, node)
        body.append(node)
    tree.body = body
    prelude = (
        "def __show(value):\n"
        "    for v in value if isinstance(value, tuple) else (value,):\n"
        "        print(repr(v))\n"
        "        if hasattr(v, '_repr_html_'):\n"
        "            assert '<' in v._repr_html_()\n"
    )
    return prelude + ast.unparse(ast.fix_missing_locations(tree))


class Checkout:
    """The scratch checkout the blocks run in, and the files they expect to find."""

    def __init__(self, base: Path) -> None:
        self.dir = base / "checkout"
        self.dir.mkdir()
        kodak = base / "shared" / "datasets" / "kodak"
        kodak.mkdir(parents=True)
        for name in KODAK_SUBSET:
            (kodak / name).symlink_to(SHARED / "datasets" / "kodak" / name)
        (base / "shared" / "weights").symlink_to(SHARED / "weights")
        bin_dir = base / "bin"
        bin_dir.mkdir()
        (bin_dir / "qk").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m qualitykit "$@"\n')
        (bin_dir / "qk").chmod(0o755)
        self.env = {
            **os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
            "QK_CACHE": str(base / "cache.sqlite"), "QK_WEIGHTS_DIR": str(SHARED / "weights"), "COLUMNS": "100",
            "TORCH_HOME": str(base / "torch"), "GITHUB_STEP_SUMMARY": str(base / "summary.md"),
        }  # fmt: skip
        subprocess.run(["git", "init", "-q", str(self.dir)], check=True)
        self._images()

    def _images(self) -> None:
        from PIL import Image

        with Image.open(SHARED / "datasets" / "kodak" / KODAK_SUBSET[0]) as im:
            crop = im.convert("RGB").crop((0, 0, 256, 192))
        crop.save(self.dir / "ref.png")
        crop.save(self.dir / "decoded.jpg", quality=40)
        with Image.open(self.dir / "decoded.jpg") as im:
            im.save(self.dir / "decoded.png")

    def after(self, line: str) -> None:
        """Files the next lines expect, once the runs they are made from exist."""
        runs = sorted((self.dir / "reports").glob("kodak-*"), key=lambda p: p.stat().st_mtime)
        named = self.dir / "reports" / "kodak-20261125-101500"
        if runs and not named.exists():
            named.symlink_to(runs[0].name)
            (self.dir / "runs").mkdir()
            for name in ("a", "b"):
                (self.dir / "runs" / name).symlink_to(runs[0])
            results = pd.read_csv(runs[0] / "results.csv")
            for codec, name in (("jpeg", "jpeg.json"), ("avif", "vtm.json"), ("webp", "compressai-webp.json")):
                rows = results[results["codec_label"].str.startswith(codec)]
                mean = rows.groupby("q")[["bpp", "psnr", "ms-ssim"]].mean().sort_values("bpp")
                curves = {"bpp": mean["bpp"].tolist(), "psnr-rgb": mean["psnr"].tolist(), "ms-ssim-rgb": mean["ms-ssim"].tolist()}
                (self.dir / name).write_text(json.dumps({"name": name.removesuffix(".json"), "results": curves}))
        baseline = self.dir / "reports" / "baseline"
        if baseline.is_dir() and not (self.dir / "reports" / "pr-123").exists():
            (self.dir / "reports" / "pr-123").symlink_to("baseline")

    def run(self, command: str, timeout: int = 600) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", command], cwd=self.dir, env=self.env, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip


#: Exit status a README line may end with besides 0: ``qk claim`` ends with its verdict's (claims.EXIT_CODES).
ALLOWED = {"qk claim ": set(EXIT_CODES.values())}  # every verdict has its exit status; 2 (bad input) is not one


@pytest.mark.slow
def test_every_readme_block_runs_offline(tmp_path):
    if not (SHARED / "datasets" / "kodak" / KODAK_SUBSET[0]).is_file():
        pytest.skip(f"{SHARED}/datasets/kodak not found: the README's Kodak commands need ../shared beside the checkout")
    checkout = Checkout(tmp_path)
    ran = 0
    for lang, code in code_blocks(README.read_text(encoding="utf-8")):
        if lang == "python":
            res = checkout.run(f"{sys.executable} - <<'EOF'\n{_python_script(code)}\nEOF")
            assert res.returncode == 0, f"{code}\n{res.stderr[-3000:]}"
            assert "Traceback" not in res.stderr and "<BenchResult: " in res.stdout
            assert "smallest files at equal quality" in res.stdout  # print(qualitykit.answer(...))
            ran += 1
            continue
        for line in code.splitlines():
            if not line.strip() or any(line.startswith(s) for s in SKIPPED):
                continue
            command = line
            for old, (new, _) in CHANGES.items():
                command = command.replace(old, new)
            res = checkout.run(command)
            allowed = next((codes for prefix, codes in ALLOWED.items() if line.startswith(prefix)), {0})
            assert res.returncode in allowed, f"README: {line}\nran: {command}\nexit {res.returncode}\n{res.stderr[-3000:]}"
            assert "Traceback" not in res.stderr, f"README: {line}\n{res.stderr[-3000:]}"
            checkout.after(line)
            ran += 1
    assert ran >= 20
    assert (checkout.dir / "quality" / "baseline.json").is_file() and (checkout.dir / "gate.xml").is_file()
    assert "git add" in README.read_text(encoding="utf-8") and (tmp_path / "summary.md").stat().st_size > 0
