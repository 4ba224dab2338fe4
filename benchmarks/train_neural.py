"""Train the bundled neural codec on the CID22 photographs.

One CompressAI ``bmshj2018-hyperprior`` (scale hyperprior) is trained at a base
λ, then fine-tuned once per rate point; each fine-tuned model is saved as a
compact float16 state dict (:mod:`qualitykit.neural.checkpoint`) and measured on
the CID22 validation split with real entropy-coded strings. Everything needed to
reproduce the run (seed, steps, λ, data hashes, wall time) goes to ``model.json``.

    nice -n 10 python benchmarks/train_neural.py --out qualitykit/models/qk-hyperprior-v1

Uses CUDA when available. Distortion is MSE on RGB in [0, 1]; the loss is
``λ · 255² · MSE + bpp`` (CompressAI's ``RateDistortionLoss``).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import random
import time
from pathlib import Path

import compressai
import numpy as np
import torch
from compressai.losses import RateDistortionLoss
from PIL import Image

from qualitykit.fsutil import sha256_file
from qualitykit.neural.checkpoint import ARCHITECTURES, build_model, compact_state_dict, load_state_dict

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "train" / "cid22"
ARCH = "bmshj2018-hyperprior"
#: Non-photographs listed in CID22's SOURCE.md; not trained on.
NON_PHOTOS = frozenset(
    """1129482 1454613116 1536017106 3DPieChart 962312 Abstract-Art-1 AgilityCourseElements
    Beam-Space-Processing Boxplot EPICA_Delta_D_Plot Lungs-Cross-Section-Illustration No-interference
    Performance-Graph StockQuoteGraph-20120521 Temperament-pie-chart-according-to-Eysenck
    Verkehrstote_Deutschland_1953-2012 adriankierman-report-page akfcrc022 klepas-Gentle-giants-of-the-sea-3
    newplot newplot_(1) nicubunu_Game_baddie_Policeman ularapi_Semarang_City_Logo""".split()
)


def load_split(folder: Path) -> tuple[list[torch.Tensor], dict[str, str]]:
    """RGB uint8 ``(3, H, W)`` tensors of the photographs in ``folder``, and their SHA-256 by relative path."""
    images, hashes = [], {}
    for path in sorted(folder.glob("*.png")):
        if path.stem in NON_PHOTOS:
            continue
        rgb = np.asarray(Image.open(path).convert("RGB"))
        images.append(torch.from_numpy(rgb).permute(2, 0, 1).contiguous())
        hashes[f"{folder.name}/{path.name}"] = sha256_file(path)
    return images, hashes


def random_crops(images: list[torch.Tensor], batch: int, size: int, rng: random.Random) -> torch.Tensor:
    """A float batch ``(batch, 3, size, size)`` in [0, 1] of random crops, randomly mirrored."""
    crops = []
    for _ in range(batch):
        img = images[rng.randrange(len(images))]
        top, left = rng.randrange(img.shape[1] - size + 1), rng.randrange(img.shape[2] - size + 1)
        crop = img[:, top : top + size, left : left + size]
        crops.append(crop.flip(2) if rng.random() < 0.5 else crop)
    return torch.stack(crops).float().div_(255)


def train(
    model, images, lmbda: float, steps: int, seconds: float, lr: float, args, rng: random.Random, device: str, tag: str
) -> dict:
    """Train ``model`` in place for ``steps`` steps or ``seconds`` of wall time, whichever ends first.

    Progress is the larger of the two fractions; the learning rate drops ×10 for its last 10 %.
    """
    criterion = RateDistortionLoss(lmbda=lmbda)
    main = [p for n, p in model.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
    opt, aux_opt = torch.optim.Adam(main, lr=lr), torch.optim.Adam(aux, lr=1e-3)
    model.train()
    start = time.perf_counter()
    step = 0
    while (progress := max(step / steps, (time.perf_counter() - start) / seconds)) < 1:
        step += 1
        for group in opt.param_groups:
            group["lr"] = lr / 10 if progress >= 0.9 else lr
        x = random_crops(images, args.batch, args.crop, rng).to(device)
        out = criterion(model(x), x)
        opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        opt.step()
        aux_opt.zero_grad()
        model.aux_loss().backward()
        aux_opt.step()
        if step % 250 == 0:
            psnr = -10 * math.log10(out["mse_loss"].item())
            print(
                f"[{tag}] step {step} loss {out['loss'].item():.4f} "
                f"est.bpp {out['bpp_loss'].item():.3f} psnr {psnr:.2f} dB {time.perf_counter() - start:.0f} s",
                flush=True,
            )
    wall = round(time.perf_counter() - start, 1)
    return {"lambda": lmbda, "steps": step, "max_steps": steps, "max_s": seconds, "lr": round(lr, 8), "wall_s": wall}


@torch.no_grad()
def validate(model, images: list[torch.Tensor]) -> dict:
    """Mean bpp of the real entropy-coded strings (no container header) and mean PSNR-RGB, on the CPU."""
    bpps, psnrs = [], []
    for img in images:
        x = img.unsqueeze(0).float() / 255
        enc = model.compress(x)
        x_hat = model.decompress(enc["strings"], enc["shape"])["x_hat"].clamp(0, 1)
        nbytes = sum(len(s) for strings in enc["strings"] for s in strings)
        bpps.append(nbytes * 8 / (x.shape[2] * x.shape[3]))
        mse = ((x_hat * 255).round() - img.float()).pow(2).mean().item()
        psnrs.append(10 * math.log10(255**2 / mse))
    return {"bpp": round(float(np.mean(bpps)), 4), "psnr_rgb": round(float(np.mean(psnrs)), 3), "images": len(images)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="CID22 folder with training/ and validation/")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lambdas", default="0.0035,0.0067,0.013,0.025", help="one model per λ, lowest rate first")
    parser.add_argument("--base-lambda", type=float, default=0.0067)
    parser.add_argument("--base-steps", type=int, default=5000)
    parser.add_argument("--finetune-steps", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=60, help="wall-time budget: 40 %% for the base model, the rest split across the fine-tunes")
    parser.add_argument("--N", type=int, default=48, help="channels of the transforms")
    parser.add_argument("--M", type=int, default=96, help="channels of the latent")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(args.seed)
    torch.set_flush_denormal(True)  # GDN produces subnormals that slow CPU training several-fold
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    rng = random.Random(args.seed)
    lambdas = [float(v) for v in args.lambdas.split(",")]
    train_images, train_hashes = load_split(args.data / "training")
    val_images, val_hashes = load_split(args.data / "validation")
    print(f"{len(train_images)} training and {len(val_images)} validation photographs; device {device}", flush=True)

    begin = time.perf_counter()
    budget = args.minutes * 60
    base = ARCHITECTURES[ARCH](args.N, args.M).to(device)
    stages = [train(base, train_images, args.base_lambda, args.base_steps, budget * 0.4, args.lr, args, rng, device, "base")]
    args.out.mkdir(parents=True, exist_ok=True)
    qualities = {}
    for q, lmbda in enumerate(lambdas, start=1):
        model = copy.deepcopy(base)
        stages.append(train(model, train_images, lmbda, args.finetune_steps, budget * 0.6 / len(lambdas), args.lr / 3, args, rng, device, f"q{q}"))
        path = args.out / f"q{q}.pt"
        torch.save(compact_state_dict(model), path)
        saved = build_model(ARCH, load_state_dict(path))
        qualities[str(q)] = {"file": path.name, "lambda": lmbda, "sha256": sha256_file(path), "validation": validate(saved, val_images)}
        print(f"[q{q}] saved {path} ({path.stat().st_size} bytes): {qualities[str(q)]['validation']}", flush=True)

    record = {
        "arch": ARCH,
        "metric": "mse",
        "stride": 64,
        "qualities": qualities,
        "training": {
            "script": "benchmarks/train_neural.py",
            "N": args.N,
            "M": args.M,
            "seed": args.seed,
            "batch": args.batch,
            "crop": args.crop,
            "loss": "lambda * 255^2 * MSE(RGB in [0,1]) + estimated bpp (compressai.losses.RateDistortionLoss)",
            "optimizer": "Adam (main), Adam lr 1e-3 (entropy-bottleneck quantiles); grad-norm clip 1.0; lr/10 for the last 10% of each stage",
            "stages": stages,
            "schedule": f"base model at lambda={args.base_lambda}, then one fine-tuned copy per lambda at lr/3",
            "total_steps": sum(s["steps"] for s in stages),
            "wall_s": round(time.perf_counter() - begin, 1),
            "device": device if device == "cpu" else torch.cuda.get_device_name(),
            "cpu_threads": torch.get_num_threads(),
            "machine": platform.platform(),
            "torch": torch.__version__,
            "compressai": compressai.__version__,
        },
        "data": {
            "source": "CID22-512 (Cloudinary Image Dataset 2022), CC BY-SA 4.0; see ../shared/datasets/train/cid22/SOURCE.md",
            "excluded_non_photos": sorted(NON_PHOTOS),
            "training_sha256": train_hashes,
            "validation_sha256": val_hashes,
        },
    }
    (args.out / "model.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"done in {record['training']['wall_s']} s", flush=True)


if __name__ == "__main__":
    main()
