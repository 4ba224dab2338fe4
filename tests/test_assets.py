"""The asset registry: recognition by content, one download policy, ``qk weights``, layering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from compressai.models import ScaleHyperprior

from qualitykit import assets
from qualitykit.cli import main
from qualitykit.cli.weights import load_all
from qualitykit.datasets import resolve
from qualitykit.metrics.backbones import ALEXNET, VGG16
from qualitykit.neural import models
from qualitykit.runner import make_plan

from .conftest import WEIGHTS, shared_weights_or_skip

ROOT = Path(__file__).resolve().parents[1]


def published_hashes() -> dict[str, str]:
    """The tensor-content sha256 column of ../shared/weights/SOURCE.md, by file name."""
    rows = [line.split("|") for line in (WEIGHTS / "SOURCE.md").read_text().splitlines() if line.startswith("| `")]
    return {r[1].strip().strip("`"): r[4].strip().strip("`") for r in rows}


def test_tensor_hash_is_the_published_one() -> None:
    shared_weights_or_skip()
    published = published_hashes()
    assert published["alexnet-features-imagenet1k-v1.pth"] == ALEXNET.sha256
    assert published["vgg16-features-imagenet1k-v1.pth"] == VGG16.sha256
    for name, expected in published.items():
        assert assets.content_sha256(WEIGHTS / name, "features") == expected


def test_a_content_hash_is_remembered_between_processes(tmp_path, monkeypatch) -> None:
    """The next process finds a recognised file without importing PyTorch (seconds of every rerun);
    a changed file is hashed again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.setattr(assets, "_content_cache", None)
    path = tmp_path / "features.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).features.state_dict(), path)
    expected = assets.content_sha256(path, "features")
    assert expected is not None and assets.content_hash_cache().is_file()
    probe = (
        "import sys; from pathlib import Path; from qualitykit import assets; "
        f"print(assets.content_sha256(Path({str(path)!r}), 'features'), 'torch' in sys.modules)"
    )
    env = {**__import__("os").environ, "XDG_CACHE_HOME": str(tmp_path / "home-cache")}
    run = lambda: subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert run().stdout.split() == [expected, "False"]
    with torch.no_grad():
        state = torch.load(path, weights_only=True)
        state["0.bias"][0] += 1
    torch.save(state, path)
    changed = run().stdout.split()
    assert changed[0] != expected and changed[1] == "True"


@pytest.mark.parametrize("variable", ["TORCH_HOME", "XDG_CACHE_HOME"])
def test_the_hub_folder_is_torchs_own_found_without_importing_torch(tmp_path, monkeypatch, variable) -> None:
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv(variable, str(tmp_path / "home"))
    probe = "import sys; from qualitykit import assets; print(assets.hub_checkpoints(), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(Path(torch.hub.get_dir()) / "checkpoints"), "False"]
    assert str(tmp_path / "home") in out


def test_both_layouts_select_the_same_part() -> None:
    full = torchvision.models.alexnet(weights=None).state_dict()
    features_only = {k.removeprefix("features."): v for k, v in full.items() if k.startswith("features.")}
    a, b = assets.select_part(full, "features"), assets.select_part(features_only, "features")
    assert a is not None and b is not None and list(a) == list(b) == ["0.weight", "0.bias", "3.weight", "3.bias",
                                                                       "6.weight", "6.bias", "8.weight", "8.bias",
                                                                       "10.weight", "10.bias"]  # fmt: skip
    assert assets.tensor_sha256(a) == assets.tensor_sha256(b)
    assert assets.select_part({"classifier.1.weight": full["classifier.1.weight"]}, "features") is None
    b["0.weight"] = b["0.weight"].clone()
    b["0.weight"][0, 0, 0, 0] += 1
    assert assets.tensor_sha256(a) != assets.tensor_sha256(b)


def test_register_keeps_one_owner_per_name_and_collects_users() -> None:
    load_all()
    assert sorted(assets.users(VGG16)) == ["dists", "lpips-vgg"] and assets.users(ALEXNET) == ["lpips"]
    assert assets.register(VGG16, used_by="dists") is VGG16 and sorted(assets.users(VGG16)) == ["dists", "lpips-vgg"]
    with pytest.raises(ValueError, match="already registered"):
        assets.register(assets.Asset(VGG16.name, "something else", url="https://example.invalid/x.pth"), used_by="x")
    names = {a.name for a in assets.registered()}
    assert {"alexnet-features", "vgg16-features", "dists-alpha-beta", "lpips-alex-v0.1",
            "bmshj2018-hyperprior/mse/q3", "cheng2020-attn/ms-ssim/q6", "qk-hyperprior-v1/q4"} <= names  # fmt: skip


def _imports(module: str) -> set[str]:
    """Absolute names of the qualitykit modules ``module`` imports (its own import statements)."""
    import ast

    path = ROOT / (module.replace(".", "/") + ".py")
    package = module.rsplit(".", 1)[0].split(".")
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names |= {target} | {f"{target}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return {n for n in names if n.startswith("qualitykit")}


def test_layers_point_down() -> None:
    """The asset module imports no codec or metric; the neural model code imports no codec."""
    assert _imports("qualitykit.assets") == {"qualitykit.errors", "qualitykit.errors.QKError", "qualitykit.errors.Unavailable",
                                             "qualitykit.fsutil", "qualitykit.fsutil.atomic_write_text",
                                             "qualitykit.fsutil.cache_home", "qualitykit.fsutil.sha256_file"}  # fmt: skip
    for module in ("qualitykit.neural.models", "qualitykit.neural.checkpoint"):
        assert not {n for n in _imports(module) if n.startswith(("qualitykit.codecs", "qualitykit.metrics"))}, module
    assert "qualitykit.assets" in _imports("qualitykit.neural.models")


def test_bundled_files_are_verified(monkeypatch, tmp_path) -> None:
    load_all()
    q1 = next(a for a in assets.registered() if a.name == "qk-hyperprior-v1/q1")
    assert assets.locate(q1) == Path(q1.bundled)
    altered = tmp_path / "q1.pt"
    altered.write_bytes(Path(q1.bundled).read_bytes() + b"\0")
    forged = assets.Asset("forged", "forged", sha256=q1.sha256, bundled=str(altered))
    assert assets.locate(forged) is None and "has other contents" in assets.why_missing(forged)
    with pytest.raises(assets.Unavailable, match="reinstall"):
        assets.fetch(forged)


class FakeServer:
    """Stands in for torch.hub's download: writes what a server would send — torchvision's AlexNet
    layout holding ``features`` (the shared file's tensors, or random ones when ``None``), else a tiny
    hyperprior checkpoint; records the URLs asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.features: Path | None = WEIGHTS / "alexnet-features-imagenet1k-v1.pth"

    def __call__(self, url, dst, hash_prefix=None, progress=True) -> None:
        self.asked.append(url)
        if "alexnet" in url:
            model = torchvision.models.alexnet(weights=None)
            if self.features is not None:
                model.features.load_state_dict(torch.load(self.features, weights_only=True))
            torch.save(model.state_dict(), dst)
        else:
            torch.manual_seed(0)
            torch.save(ScaleHyperprior(8, 16).state_dict(), dst)


@pytest.fixture
def fake_server(monkeypatch, tmp_path) -> FakeServer:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(assets.ENV, raising=False)
    server = FakeServer()
    monkeypatch.setattr(torch.hub, "download_url_to_file", server)
    return server


def test_download_goes_to_the_hub_cache_and_is_checked(fake_server, tmp_path) -> None:
    shared_weights_or_skip()
    path = assets.fetch(ALEXNET)
    assert path == tmp_path / "torch" / "hub" / "checkpoints" / ALEXNET.filename and fake_server.asked == [ALEXNET.url]
    assert assets.fetch(ALEXNET) == path and len(fake_server.asked) == 1, "present: no second download"


def test_download_with_other_tensors_is_refused(fake_server, tmp_path) -> None:
    fake_server.features = None  # the server sends a random AlexNet
    with pytest.raises(assets.Unavailable, match="does not hold AlexNet"):
        assets.fetch(ALEXNET)
    assert not (tmp_path / "torch" / "hub" / "checkpoints" / ALEXNET.filename).exists()


def test_planner_fetches_named_zoo_weights_in_the_main_process(fake_server, small_corpus, tmp_path, monkeypatch) -> None:
    """A zoo model named in --codecs is fetched by make_plan (main process, before any work); the
    run then reads it from the cache, offline."""
    from urllib.error import URLError

    from qualitykit.api import bench

    plan = make_plan(resolve(str(small_corpus)), ["neural:bmshj2018-hyperprior:q=1/2"], ["psnr"], device="cpu")
    assert plan.codecs_unavailable == {}
    assert fake_server.asked == [models.zoo_url("bmshj2018-hyperprior", "mse", q) for q in (1, 2)]
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: (_ for _ in ()).throw(URLError("offline")))
    result = bench(str(small_corpus), ["neural:bmshj2018-hyperprior:q=1/2"], ["psnr"], out=tmp_path / "run",
                   cache=tmp_path / "c.sqlite", jobs=2, device="cpu", report=False)  # fmt: skip
    assert len(result.table) == 8 and result.table["psnr"].notna().all() and result.errors == []


def test_planner_reports_a_zoo_model_it_cannot_fetch(monkeypatch, small_corpus, tmp_path) -> None:
    from urllib.error import URLError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: (_ for _ in ()).throw(URLError("offline")))
    plan = make_plan(resolve(str(small_corpus)), ["jpeg:q=50", "neural:mbt2018-mean:q=3"], ["psnr"], device="cpu")
    why = plan.codecs_unavailable["neural:mbt2018-mean:q=3"]
    assert models.zoo_url("mbt2018-mean", "mse", 3) in why and "download failed" in why
    assert [c.spec for c in plan.codecs] == ["jpeg:q=50"]


def test_default_metric_set_leaves_out_the_opt_in_metrics(small_corpus) -> None:
    plan = make_plan(resolve(str(small_corpus)), ["jpeg:q=50"], None, device="cpu")
    from qualitykit.metrics import registry

    opt_in = {n for n in registry.names() if not registry.get(n).default}
    assert {"dists", "lpips-vgg"} <= opt_in
    assert not opt_in & {m.name for m in plan.metrics} and not opt_in & set(plan.metrics_unavailable)
    assert {"psnr", "ssim", "vmaf"} <= {m.name for m in plan.metrics}


def qk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "qualitykit", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)  # fmt: skip


@pytest.mark.slow  # two qk processes (10 s); the fast tier: the download names and bundled-file checks
def test_qk_weights_lists_every_asset_and_where(tmp_path) -> None:
    shared_weights_or_skip()
    res = qk("weights", env={"QK_WEIGHTS_DIR": str(WEIGHTS), "TORCH_HOME": str(tmp_path / "torch")})
    assert res.returncode == 0, res.stderr
    lines = {line.split()[0]: line for line in res.stdout.splitlines() if line.startswith("  ")}
    assert str(WEIGHTS / "alexnet-features-imagenet1k-v1.pth") in lines["alexnet-features"]
    assert "lpips-vgg, dists" in lines["vgg16-features"] and str(WEIGHTS / "vgg16-features-imagenet1k-v1.pth") in lines["vgg16-features"]
    assert "bundled: " in lines["dists-alpha-beta"] and "bundled q1 q2 q3 q4" in lines["qk-hyperprior-v1"]
    assert "missing q1 q2 q3 q4 q5 q6 q7 q8" in lines["bmshj2018-hyperprior/mse"]
    assert "missing q1 q2 q3 q4 q5 q6 (" in lines["cheng2020-anchor/ms-ssim"]
    assert "QK_WEIGHTS_DIR" in res.stdout and f"searched, in order: {WEIGHTS}, {tmp_path / 'torch'}" in res.stdout
    # without the shared folder: the backbones are missing, with their URL
    res = qk("weights", env={"QK_WEIGHTS_DIR": "", "TORCH_HOME": str(tmp_path / "torch")})
    assert "MISSING: https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in res.stdout


def test_qk_weights_download_names(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert main(["weights", "--download", "nope"]) == 2
    assert "unknown asset 'nope'" in capsys.readouterr().err
    asked = []
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda url, dst, *a, **k: asked.append(url) or
                        torch.save(ScaleHyperprior(8, 16).state_dict(), dst))  # fmt: skip
    assert main(["weights", "--download", "bmshj2018-hyperprior/mse", "mbt2018-mean/ms-ssim/q2"]) == 0
    assert len(asked) == 9 and asked[-1] == models.zoo_url("mbt2018-mean", "ms-ssim", 2)
    out = capsys.readouterr().out
    assert "cached q1 q2 q3 q4 q5 q6 q7 q8 in " in out and "bmshj2018-hyperprior/mse" in out


def test_manifest_records_metric_info(small_corpus, tmp_path) -> None:
    from qualitykit.api import bench

    bench(str(small_corpus), ["jpeg:q=50"], ["psnr", "vmaf"], out=tmp_path / "run", cache=tmp_path / "c.sqlite", jobs=1)
    recorded = {m["name"]: m for m in json.loads((tmp_path / "run" / "manifest.json").read_text())["metrics"]}
    assert recorded["vmaf"]["saturation"] == 99.5 and recorded["vmaf"]["range"] == [0.0, 100.0]
    assert "BT.601 limited range, yuv444p" in recorded["vmaf"]["description"] and recorded["psnr"]["unit"] == "dB"
