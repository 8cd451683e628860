"""The one training loop. Pipelines say what to compute; this file owns everything else:
device, optimizers, lr schedule, data order, logging, sample grids, checkpoints, resume.

Each step: G step (D frozen) then D step on the fakes G just made (no D step for a
pipeline without discriminators, e.g. PSNR-oriented super-resolution). Frequencies are
counted in steps, never in samples, and a run always ends with a saved checkpoint: at the
last step, at Ctrl-C / SIGTERM (after the step in progress), and before an error from the
data stops it, so no finished step is lost.
"""
from __future__ import annotations

import contextlib
import math
import re
import signal
import sys
import time
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..config import Config
from ..data.folders import ResumableSampler
from ..errors import UserError
from ..files import remove_stale_temps, write_text
from ..nn import winograd
from ..runtime import resolve_device
from . import checkpoint as ckpt
from . import distributed
from .ema import EMA
from .logging import RunLogger

RANK_STATES = "per_rank"  # in the resume file's extra state: each process's RNG and pool (distributed runs)


def _ignore_sigint(worker_id: int) -> None:
    """Ctrl-C reaches every process of the terminal's group: loader workers leave it to the
    main process, which finishes the step, saves and stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def lr_lambda(cfg: Config):
    """lr factor per step. linear: constant for the first `decay_start` of the run, then linear
    to zero (CycleGAN/pix2pix); cosine: half a cosine to zero (ESRGAN's PSNR stage); multistep:
    x gamma at each milestone (fractions of the run; ESRGAN, SRGAN); constant."""
    t = cfg.train
    total, start = t.iters, int(t.decay_start * t.iters)
    if t.lr_policy == "constant":
        return lambda step: 1.0
    if t.lr_policy == "cosine":
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
    if t.lr_policy == "multistep":
        marks = sorted(max(1, int(m * total)) for m in t.milestones)
        return lambda step: t.gamma ** sum(step >= m for m in marks)
    return lambda step: 1.0 - max(0, step - start) / max(1, total - start + 1)


class Trainer:
    def __init__(self, pipeline, dataset, cfg: Config, out: str | Path, resume: bool = False,
                 show_progress: bool = True):
        self.cfg, self.out = cfg, Path(out)
        self.device = distributed.setup(resolve_device(cfg.train.device))
        self.rank, self.world = distributed.rank(), distributed.world_size()
        if self.world > 1:  # the networks were built from train.seed on every rank (DDP broadcasts rank 0's
            torch.manual_seed(cfg.train.seed + self.rank)  # anyway); from here each draws its own noise
        self.pipeline = pipeline.to(self.device)
        self.dataset = dataset
        self.show_progress = show_progress
        crop, m = cfg.data.crop_size // pipeline.scale, pipeline.size_multiple
        if crop % m:
            raise UserError(f"data.crop_size {cfg.data.crop_size} gives {crop} px network inputs, but this "
                            f"generator needs a multiple of {m}: use --crop-size {(crop // m or 1) * m * pipeline.scale}")
        self._check_networks_fit(crop)
        t = cfg.train
        nets = {"G": pipeline.generators, "D": pipeline.discriminators}
        adam = {"G": (t.lr, t.beta1, t.beta2),
                "D": (t.lr if t.lr_d is None else t.lr_d, t.beta1 if t.beta1_d is None else t.beta1_d,
                      t.beta2 if t.beta2_d is None else t.beta2_d)}
        self.optimizers = {k: self._optimizer(n.parameters(), *adam[k]) for k, n in nets.items()
                           if len(list(n.parameters()))}
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(o, lr_lambda(cfg)) for k, o in self.optimizers.items()}
        # fp16 needs its loss scaled so small gradients survive, one scaler per optimizer; bf16 has fp32's range
        self.scalers = {k: torch.amp.GradScaler(self.device.type) for k in self.optimizers} if t.amp == "fp16" else {}
        if self.scalers:  # the scaler skips the steps whose gradients overflowed, by design, the first ones included
            warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()` before"))
        if t.channels_last:
            self.pipeline.to(memory_format=torch.channels_last)
        if t.compile:
            for net in [*pipeline.generators.values(), *pipeline.discriminators.values()]:
                net.compile()  # in place: parameter names, hence checkpoints, are unchanged
        self.ema = None
        self.step = 0
        self.logger = RunLogger(self.out, enabled=self.rank == 0)
        self._stop = False
        self.interrupted = 0  # the signal that stopped training, if one did
        self.saved_step = -1  # the step the files on disk hold (-1: none yet)
        for folder in (self.out, self.out / "weights", self.out / "samples") if self.rank == 0 else ():
            remove_stale_temps(folder, (".latest.", ".step_"))  # what a killed run was writing
        if resume:
            self._resume()
        elif cfg.init_from:
            self._init_from(cfg.init_from)
        if t.ema > 0 and self.ema is None:
            # average from the weights as they are now: new, from init_from, or resumed from a run
            # that kept no average
            self.ema = EMA(self.pipeline.generators, t.ema)
        if self.rank == 0:
            write_text(self.out / "config.yaml", cfg.to_yaml())
        self._replicated = {}
        if self.world > 1:  # DDP over each network group, after resume so rank 0's weights are the ones broadcast
            self._replicated = {k: distributed.replicate(nets[k], self._pipeline_step(k), self.device, t.sync_bn)
                                for k in self.optimizers}
        elif t.sync_bn:
            raise UserError("train.sync_bn=true applies to training on several processes (torchrun); leave it false")

    def _optimizer(self, params, lr: float, beta1: float, beta2: float) -> torch.optim.Optimizer:
        """Adam (every paper here but one), or RMSprop (WGAN with weight clipping: momentum-based
        optimisers made its critic unstable, Arjovsky et al. 2017); betas do not apply to it."""
        t = self.cfg.train
        if t.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, weight_decay=t.weight_decay)
        params = list(params)
        # the fused kernel updates each tensor in one pass instead of ~8 (measured on 2 CPU cores:
        # pix2pix unet_128 batch 4 steps ~20 % faster, the same update up to rounding)
        fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
        return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), weight_decay=t.weight_decay, fused=fused)

    def _check_networks_fit(self, size: int) -> None:
        """One forward pass of each network on a blank crop (eval mode: no statistics, RNG or
        pool touched), so a network too deep for the crop is one line now, not a traceback."""
        nets = [("generator", n, g, size) for n, g in self.pipeline.generators.items()]
        nets += [("discriminator", n, d, size * self.pipeline.scale) for n, d in self.pipeline.discriminators.items()]
        for kind, name, net, px in nets:
            conv = next((m for m in net.modules() if isinstance(m, nn.Conv2d)), None)
            if conv is None:
                continue
            was_training = net.training
            try:
                with torch.no_grad():
                    x = torch.zeros(1, conv.in_channels, px, px, device=self.device)
                    net.eval()(*self.pipeline.network_inputs(name, x))
            except (RuntimeError, ValueError) as e:  # ValueError: a norm left with one pixel
                if "out of memory" in str(e).lower():
                    raise UserError(f"out of memory building {kind} {name} for {px} px crops: use a smaller "
                                    f"--crop-size, --batch-size or model.{kind}.ngf/ndf") from None
                depth = "model.discriminator.n_layers" if kind == "discriminator" else "a shallower model.generator"
                raise UserError(f"model.{kind} {name} cannot run on {px} px training crops "
                                f"({str(e).strip().splitlines()[0]}): use fewer layers ({depth}) "
                                f"or a larger --crop-size") from None
            finally:
                net.train(was_training)

    # --- checkpoints -------------------------------------------------------------------
    def save(self) -> None:
        """Every process calls it at the same step: each one's own random state and pool go to
        rank 0, which writes them with the weights (every process holds the same weights)."""
        extra = self.pipeline.extra_state()
        if self.world > 1:
            extra = {**extra, RANK_STATES: distributed.gather({"rng": ckpt.rng_state(), "extra": extra})}
        if self.rank == 0:
            ckpt.save_checkpoint(self.out, self.step, self.pipeline, self.cfg, self.ema,
                                 {**self.optimizers, **{f"scaler_{k}": s for k, s in self.scalers.items()}},
                                 self.schedulers, extra)
        self.saved_step = self.step

    def _init_from(self, run: str) -> None:
        """Start G from another run's generator (its moving average if it kept one): ESRGAN's
        GAN stage starts from its PSNR stage. Discriminators and optimizers start fresh."""
        path = ckpt.resolve_checkpoint(run)
        tensors, _ = ckpt.read_weights(path)
        gens = {k: v.to(self.device) for k, v in ckpt.inference_generators(tensors).items()}
        coarse = getattr(self.pipeline.generators["G"], "coarse_state", None) if "G" in self.pipeline.generators else None
        if coarse is not None and not any(k.startswith("generators.G.global_features.") for k in gens):
            # pix2pixHD's local enhancer starts from a trained global generator (not another enhancer)
            try:
                state = coarse(gens, "generators.G.")
            except ValueError as e:
                raise UserError(f"init_from={run} is not a pix2pixhd_global run to grow from: {e}") from None
            ckpt.load_partial(self.pipeline, state, source=f"init_from={run}")
            return
        ckpt.load_networks(self.pipeline, gens, generators_only=True, source=f"init_from={run}")

    def _resume(self) -> None:
        weights = self.out / ckpt.WEIGHTS
        if not weights.exists():  # killed before its first save: nothing to continue, start it again
            print(f"nothing saved yet in {self.out}: starting from step 0", file=sys.stderr)
            return
        tensors, meta = ckpt.read_weights(weights)
        state = ckpt.load_state_for(self.out, int(meta["step"]))
        ckpt.load_networks(self.pipeline, {k: v.to(self.device) for k, v in tensors.items()})
        saved_ema = ckpt.ema_state(tensors)
        if self.cfg.train.ema > 0 and saved_ema:
            self.ema = EMA(self.pipeline.generators, self.cfg.train.ema)
            self.ema.load_state_dict({k: v.to(self.device) for k, v in saved_ema.items()},
                                     int(meta.get("ema_updates", state["step"])))
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, scaler in self.scalers.items():
            if f"scaler_{k}" in state["optimizers"]:  # a run that was fp16 before; else the scale starts anew
                scaler.load_state_dict(state["optimizers"][f"scaler_{k}"])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        extra, rng = dict(state["extra"]), state["rng"]
        ranks = extra.pop(RANK_STATES, None)
        if ranks is not None and len(ranks) == self.world:  # the same number of processes: each takes its own
            extra, rng = ranks[self.rank]["extra"], ranks[self.rank]["rng"]
        self.pipeline.load_extra_state(extra)
        ckpt.set_rng_state(rng)
        self.step = self.saved_step = state["step"]

    # --- the loop ----------------------------------------------------------------------
    @property
    def batches_per_step(self) -> int:
        """A step is one G update; with train.d_steps > 1 each extra D update takes its own batch."""
        return self.cfg.train.d_steps if "D" in self.optimizers else 1

    def loader(self) -> DataLoader:
        t = self.cfg.train
        # the global stream, every process taking its slice of each global batch of world x batch_size
        sampler = ResumableSampler(len(self.dataset), t.seed, start=self.step * t.batch_size * self.batches_per_step
                                   * self.world, rank=self.rank, world=self.world, batch=t.batch_size)
        workers = self.cfg.data.num_workers
        return DataLoader(self.dataset, batch_size=t.batch_size, sampler=sampler, num_workers=workers,
                          pin_memory=self.device.type == "cuda", persistent_workers=False,
                          prefetch_factor=4 if workers else None, worker_init_fn=_ignore_sigint if workers else None,
                          generator=torch.Generator().manual_seed(t.seed))  # keeps the global RNG untouched

    def _to_device(self, batch: dict) -> dict:
        layout = torch.channels_last if self.cfg.train.channels_last else torch.contiguous_format
        return {k: (v.to(self.device, non_blocking=True, memory_format=layout) if v.dim() == 4 else
                    v.to(self.device, non_blocking=True)) if torch.is_tensor(v) else v for k, v in batch.items()}

    def _autocast(self):
        amp = self.cfg.train.amp
        if amp == "off":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)

    def _pipeline_step(self, group: str):
        return self.pipeline.generator_step if group == "G" else self.pipeline.discriminator_step

    def _step(self, group: str, *args):
        """A pipeline step (forward and losses) under the configured precision; under DDP when
        several processes train."""
        with self._autocast():
            return self._replicated.get(group, self._pipeline_step(group))(*args)

    def _update(self, group: str, terms: dict[str, torch.Tensor]) -> None:
        """One optimizer step of a network group on the sum of its loss terms."""
        opt, scaler = self.optimizers[group], self.scalers.get(group)
        opt.zero_grad(set_to_none=True)
        loss = sum(terms.values()).float()
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)  # skipped when the scaled gradients overflowed; the scale then shrinks
            scaler.update()
        winograd.forget(q for g in opt.param_groups for q in g["params"])
        if group == "D":
            self.pipeline.after_discriminator_update()

    def train_step(self, batch: dict, d_batches: list[dict] = ()) -> dict[str, float]:
        """One G update and `train.d_steps` D updates: first on the extra `d_batches` (with fakes
        the D step makes itself), last on `batch` with the fakes the G step just made."""
        with winograd.kept_transforms():  # each network's weights are fixed until its update
            return self._train_step(batch, d_batches)

    def _train_step(self, batch: dict, d_batches) -> dict[str, float]:
        p, has_d = self.pipeline, "D" in self.optimizers
        d_terms = {}
        for extra in d_batches if has_d else ():
            p.discriminators.requires_grad_(True)
            d_terms = self._step("D", extra, None)
            self._update("D", d_terms)
        p.discriminators.requires_grad_(False)
        g_terms, fakes = self._step("G", batch)
        self._update("G", g_terms)
        if self.ema is not None:
            self.ema.update(p.generators)
        if has_d:
            p.discriminators.requires_grad_(True)
            d_terms = self._step("D", batch, fakes)
            self._update("D", d_terms)
        for s in self.schedulers.values():
            s.step()
        return {k: float(v.detach()) for k, v in {**g_terms, **d_terms}.items()}

    def _on_signal(self, signum, frame):
        if self._stop and signum == signal.SIGINT:  # a second Ctrl-C: stop now, keep the last save
            raise KeyboardInterrupt
        self._stop, self.interrupted = True, signum
        what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"\n{what}: saving at the end of this step (step {self.step + 1})... "
              f"(Ctrl-C again stops at once; the last save, step {self.saved_step}, is kept)",
              file=sys.stderr, flush=True)

    def fit(self, until: int | None = None) -> dict[str, float]:
        """Train to `train.iters` (or stop early at `until`, as an interruption would)."""
        t = self.cfg.train
        end = min(t.iters, until) if until else t.iters
        old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for s in old:
                signal.signal(s, self._on_signal)
        except ValueError:  # not the main thread: no signal handling
            old = {}
        self.pipeline.train()
        last: dict[str, float] = {}
        bar = tqdm(total=end, initial=self.step, desc="train", disable=not self.show_progress or self.rank > 0,
                   dynamic_ncols=True)
        start_time, start_step = time.time(), self.step
        try:
            batches = iter(self.loader()) if self.step < end else iter(())
            while self.step < end and not distributed.any_rank(self._stop):
                failed = None
                try:
                    d_batches = [self._to_device(next(batches)) for _ in range(self.batches_per_step - 1)]
                    batch = next(batches)
                except Exception as e:  # unreadable data etc.: keep every finished step, then stop
                    failed = e
                if distributed.any_rank(failed is not None):  # every process stops at the same step
                    if self.step != self.saved_step:
                        self.save()
                        if self.rank == 0:
                            print(f"saved step {self.step} to {self.out} before stopping", file=sys.stderr)
                    if failed is None:
                        raise UserError(f"process {self.rank}: stopped because another process could not read its "
                                        f"data (its error says which file)")
                    raise failed
                last = self.train_step(self._to_device(batch), d_batches)
                self.step += 1
                bar.update(1)
                if self.step % t.log_every == 0 or self.step == end:
                    self.logger.scalars(self.step, {**{f"loss/{k}": v for k, v in last.items()},
                                                    "lr": self.schedulers["G"].get_last_lr()[0]})
                    bar.set_postfix({k: f"{v:.3g}" for k, v in list(last.items())[:4]})
                if (self.step % t.sample_every == 0 or self.step == end) and self.rank == 0:
                    self.sample(batch)
                if self.step % t.save_every == 0:
                    self.save()
            # the same answer on every process (save() gathers from all): rank 0 alone sees the file
            if distributed.any_rank(self.step != self.saved_step or (self.rank == 0 and not (self.out / ckpt.WEIGHTS).exists())):
                self.save()
        finally:
            bar.close()
            self.logger.close()
            for s, h in old.items():
                signal.signal(s, h)
        elapsed = time.time() - start_time
        # every image a step read: with train.d_steps > 1 a step takes d_steps batches
        self.images_per_second = (self.step - start_step) * t.batch_size * self.batches_per_step / max(elapsed, 1e-9)
        return last

    def sample(self, batch: dict) -> None:
        self.pipeline.eval()
        batch = self._to_device(batch)
        self.logger.sample_grid(self.step, self.pipeline.visuals(batch))
        self.pipeline.train()
