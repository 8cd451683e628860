"""CPU throughput of the paper presets (pix2pix, CycleGAN at 128 and 256 px; StarGAN at 128 px;
MUNIT and SPADE at 256 px).

    python benchmarks/throughput.py                     # full run (~8 min on 2 cores)
    python benchmarks/throughput.py --quick             # smoke test (128 px, 1 timed step)
    python benchmarks/throughput.py --sizes 256 --steps 5
    python benchmarks/throughput.py --pipelines stargan --quick
    python benchmarks/throughput.py --pipelines munit --steps 3
    python benchmarks/throughput.py --pipelines spade --steps 2
    python benchmarks/throughput.py --reference-settings  # i2i vs the pix2pix/CycleGAN reference's step
    python benchmarks/throughput.py --reference-settings --no-ablations --rounds 8  # i2i and reference only

Why: a user without a GPU needs to know what a training step and a translation cost on
their machine, and whether that number is a property of the hardware or of the code. So
next to images/s this prints
  * achieved GFLOP/s (conv/matmul FLOPs counted by torch's FlopCounterMode, divided by the
    measured time) and its fraction of a peak measured on the same machine (the best large
    matmul or conv seen during the run): the limit the convolutions could at best reach;
  * what the DataLoader (trainer.loader(), the config's num_workers) delivers from a real
    folder dataset (datasets/build_demo.py), to show whether training is input-bound;
  * peak RSS (ru_maxrss): each config runs in its own subprocess (`--one PIPE SIZE`) so
    high-water marks of different configs never mix; deltas are over the RSS after imports
    (the loader's worker processes are not included).

What is measured: a full Trainer.train_step (G step then D step, optimizers included) at
batch size 1 as in the pix2pix and CycleGAN papers, after 2 warm-up steps (the first one runs
under the FLOP counter); inference is Translator.translate_tensor (eval mode, no_grad, one
direction / one target domain). Networks are the presets' full-size ones; only
data.crop_size/load_size change, except that pix2pix below 256 px uses unet_128 (unet_256's 8
halvings need >= 256 px; the reference code uses unet_128 for 128 px data).
StarGAN (paper size: 128 px, 6 blocks, ngf/ndf 64) is also measured at batch 1 so the rows
compare (the paper trains at batch 16), on three domain folders made from the demo tiles. Its
step is 1 G update + train.d_steps = 5 D updates, each D update on its own batch (the last one
shares the G update's batch): a step consumes 5 batches, and its train img/s and GFLOP per
image count all 5 images (step seconds are per step). By default StarGAN runs at 128 px only
(the paper's size); --sizes applies to it too. MUNIT (edges2shoes size: 256 px, dim 64, 4 blocks,
3-scale D) runs at 256 px on the demo's unpaired folders; its inference is one direction with
one random style. SPADE (the ADE20K-sized generator, nf 64, 7 SPADE blocks, 2-scale spectral D)
runs at 256 px on 8-class label maps made from the demo's photos (datasets/build_labels.py),
without its VGG term (no VGG weights are downloaded; the term adds a VGG19 pass per image).
The loader is timed before training and shut down, so its workers do not steal the 2 cores
from the timed steps; training reuses the batches it made.
FLOPs count convolutions and matmuls only (2 per multiply-add): norms, activations and the
Adam update are memory-bound extras that also take time but no counted FLOPs.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from i2i.runtime import keep_freed_memory

REPO = Path(__file__).resolve().parents[1]
SUBSETS = {"pix2pix": "paired", "cyclegan": "unpaired", "stargan": "domains", "munit": "unpaired",
           "spade": "labels"}  # demo folders
DEFAULT_SIZES = {"pix2pix": [128, 256], "cyclegan": [128, 256], "stargan": [128],  # StarGAN: the paper's 128 px
                 "munit": [256], "spade": [256]}  # MUNIT: its edges2shoes 256 px; SPADE: ADE20K's 256 px
# StarGAN's domain folders, made from the demo's tiles: clean, degraded (paired/A) and warm-graded photos
DOMAINS = {"clean": "paired/train/B", "degraded": "paired/train/A", "warm": "unpaired/trainB"}


def make_domains(root: Path) -> None:
    """root/domains/train/<domain>/: the demo tiles as StarGAN's folder-per-domain data."""
    for name, src in DOMAINS.items():
        dst = root / "domains" / "train" / name
        dst.mkdir(parents=True, exist_ok=True)
        for p in sorted((root / src).iterdir()):
            shutil.copyfile(p, dst / p.name)


def make_labels(root: Path) -> None:
    """root/labels/train/{labels,images}/: the demo's clean photos and their 8-class label maps."""
    sys.path.insert(0, str(REPO))
    from datasets.build_labels import fit_centres, write_split
    from PIL import Image
    import numpy as np
    photos = [(p.stem, np.asarray(Image.open(p).convert("RGB")).astype(np.float32) / 255)
              for p in sorted((root / "paired" / "train" / "B").iterdir())]
    write_split(root / "labels" / "train", photos, fit_centres([im for _, im in photos], 8))


def maxrss_mib() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def peaks(reps: int = 5) -> tuple[float, float]:
    """Best GFLOP/s of a 2048x2048 float32 torch.mm (MKL) and of a 3x3 256->256 conv on 64x64
    (oneDNN, the ResNet block's own shape): what this CPU can do at best right now. Both,
    because on some CPUs (AMD with MKL) the matmul is far from the limit the convs reach."""
    n, a, b = 2048, torch.randn(2048, 2048), torch.randn(2048, 2048)
    conv, x = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False), torch.randn(1, 256, 64, 64)
    out = []
    with torch.no_grad():
        for fn, flops in ((lambda: torch.mm(a, b), 2 * n ** 3), (lambda: conv(x), 2 * 256 * 256 * 9 * 64 * 64)):
            fn()
            out.append(flops / min(_timed(fn) for _ in range(reps)) / 1e9)
    return out[0], out[1]


class _GlobalOnly:
    """Stands in for FlopCounterMode's ModuleTracker: only the global total is read here, and the
    tracker's backward hooks break torch.autograd.grad (StarGAN's WGAN-GP gradient penalty:
    "A leaf node was passed to _will_engine_execute_node ...")."""
    parents = {"Global"}

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return None


@contextlib.contextmanager
def flop_counter():
    """Counts the direct convolutions' work (i2i's CPU conv routes off while counting: Winograd
    does fewer products), so GFLOP/s compare with the machine's matmul peak."""
    from torch.utils.flop_counter import FlopCounterMode

    from i2i.nn.cpu_convs import pytorch_convs
    fc = FlopCounterMode(display=False)
    fc.mod_tracker = _GlobalOnly()
    with pytorch_convs(), fc:
        yield fc


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _timed_loop(fn, items) -> tuple[list[float], float]:
    """Wall time of fn(item) for each item, and the cores this process kept busy meanwhile
    (CPU time / wall time): well below the thread count means other processes took the CPU."""
    wall, cpu = time.perf_counter(), time.process_time()
    times = [_timed(lambda: fn(i)) for i in items]
    return times, (time.process_time() - cpu) / (time.perf_counter() - wall)


# ----------------------------------------------------------------- one config (subprocess)

def run_one(pipe: str, size: int, root: str, steps: int, loader_batches: int) -> dict:
    from i2i import config, data, engine, inference, pipelines

    base = maxrss_mib()
    out = {"pipe": pipe, "size": size, "threads": torch.get_num_threads(), "load": [os.getloadavg()[0]]}
    overrides = [f"data.crop_size={size}", f"data.load_size={size}", "train.device=cpu", "train.batch_size=1",
                 f"data.root={Path(root) / SUBSETS[pipe]}"]  # batch 1 everywhere (StarGAN's preset: 16)
    if pipe == "pix2pix" and size < 256:
        overrides.append("model.generator.name=unet_128")
    if pipe == "spade":
        overrides.append("loss.perceptual=0")
    cfg = config.load(pipe, overrides)
    dataset = data.build_dataset(cfg.data, pipelines.pipeline_class(cfg).data_kind)
    pipeline = pipelines.build_pipeline(cfg, dataset.meta)  # the meta: StarGAN's domains
    if size % pipeline.size_multiple:
        sys.exit(f"{pipe}: {size} px is not a multiple of the generator's {pipeline.size_multiple}")
    out.update(gen=cfg.model.generator.name, workers=cfg.data.num_workers)

    with tempfile.TemporaryDirectory() as run_dir:
        trainer = engine.Trainer(pipeline, dataset, cfg, run_dir, show_progress=False)

        # data loader: skip what the workers prefetched while starting, then time steady state
        loader = trainer.loader()
        it = iter(loader)
        skip = 1 + loader.num_workers * (loader.prefetch_factor or 0)
        batches = [next(it) for _ in range(skip)]
        timed: list = []
        dt = _timed(lambda: timed.extend(next(it) for _ in range(loader_batches)))
        out["loader_ips"] = loader_batches * cfg.train.batch_size / dt
        del it, loader  # shuts the workers down before anything is timed
        # a step takes `per_step` batches (StarGAN: 5, one per D update); reused in turn if too few
        per_step = trainer.batches_per_step
        pool = batches + timed  # CPU tensors already: nothing to move
        steps_in = [[pool[(k * per_step + j) % len(pool)] for j in range(per_step)] for k in range(steps + 2)]
        out["images_per_step"] = per_step * cfg.train.batch_size
        x = pool[0]["label_map"].float() if "label_map" in pool[0] else pool[0]["A"]  # label maps: ids as translate.py reads them

        def step(b):  # the last batch goes to the G update (and the last D update), the others to D alone
            return trainer.train_step(b[-1], b[:-1])

        # inference: generator forward, eval mode, no_grad (inside translate_tensor)
        translator = inference.Translator(pipeline, cfg, trainer.device)
        domains = pipeline.options().get("domain")  # StarGAN: translate to one target domain
        cond = translator.condition(pipelines.Request(domain=domains[-1]) if domains else None, x.size(0))
        with flop_counter() as fc:
            translator.translate_tensor(x, cond)      # warm-up 1, counted
        translator.translate_tensor(x, cond)          # warm-up 2
        times, out["infer_cores"] = _timed_loop(lambda _: translator.translate_tensor(x, cond), range(2 * steps))
        out["infer_flops"] = fc.get_total_flops() / x.size(0)
        out["infer_s"] = statistics.mean(times) / x.size(0)
        out["infer_rss"] = maxrss_mib() - base

        # training: full train_step (G step + D step + optimizer updates)
        pipeline.train()
        with flop_counter() as fc:
            step(steps_in[0])                         # warm-up 1, counted
        step(steps_in[1])                             # warm-up 2
        times, out["train_cores"] = _timed_loop(step, steps_in[2:2 + steps])
        out["train_flops"] = fc.get_total_flops() / out["images_per_step"]   # per image consumed
        out["train_s"] = statistics.mean(times) / out["images_per_step"]
        out["train_range"] = (min(times), max(times))
        out["peak_rss"] = maxrss_mib()
        out["train_rss"] = out["peak_rss"] - base
        out["load"].append(os.getloadavg()[0])
    return out


# ----------------------------------------------------------------- the reference's settings

REFERENCE_VARIANTS = ("i2i", "i2i without fused Adam", "i2i without Winograd", "i2i without output phases",
                      "i2i without kept transforms", "i2i without fast pad backward", "i2i without CPU conv routes",
                      "i2i without stacked calls", "i2i without kept memory", "reference (re-stated)")
REFERENCE_WARMUP = 3


def reference_step_times(pipe: str, variant: str, steps: int) -> list[float]:
    """In a process of its own: seconds for each of `steps` training steps (after warm-ups) of
    one variant at the reference's settings. i2i keeps freed memory as train.py does; the
    reference runs with the allocator's defaults, as its own train.py would."""
    from reference_step import REFERENCES, SETTINGS, plain

    from i2i import config, engine, pipelines
    from i2i.data import DataMeta
    from i2i.nn import cpu_convs, reflect_pad, winograd
    from i2i.nn.cpu_convs import use_cpu_convs
    if variant.startswith("i2i") and variant != "i2i without kept memory":
        keep_freed_memory()
    cfg = config.load(pipe, SETTINGS[pipe] + ["train.device=cpu"])
    n, size = cfg.train.batch_size, cfg.data.crop_size
    gen = torch.Generator().manual_seed(0)
    batch = {k: torch.rand(n, 3, size, size, generator=gen) * 2 - 1 for k in ("A", "B")}
    torch.manual_seed(0)
    p = pipelines.build_pipeline(cfg, DataMeta())
    if variant == "reference (re-stated)":
        ref = REFERENCES[pipe](p, cfg)
        fn = lambda: ref.step(batch["A"], batch["B"])  # noqa: E731
    else:
        t = engine.Trainer(p, [0] * 8, cfg, tempfile.mkdtemp(), show_progress=False)
        nets = list(p.generators.values()) + list(p.discriminators.values())
        if variant == "i2i without fused Adam":
            for opt in t.optimizers.values():
                for g in opt.param_groups:
                    g["fused"], g["foreach"] = False, False
        elif variant == "i2i without Winograd":
            for net in nets:
                use_cpu_convs(net, winograd=False)
        elif variant == "i2i without CPU conv routes":
            for net in nets:
                plain(net)
        elif variant == "i2i without output phases":  # 7x7 image layers as before: transposed conv / oneDNN
            cpu_convs.output_phases = False
        elif variant == "i2i without kept transforms":
            winograd.kept_transforms = contextlib.nullcontext
        elif variant == "i2i without fast pad backward":
            reflect_pad.MIN_ELEMENTS = sys.maxsize
        elif variant == "i2i without stacked calls":
            p.stack_calls = False
        fn = lambda: t.train_step(batch)  # noqa: E731
    for _ in range(REFERENCE_WARMUP):
        fn()
    return [_timed(fn) for _ in range(steps)]


def child_result(args: list[str], what: str):
    """Run this script with `args` in a process of its own; the JSON it prints after "RESULT "."""
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=REPO)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        sys.exit(f"{what} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[7:])


def reference_rows(pipe: str, rounds: int, steps: int, variants=REFERENCE_VARIANTS,
                   threads: int = 0) -> list[tuple[str, float]]:
    """Seconds per training step at the pix2pix/CycleGAN reference's own settings: i2i as it is,
    i2i with each CPU speed-up turned off in turn, and the reference's iteration re-stated
    (benchmarks/reference_step.py). Each variant runs in a process of its own, as a training run
    would (one model, its own allocator state); the variants take turns, `rounds` times in a
    rotating order, so a busy neighbour or a slow spell slows them alike. A row is the median over
    its rounds of each round's median step."""
    per_round = {v: [] for v in variants}
    for r in range(rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            cmd = ["--reference-worker", pipe, v, "--steps", str(steps), "--threads", str(threads)]
            per_round[v].append(statistics.median(child_result(cmd, f"{pipe} {v}")))
    return [(v, statistics.median(t)) for v, t in per_round.items()]


def print_reference_rows(rounds: int, steps: int, ablations: bool = True, threads: int = 0) -> None:
    print("Reference settings (the pix2pix/CycleGAN reference's own: pix2pix unet_128 ngf 64, PatchGAN with batch"
          "\n  norm, batch 4, 128 px; CycleGAN resnet_6blocks ngf 32, batch 1, 128 px); seconds per training step:"
          f"\n  each row a process of its own, {rounds} rounds of {steps} steps after {REFERENCE_WARMUP} warm-ups,"
          "\n  median of the rounds' medians; speed = reference s/step / this row's")
    print(f"{'config':<10} {'variant':<30} {'s/step':>7} {'180 it s':>8} {'speed':>6}")
    for pipe in ("pix2pix", "cyclegan"):
        variants = REFERENCE_VARIANTS if ablations else ("i2i", "reference (re-stated)")
        rows = reference_rows(pipe, rounds, steps, variants, threads)
        ref = dict(rows)["reference (re-stated)"]
        for name, sec in rows:
            print(f"{pipe:<10} {name:<30} {sec:>7.3f} {180 * sec:>8.0f} {ref / sec:>5.2f}x", flush=True)


# ----------------------------------------------------------------- driver and table

def print_tables(rows: list[dict], limit: float) -> None:
    def name(r):
        return f"{r['pipe']} {r['size']}px"

    print(f"\nCompute (batch 1; GFLOP = conv+matmul FLOPs per image; %pk = share of {limit:.1f} GFLOP/s, the best of a"
          "\n  2048^2 fp32 torch.mm and a 3x3 256ch conv in this run; mm/conv now: those just before the config)")
    if any(r.get("images_per_step", 1) > 1 for r in rows):
        print("  train img/s and GFLOP count every image a step consumes; step s is per step. StarGAN: a step is"
              "\n  1 G + 5 D updates on 5 batches (the last shared with G), i.e. 5 images at batch 1")
    print(f"{'config':<15} {'generator':<14} | {'train img/s':>11} {'step s min-max':>15} {'GFLOP':>7} "
          f"{'GFLOP/s':>7} {'%pk':>4} | {'infer img/s':>11} {'GFLOP':>6} {'GFLOP/s':>7} {'%pk':>4} "
          f"| {'mm/conv now':>11}")
    for r in rows:
        tg, ig = r["train_flops"] / r["train_s"] / 1e9, r["infer_flops"] / r["infer_s"] / 1e9
        lo, hi = r["train_range"]
        print(f"{name(r):<15} {r['gen']:<14} | {1 / r['train_s']:>11.3f} {f'{lo:.2f}-{hi:.2f}':>15} "
              f"{r['train_flops'] / 1e9:>7.1f} {tg:>7.1f} {100 * tg / limit:>3.0f}% | "
              f"{1 / r['infer_s']:>11.2f} {r['infer_flops'] / 1e9:>6.1f} {ig:>7.1f} {100 * ig / limit:>3.0f}% "
              f"| {r['peak'][0]:>5.0f}/{r['peak'][1]:<5.0f}")

    print("\nInput, memory, noise (loader: trainer.loader() on a PNG folder; RSS: the config's own process;"
          "\n  cores busy = CPU time / wall time while timed, of the threads used; load avg: start, end)")
    print(f"{'config':<15} {'workers':>7} {'loader img/s':>12} {'train img/s':>11} {'loader/train':>12} | "
          f"{'peak RSS MiB':>12} {'+infer MiB':>10} {'+train MiB':>10} | {'cores busy train/infer':>22} {'load avg':>9}")
    for r in rows:
        cores = f"{r['train_cores']:.2f} / {r['infer_cores']:.2f} of {r['threads']}"
        print(f"{name(r):<15} {r['workers']:>7} {r['loader_ips']:>12.1f} {1 / r['train_s']:>11.3f} "
              f"{r['loader_ips'] * r['train_s']:>11.0f}x | {r['peak_rss']:>12.0f} {r['infer_rss']:>10.0f} "
              f"{r['train_rss']:>10.0f} | {cores:>22} {r['load'][0]:>4.1f},{r['load'][-1]:>4.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+",
                    help="crop sizes for every pipeline (default: 128 and 256 px; StarGAN 128 px only)")
    ap.add_argument("--pipelines", nargs="+", default=list(SUBSETS), choices=list(SUBSETS))
    ap.add_argument("--steps", type=int, default=3, help="timed train steps (inference: twice as many)")
    ap.add_argument("--loader-batches", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 128 px, 1 timed step, 8 loader batches")
    ap.add_argument("--reference-settings", action="store_true",
                    help="only the pix2pix/CycleGAN reference's settings: i2i vs its iteration re-stated (~10 min)")
    ap.add_argument("--rounds", type=int, default=3, help="--reference-settings: turns each variant takes")
    ap.add_argument("--no-ablations", action="store_true",
                    help="--reference-settings: only i2i and the reference (no 'without ...' rows)")
    ap.add_argument("--reference-worker", nargs=2, metavar=("PIPELINE", "VARIANT"), help=argparse.SUPPRESS)
    ap.add_argument("--malloc-defaults", action="store_true",
                    help="leave glibc's malloc as it is (train.py and translate.py keep freed memory for reuse)")
    ap.add_argument("--one", nargs=2, metavar=("PIPELINE", "SIZE"), help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.steps, args.loader_batches = [128], 1, 8
    sizes = {p: args.sizes or DEFAULT_SIZES[p] for p in args.pipelines}
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.reference_worker:  # child: one variant's step times, one JSON line
        print("RESULT " + json.dumps(reference_step_times(*args.reference_worker, args.steps)))
        return
    if not args.malloc_defaults:
        keep_freed_memory()  # as train.py and translate.py do
    if args.reference_settings:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
              f"load avg {os.getloadavg()[0]:.1f}")
        print_reference_rows(args.rounds, args.steps if args.steps != 3 else 8, not args.no_ablations, args.threads)
        return
    if args.one:  # child: one config, one JSON line
        res = run_one(args.one[0], int(args.one[1]), args.root, args.steps, args.loader_batches)
        print("RESULT " + json.dumps(res))
        return

    t0 = time.time()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load avg {os.getloadavg()[0]:.1f}; {args.steps} timed train steps after 2 warm-ups")
    rows = []
    with tempfile.TemporaryDirectory() as root:
        subprocess.run([sys.executable, str(REPO / "datasets" / "build_demo.py"), root],
                       check=True, stdout=subprocess.DEVNULL)
        if "stargan" in args.pipelines:
            make_domains(Path(root))
        if "spade" in args.pipelines:
            make_labels(Path(root))
        for pipe in args.pipelines:
            for size in sizes[pipe]:
                peak = peaks()  # right before the config, in this (otherwise idle) process
                cmd = ["--one", pipe, str(size), "--root", root, "--steps", str(args.steps),
                       "--loader-batches", str(args.loader_batches), "--threads", str(args.threads)]
                cmd += ["--malloc-defaults"] if args.malloc_defaults else []
                rows.append({**child_result(cmd, f"{pipe} {size}px"), "peak": peak})
                print(f"  {pipe} {size}px done ({time.time() - t0:.0f} s)", flush=True)
    print_tables(rows, max(max(p) for p in [peaks()] + [r["peak"] for r in rows]))
    print(f"\ntotal {time.time() - t0:.0f} s. A load avg above {os.cpu_count()} or cores busy below the threads "
          "means other processes\nshared the CPU: times are then noisy, and networks of many small parallel "
          "ops (U-Net, norms) suffer most,\nas each op waits for its slowest (descheduled) thread.")


if __name__ == "__main__":
    main()
