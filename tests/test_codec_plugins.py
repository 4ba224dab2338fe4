"""Codec plugins through real entry points, and registrations that do not leak between tests."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qualitykit.codecs import codec_from_spec, registry
from qualitykit.errors import UnknownName

ROOT = Path(__file__).resolve().parents[1]


def make_dist(folder: Path, entry_points: str) -> Path:
    """A minimal installed distribution (just its ``dist-info``) declaring ``entry_points``."""
    info = folder / "qk_fake_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: qk-fake-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    return folder


@pytest.fixture
def plugin_path(tmp_path, monkeypatch) -> Path:
    registry.names()  # load the global registry *before* the plugin exists, so only isolated() sees it
    path = make_dist(tmp_path / "site", "[qualitykit.codecs]\nfakeplug = tests.fake_codecs:FakePlugin\n")
    monkeypatch.syspath_prepend(str(path))
    importlib.invalidate_caches()
    return path


def test_entry_point_plugin_is_found_and_forgotten(plugin_path, astronaut):
    assert "fakeplug" not in registry.names()
    with registry.isolated():
        assert "fakeplug" in registry.names()
        codec, ladder = codec_from_spec("fakeplug:level=9:q=2/4")
        assert codec.id == "fakeplug:level=9" and ladder == (2.0, 4.0)
        image = astronaut[:40, :50]
        assert np.abs(codec.decode(codec.encode(image, 4)).astype(int) - image).max() <= 8
    assert "fakeplug" not in registry.names()
    with pytest.raises(UnknownName, match="fakeplug"):
        codec_from_spec("fakeplug")


def test_contract_tests_pick_up_an_installed_plugin(plugin_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", str(ROOT / "tests" / "test_codec_contract.py"),
         "-k", "fakeplug", "-rA"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = [line for line in done.stdout.splitlines() if line.startswith("PASSED") and "[fakeplug]" in line]
    assert len(passed) == 7, done.stdout[-3000:]


def test_a_broken_plugin_is_reported_not_fatal(tmp_path, monkeypatch):
    registry.names()
    path = make_dist(tmp_path / "site", "[qualitykit.codecs]\nbroken = no_such_module_qk:Codec\n")
    monkeypatch.syspath_prepend(str(path))
    importlib.invalidate_caches()
    with registry.isolated():
        assert "jpeg" in registry.names() and "broken" in registry.broken()
        assert "no_such_module_qk" in registry.broken()["broken"]


def test_temporary_registration(astronaut):
    from tests.fake_codecs import FakePlugin

    with registry.temporarily(FakePlugin):
        assert codec_from_spec("fakeplug")[0].id == "fakeplug:level=6"
    assert "fakeplug" not in registry.names()
    from qualitykit.codecs.jpeg import JPEG

    class Impostor(JPEG):
        name = "jpeg"

    with pytest.raises(ValueError, match="taken"):
        with registry.temporarily(Impostor):
            pass
    assert registry.get("jpeg") is JPEG
