"""Training and inference speed on one CUDA GPU at each pipeline's paper settings, and what the
precision knobs buy: train.amp (bf16, fp16), train.channels_last, train.compile, translate --half.

    python benchmarks/gpu_speed.py                                 # six presets, 4 variants each
    python benchmarks/gpu_speed.py --pipelines pix2pix cyclegan --steps 30
    python benchmarks/gpu_speed.py --compile pix2pix cyclegan      # adds bf16 + channels_last + compile rows

Why: the CPU tables say what a laptop does; a user with a GPU needs the step time at the papers'
settings, and whether mixed precision, NHWC and compilation pay off for these networks (batch-1
GAN steps of many small kernels can be bound by kernel launches, not by the tensor cores).

What is measured: Trainer.train_step (every G and D update of a step, the optimizers, and the
losses' .item(), which waits for the GPU) on batches of the demo's photos made before timing and
already on the GPU, so the data loader is left out; each preset's own batch size and crop; the
median of `--steps` steps after 3 warm-ups (compile: after the compiling steps, timed apart).
Each variant builds its networks anew from the same seed. Inference: Translator.translate_tensor
(the path translate.py takes, CPU tensors in and out) at batch 1 and 8, fp32 and --half, and
the PSNR of --half's output against fp32's. Peak memory: torch.cuda.max_memory_allocated.
Perceptual terms (ESRGAN, SPADE) run a randomly initialised VGG19 written to a temporary file:
the pretrained one costs the same and nothing is downloaded. PyTorch's defaults otherwise
(cuDNN may use TF32 for fp32 convolutions; benchmark mode off).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

from throughput import make_domains, make_labels  # noqa: E402  (the demo's folders as each data kind)

# pipeline -> demo folder and the paper's size (crop; ESRGAN: the HR crop); batch: the preset's own
PRESETS = {"pix2pix": ("paired", 256), "cyclegan": ("unpaired", 256), "stargan": ("domains", 128),
           "munit": ("unpaired", 256), "spade": ("labels", 256), "esrgan": ("sr/train", 128)}
VARIANTS = {"fp32": [], "bf16": ["train.amp=bf16"], "fp16": ["train.amp=fp16"],
            "bf16 + channels_last": ["train.amp=bf16", "train.channels_last=true"]}
DEVICE, EXTRA = "cuda", []  # --device cpu: a smoke test of this script where no GPU is; --set
COMPILED = ("bf16 + channels_last + compile", ["train.amp=bf16", "train.channels_last=true", "train.compile=true"])


def overrides(pipe: str, root: Path, vgg: Path) -> list[str]:
    """The preset at the paper's size on the demo's photos (then --set's KEY=VALUE)."""
    sub, size = PRESETS[pipe]
    out = [f"data.root={root / sub}", f"data.crop_size={size}", f"train.device={DEVICE}"]
    if pipe != "esrgan":
        out.append(f"data.load_size={size}")  # the crop is the whole (resized) photo: the paper's size
    if pipe in ("esrgan", "spade"):
        out.append(f"loss.vgg_weights={vgg}")
    return out + EXTRA


def image(t: torch.Tensor):
    """The first image of an N x C x H x W batch in [-1, 1], as metrics.quality takes it."""
    return ((t[0].float() + 1) / 2).permute(1, 2, 0).numpy()


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def timed_steps(step, n: int) -> list[float]:
    times = []
    for _ in range(n):
        sync()
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    return times


def peak_gib(reset: bool = False) -> float:
    if DEVICE != "cuda":
        return float("nan")
    if reset:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return torch.cuda.max_memory_allocated() / 2 ** 30


def measure(pipe: str, variant: list[str], root: Path, vgg: Path, steps: int, dataset, pool: list | None) -> dict:
    """`dataset`: the pipeline's, made once (the variants change train.* keys only)."""
    from i2i import config, engine, pipelines
    from i2i.errors import UserError
    try:
        cfg = config.load(pipe, overrides(pipe, root, vgg) + variant)
    except UserError as e:
        return {"refused": str(e)}
    torch.manual_seed(0)
    pipeline = pipelines.build_pipeline(cfg, dataset.meta)
    peak_gib(reset=True)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = engine.Trainer(pipeline, dataset, cfg, run_dir, show_progress=False)
        per_step = trainer.batches_per_step
        if pool is None:  # the first variant reads the photos once; the others reuse them
            it = iter(trainer.loader())
            pool = [next(it) for _ in range(per_step * 4)]
        sets = [[trainer._to_device(b) for b in pool[k * per_step:(k + 1) * per_step]] for k in range(4)]
        k = itertools.count()

        def step():
            b = sets[next(k) % len(sets)]
            return trainer.train_step(b[-1], b[:-1])

        t0 = time.perf_counter()
        warm = timed_steps(step, 3)
        first = time.perf_counter() - t0
        times = timed_steps(step, steps)
        out = {"pool": pool, "batch": cfg.train.batch_size, "images": per_step * cfg.train.batch_size,
               "step_s": statistics.median(times), "warmup_s": first, "first_step_s": warm[0],
               "mem_gib": peak_gib(), "losses_finite": all(
                   math.isfinite(v) for v in step().values())}
    return out


def inference(cfg, meta, pool: list, reps: int) -> dict:
    from i2i import inference as inf, pipelines
    from i2i.metrics.quality import psnr
    torch.manual_seed(0)
    pipeline = pipelines.build_pipeline(cfg, meta)
    b = pool[0]
    x1 = b["label_map"].float()[:1] if "label_map" in b else b["A"][:1]
    out, ref = {}, None
    for half in (False, True) if DEVICE == "cuda" else (False,):
        tr = inf.Translator(pipeline, cfg, torch.device(DEVICE), half=half)
        domains = pipeline.options().get("domain")
        for n in (1, 8):
            x = x1.expand(n, *x1.shape[1:]).contiguous()
            cond = tr.condition(pipelines.Request(domain=domains[-1]) if domains else None, n)
            y = tr.translate_tensor(x, cond)
            times = timed_steps(lambda: tr.translate_tensor(x, cond), reps)
            out[f"{'half' if half else 'fp32'}_b{n}_ips"] = n / statistics.median(times)
            if n == 1:
                if half:
                    out["half_psnr_vs_fp32"] = psnr(image(y), image(ref))
                else:
                    ref = y
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pipelines", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    ap.add_argument("--steps", type=int, default=20, help="timed training steps per variant")
    ap.add_argument("--compile", nargs="*", default=[], choices=list(PRESETS), metavar="PIPELINE",
                    help="pipelines that also get a bf16 + channels_last + torch.compile row (compiling takes minutes)")
    ap.add_argument("--json", help="also write every figure to this file")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for every row")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a smoke test of this script")
    args = ap.parse_args()
    global DEVICE, EXTRA
    DEVICE, EXTRA = args.device, args.set
    if DEVICE == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_speed.py needs a CUDA GPU (benchmarks/throughput.py measures the CPU)")
    import torchvision
    print(f"{torch.cuda.get_device_name() if DEVICE == 'cuda' else 'CPU'}, torch {torch.__version__}, {args.steps} timed steps after 3 warm-ups")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root, vgg = Path(tmp), Path(tmp) / "vgg19_random.pth"
        torch.save(torchvision.models.vgg19(weights=None).state_dict(), vgg)
        subprocess.run([sys.executable, str(REPO / "datasets" / "build_demo.py"), str(root)], check=True,
                       stdout=subprocess.DEVNULL)
        make_domains(root)
        make_labels(root)
        print(f"{'pipeline':<9} {'variant':<32} {'batch':>5} {'s/step':>8} {'img/s':>7} {'speed':>6} "
              f"{'GiB':>6} {'warm-up s':>9} finite", flush=True)
        from i2i import config, data, pipelines
        for pipe in args.pipelines:
            pool, base = None, None
            cfg = config.load(pipe, overrides(pipe, root, vgg))
            dataset = data.build_dataset(cfg.data, pipelines.pipeline_class(cfg).data_kind)
            variants = {k: VARIANTS[k] for k in args.variants}
            if pipe in args.compile:
                variants[COMPILED[0]] = COMPILED[1]
            for name, v in variants.items():
                try:
                    r = measure(pipe, v, root, vgg, args.steps, dataset, pool)
                except Exception as e:  # one failing row must not hide the others
                    r = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
                if "refused" in r or "error" in r:
                    print(f"{pipe:<9} {name:<32} {r.get('refused') or r.get('error')}", flush=True)
                    rows.append({"pipe": pipe, "variant": name, **r})
                    continue
                pool = r.pop("pool")
                base = base or r["step_s"]
                print(f"{pipe:<9} {name:<32} {r['batch']:>5} {r['step_s']:>8.4f} {r['images'] / r['step_s']:>7.1f} "
                      f"{base / r['step_s']:>5.2f}x {r['mem_gib']:>6.2f} {r['warmup_s']:>9.1f} {r['losses_finite']}",
                      flush=True)
                rows.append({"pipe": pipe, "variant": name, **r})
            if pool is not None:
                try:
                    inf = inference(cfg, dataset.meta, pool, reps=max(5, args.steps // 2))
                    print(f"{pipe:<9} inference img/s: fp32 {inf['fp32_b1_ips']:.1f} (batch 8: {inf['fp32_b8_ips']:.1f})"
                          + (f", --half {inf['half_b1_ips']:.1f} (batch 8: {inf['half_b8_ips']:.1f}); --half vs fp32 "
                             f"{inf['half_psnr_vs_fp32']:.1f} dB PSNR" if "half_b1_ips" in inf else ""), flush=True)
                    rows.append({"pipe": pipe, "variant": "inference", **inf})
                except Exception as e:
                    print(f"{pipe:<9} inference: {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
