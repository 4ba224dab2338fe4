"""PyTorch metrics (ssim, ms-ssim, lpips, lpips-vgg): qk against the reference libraries called directly.

    python benchmarks/bench_torch_metrics.py [--repeats 3] [--images 24] [--vgg-images 4] [--threads 1 2]
                                             [--only ssim lpips ...] [--memory] [--memory-only]

Speed: ms per Kodak pair (each image against its Pillow JPEG at q=50), for qk's metrics through
:func:`qualitykit.metrics.evaluate` and, interleaved in the same run (one round of every row,
then the next round), ``pytorch_msssim.ssim``/``ms_ssim`` and ``lpips.LPIPS`` called directly
on the same pairs as their documentation shows (uint8 → float tensors, then the call).
Figures: the median over ``--repeats`` rounds of the wall time for all pairs, divided by the
number of pairs, and the CPU time of the process likewise (more stable on a shared machine).
Each torch thread count of ``--threads`` is a separate block in the same process.

Memory (``--memory``): peak resident memory added by one call on one pair, in a fresh
subprocess per case (``VmHWM`` reset through ``/proc/self/clear_refs`` after the images are
made, then read after the call), divided by the pair's pixels.

LPIPS uses the real ImageNet backbones of ``../shared/weights`` when present (else a seeded
random one: same cost), with lpips's own v0.1 linear layers.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from bench_metrics import kodak_pairs  # the 24 Kodak images against their Pillow JPEG at q=50

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
KODAK = SHARED / "datasets" / "kodak"
WEIGHTS = {"alex": "alexnet-features-imagenet1k-v1.pth", "vgg": "vgg16-features-imagenet1k-v1.pth"}


def jpeg(image: np.ndarray, quality: int = 50) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def photographic(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A large photograph-like pair: Kodak images mirrored and tiled, then JPEG q=50."""
    photo = kodak_pairs(1)[0][0]
    tile = np.concatenate([photo, photo[::-1]], axis=0)
    tile = np.concatenate([tile, tile[:, ::-1]], axis=1)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]), 1)
    ref = np.ascontiguousarray(np.tile(tile, reps)[:height, :width])
    return ref, jpeg(ref)


def lpips_model(net: str):
    """``lpips.LPIPS`` v0.1 with the shared ImageNet features (else seeded random ones); and which."""
    import lpips
    import torch

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False)
    path = SHARED / "weights" / WEIGHTS[net]
    if not path.is_file():
        return model.eval(), "random backbone (same cost)"
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.net.load_state_dict({k: state[k.split(".", 1)[1]] for k in model.net.state_dict()})
    return model.eval(), f"ImageNet backbone ({path.name})"


# ---------------------------------------------------------------- the contenders


def contenders(pairs, vgg_pairs):
    """name → (function scoring its pairs, number of pairs)."""
    import lpips
    import torch
    from pytorch_msssim import ms_ssim, ssim

    from qualitykit.metrics import evaluate, get_metric, registry

    refs, dists = [p[0] for p in pairs], [p[1] for p in pairs]
    vrefs, vdists = [p[0] for p in vgg_pairs], [p[1] for p in vgg_pairs]
    alex, _ = lpips_model("alex")
    vgg, _ = lpips_model("vgg")
    q_ssim, q_ms = get_metric("ssim", device="cpu"), get_metric("ms-ssim", device="cpu")
    q_alex = registry.get("lpips")(device="cpu", model=alex)
    q_vgg = registry.get("lpips-vgg")(device="cpu", model=vgg)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].float()

    def ref_ssim(both: bool = False, only_ms: bool = False):
        def run():
            with torch.no_grad():
                for r, d in pairs:
                    x, y = tensor(r), tensor(d)
                    if not only_ms:
                        ssim(x, y, data_range=255, size_average=False)
                    if both or only_ms:
                        ms_ssim(x, y, data_range=255, size_average=False)

        return run

    def ref_lpips(model, ps):
        def run():
            with torch.no_grad():
                for r, d in ps:
                    model(lpips.im2tensor(r), lpips.im2tensor(d))

        return run

    n, nv = len(pairs), len(vgg_pairs)
    return {
        "ssim: qk": (lambda: evaluate([q_ssim], refs, dists), n),
        "ssim: pytorch_msssim": (ref_ssim(), n),
        "ms-ssim: qk": (lambda: evaluate([q_ms], refs, dists), n),
        "ms-ssim: pytorch_msssim": (ref_ssim(only_ms=True), n),
        "ssim + ms-ssim: qk (one family pass)": (lambda: evaluate([q_ssim, q_ms], refs, dists), n),
        "ssim + ms-ssim: pytorch_msssim (two calls)": (ref_ssim(both=True), n),
        "lpips (alex): qk": (lambda: q_alex.compute(refs, dists), n),
        "lpips (alex): lpips.LPIPS": (ref_lpips(alex, pairs), n),
        "lpips-vgg: qk": (lambda: q_vgg.compute(vrefs, vdists), nv),
        "lpips-vgg: lpips.LPIPS": (ref_lpips(vgg, vgg_pairs), nv),
    }


def speed(args) -> list[str]:
    import torch

    pairs = kodak_pairs(args.images)
    vgg_pairs = pairs[: args.vgg_images]
    table = {k: v for k, v in contenders(pairs, vgg_pairs).items() if any(o in k for o in args.only)}
    lines = [
        "| metric: implementation | torch threads | ms per pair, wall (median) | ms per pair, CPU (median) | pairs |",
        "|---|---:|---:|---:|---:|",
    ]
    for threads in args.threads:
        torch.set_num_threads(threads)
        for fn, _ in table.values():
            fn()  # warm-up round at this thread count
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in table}
        for _ in range(args.repeats):
            for name, (fn, n) in table.items():
                wall, cpu = time.perf_counter(), time.process_time()
                fn()
                times[name].append((1000 * (time.perf_counter() - wall) / n, 1000 * (time.process_time() - cpu) / n))
        for name, (_, n) in table.items():
            wall = statistics.median(t[0] for t in times[name])
            cpu = statistics.median(t[1] for t in times[name])
            lines.append(f"| {name} | {threads} | {wall:.1f} | {cpu:.1f} | {n} |")
    return lines


# ---------------------------------------------------------------- memory

MEMORY_CASES = [
    # (label, implementation, height, width)
    ("ssim + ms-ssim", "qk", 512, 768),
    ("ssim + ms-ssim", "pytorch_msssim", 512, 768),
    ("ssim", "qk", 512, 768),
    ("ssim", "pytorch_msssim", 512, 768),
    ("ssim + ms-ssim", "qk", 4000, 6000),
    ("lpips", "qk", 512, 768),
    ("lpips", "lpips.LPIPS", 512, 768),
    ("lpips", "qk", 1536, 2048),
    ("lpips", "qk", 4000, 6000),
    ("lpips-vgg", "qk", 512, 768),
    ("lpips-vgg", "lpips.LPIPS", 512, 768),
    ("lpips-vgg", "qk", 1024, 1536),
]


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def memory_child(label: str, impl: str, height: int, width: int) -> dict:
    """Run one case in this (fresh) process and return its peak added memory."""
    import torch

    torch.set_num_threads(1)
    ref, dist = kodak_pairs(1)[0] if (height, width) == (512, 768) else photographic(height, width)
    prepare = None
    if label.startswith("lpips"):
        from qualitykit.metrics import registry

        net = "vgg" if label == "lpips-vgg" else "alex"
        model, _ = lpips_model(net)
        if impl == "qk":
            metric = registry.get(label)(device="cpu", model=model)
            call = lambda: metric.compute([ref], [dist])
            prepare = lambda: metric.compute([ref[:64, :64]], [dist[:64, :64]])
        else:
            import lpips

            def call():
                with torch.no_grad():
                    model(lpips.im2tensor(ref), lpips.im2tensor(dist))
    else:
        names = ["ssim", "ms-ssim"] if label == "ssim + ms-ssim" else [label]
        if impl == "qk":
            from qualitykit.metrics import evaluate, get_metric

            metrics = [get_metric(n, device="cpu") for n in names]
            call = lambda: evaluate(metrics, [ref], [dist])
            prepare = lambda: evaluate(metrics, [ref[:200, :200]], [dist[:200, :200]])
        else:
            from pytorch_msssim import ms_ssim, ssim

            def call():
                with torch.no_grad():
                    x, y = (torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].float()
                            for a in (ref, dist))
                    ssim(x, y, data_range=255, size_average=False)
                    if "ms-ssim" in names:
                        ms_ssim(x, y, data_range=255, size_average=False)

    if prepare is not None:
        prepare()  # imports and lazily built state, not counted
    base = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current size
    start = time.perf_counter()
    call()
    seconds = time.perf_counter() - start
    added = _status("VmHWM") - base
    return {"added_bytes": added, "pixels": height * width, "seconds": seconds}


def memory(args) -> list[str]:
    lines = [
        "| metric | implementation | image | peak added memory | bytes per pixel | s |",
        "|---|---|---|---:|---:|---:|",
    ]
    for label, impl, h, w in MEMORY_CASES:
        if label == "lpips-vgg" and args.skip_vgg:
            continue
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", label, impl, str(h), str(w)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        lines.append(
            f"| {label} | {impl} | {w}×{h} | {r['added_bytes'] / 2**20:.0f} MiB | "
            f"{r['added_bytes'] / r['pixels']:.0f} | {r['seconds']:.1f} |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=24, help="Kodak pairs for ssim, ms-ssim, lpips")
    parser.add_argument("--vgg-images", type=int, default=4, help="Kodak pairs for lpips-vgg (seconds each)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", nargs="+", default=[""], metavar="TEXT", help="rows whose name contains TEXT")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory per pixel")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--skip-vgg", action="store_true", help="memory: leave lpips-vgg out (minutes)")
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        label, impl, h, w = args.memory_child
        print(json.dumps(memory_child(label, impl, int(h), int(w))))
        return

    import torch

    from qualitykit.provenance import machine

    m = machine()
    _, backbone = lpips_model("alex")
    print(f"Command: python benchmarks/bench_torch_metrics.py {' '.join(sys.argv[1:])}")
    print(f"Machine: {m['cpu']}, {m['cpus']} CPUs; torch {torch.__version__}; LPIPS: {backbone}")
    if not args.memory_only:
        print(f"Load average at start: {os.getloadavg()[0]:.2f}")
        print("\n".join(speed(args)))
        print(f"Load average at end: {os.getloadavg()[0]:.2f}")
    if args.memory or args.memory_only:
        print()
        memory(args)


if __name__ == "__main__":
    main()
