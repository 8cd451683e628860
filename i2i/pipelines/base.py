"""The Pipeline contract the trainer and the translator rely on (see DESIGN.md).

A pipeline says what one G step and one D step compute and how a request becomes a
condition; the trainer and translator own everything else. Fakes made in the G step are
*returned* and handed to the D step, never stashed on the pipeline between the two.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ..config import Config, LossConfig
from ..data.meta import DataMeta
from ..errors import UserError
from ..losses import (AdversarialLoss, VGGPerceptualLoss, clip_weights, detach_outputs, feature_matching,
                      gradient_penalty, l1, mse, r1_penalty)
from ..losses.adversarial import RELATIVISTIC
from ..registry import PIPELINES


# the loss.* keys that weight a term (the others configure one: gan_mode, gp, vgg_*)
WEIGHT_KEYS = ("gan", "l1", "mse", "cycle", "identity", "perceptual", "feature_matching", "classification",
               "reconstruction", "style", "content", "kl", "cycle_kl", "info_categorical", "info_continuous", "fake_classification")


def treats_each_image_alone(net: nn.Module) -> bool:
    """No layer mixes the images of a batch or changes between calls: no batch norm (batch
    statistics), no norm keeping running statistics (one momentum update per call: instance norm
    with track_running_stats too), no spectral norm (one power iteration per call), no dropout
    (its masks). Then one call on stacked inputs computes what a call on each would."""
    from torch.nn.modules.batchnorm import _BatchNorm, _NormBase
    from torch.nn.utils import parametrize

    def stateful(m: nn.Module) -> bool:
        return (isinstance(m, (_BatchNorm, nn.Dropout)) or parametrize.is_parametrized(m)
                or (isinstance(m, _NormBase) and m.track_running_stats))
    return not any(stateful(m) for m in net.modules())


def split_batch(out, sizes: list[int]) -> tuple:
    """A network's output for a concatenated batch (a tensor, or nested lists of them: D's scales
    and features) -> one output per part of `sizes` images, each with the same nesting."""
    if torch.is_tensor(out):
        return out.split(sizes)
    parts = [split_batch(o, sizes) for o in out]
    return tuple(type(out)(p[i] for p in parts) for i in range(len(sizes)))


@dataclass(frozen=True)
class Request:
    """What a user asked for at inference; `condition()` turns it into tensors once per image."""
    direction: str = "AtoB"
    domain: str | None = None
    attrs: dict | None = None
    style: str = "random"
    reference: torch.Tensor | None = None
    label: int | None = None       # a class index (class-conditional GANs; InfoGAN: the categorical code)
    truncation: float | None = None  # GANs from noise: redraw noise values beyond +-truncation
    seed: int = 0                 # output k uses seed + k: the same command gives the same pictures


class Pipeline(nn.Module):
    data_kind = "paired"          # which folder dataset feeds it
    input_kind: ClassVar[str] = "image"  # image | labels | none
    loss_terms: ClassVar[frozenset] = frozenset()  # loss weights it reads; another non-zero one is an error
    stack_calls = True  # a network's inputs of one step in one call where it treats each image alone (off: a call
                        # each): the same numbers from fewer, larger matrix products (faster on the CPU)
    directions = ("AtoB",)        # what translate() can do
    direction_hint = ""           # appended to the error for a direction it cannot do
    keeps_grayscale = False       # translate grayscale in -> grayscale out (restoration, SR)
    image_range = 2.0             # the value range the paper's pixel-loss weights assume: [-1, 1] (pix2pix,
                                  # CycleGAN) or [0, 1] (SR papers: their L1 is half, their MSE a quarter)
    default_tile = 0              # translate.py --tile default (0 = whole image)
    tile_safe = True              # tiles translate like the whole image (False: a global code shapes the layout)

    def __init__(self, cfg: Config, meta: DataMeta | None = None, training: bool = True):
        super().__init__()
        self.cfg, self.w, self.meta = cfg, cfg.loss, meta or DataMeta()
        self._check_loss_weights(cfg.loss)
        self.generators = nn.ModuleDict()
        self.discriminators = nn.ModuleDict()
        self.training_parts = training
        if training:
            self.gan = AdversarialLoss(cfg.loss.gan_mode)
            if cfg.loss.perceptual > 0:
                self.vgg = VGGPerceptualLoss(cfg.loss.vgg_layers, cfg.loss.vgg_weights or "", cfg.loss.vgg_criterion)

    # --- the contract -------------------------------------------------------------
    def generator_step(self, batch: dict) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """(weighted loss terms, detached fakes for the D step)."""
        raise NotImplementedError

    def discriminator_step(self, batch: dict, fakes: dict | None = None) -> dict[str, torch.Tensor]:
        """D's loss terms on real images and `fakes` (None: make them here, without gradients)."""
        raise NotImplementedError

    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """x under a fixed condition (the keyword arguments `condition()` returned): tile-safe."""
        raise NotImplementedError

    def sample(self, n: int, **cond) -> torch.Tensor:
        raise UserError(f"this {self.cfg.pipeline} run translates images; it does not sample from noise")

    def visuals(self, batch: dict) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def network_inputs(self, name: str, x: torch.Tensor) -> tuple:
        """What network `name` is called with for an image batch x (a conditional generator also
        takes its condition): used to try every network on a blank crop before training."""
        return (x,)

    def options(self) -> dict[str, list]:
        """What a request may name for this run (for translate.py's checks and `i2i info`)."""
        return {"direction": list(self.directions)}

    def condition(self, request: Request, n: int) -> dict:
        """The condition for n images, computed once per image before padding or tiling."""
        self.check_direction(request.direction)
        return {"direction": request.direction}

    def check_direction(self, direction: str) -> None:
        if direction not in self.directions:
            raise UserError(f"this {self.cfg.pipeline} run cannot translate {direction}; it can: "
                            f"{', '.join(self.directions)}{self.direction_hint}")

    def _check_loss_weights(self, loss: LossConfig) -> None:
        ignored = [k for k in WEIGHT_KEYS if getattr(loss, k) and k not in self.loss_terms]
        if ignored:
            k = ignored[0]
            raise UserError(f"loss.{k}={getattr(loss, k)} is not used by {self.cfg.pipeline} (it reads "
                            f"{', '.join(f'loss.{t}' for t in sorted(self.loss_terms))}); set loss.{k}=0")

    @property
    def size_multiple(self) -> int:
        return max(getattr(g, "size_multiple", 1) for g in self.generators.values())

    @property
    def scale(self) -> int:
        """Output size / input size of translate() (super-resolution > 1)."""
        return 1

    def extra_state(self) -> dict:
        """Training state beyond weights/optimizers (image pools); saved for --resume."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    # --- shared pieces ------------------------------------------------------------
    @property
    def relativistic(self) -> bool:
        return self.w.gan_mode in RELATIVISTIC

    def adversarial_d_terms(self, name: str, out_real, out_fake) -> dict:
        """D's loss on its outputs for real and (detached) fake images, halved as in the papers'
        code. Relativistic: each side is judged against the other side's outputs (held fixed)."""
        ref_real, ref_fake = (detach_outputs(out_fake), detach_outputs(out_real)) if self.relativistic else (None, None)
        return {f"{name}_real": 0.5 * self.gan(out_real, True, reference=ref_real),
                f"{name}_fake": 0.5 * self.gan(out_fake, False, reference=ref_fake)}

    def penalty_terms(self, name: str, D, real: torch.Tensor, fake: torch.Tensor) -> dict:
        """The WGAN-GP penalty when that mode is chosen, and R1 on reals when weighted. `D` is any
        callable image -> outputs (a class-conditional D with its labels bound)."""
        terms = {}
        if self.w.gan_mode == "wgan-gp":
            terms[f"{name}_gp"] = self.w.gp * gradient_penalty(D, real, fake)
        if self.w.r1 > 0:
            terms[f"{name}_r1"] = self.w.r1 * r1_penalty(D, real)
        return terms

    def discriminator_terms(self, name: str, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> dict:
        """D's adversarial terms on one real and one fake batch, plus its penalties. A D that
        judges each image on its own sees both batches in one call: the same outputs, and on
        2 CPU cores a PatchGAN ran ~1.4x faster per image at batch 2 than twice at batch 1."""
        fake = fake.detach()
        out = self.stacked(D, real=real, fake=fake)
        out_real, out_fake = out["real"], out["fake"]
        return {**self.adversarial_d_terms(name, out_real, out_fake), **self.penalty_terms(name, D, real, fake)}

    def stacked(self, net: nn.Module, **inputs) -> dict:
        """{name: net(x)} for the inputs not None, in one call on them stacked where that gives the
        same numbers (D on real and fake; CycleGAN's generators on their fake, identity and cycle
        inputs at once)."""
        inputs = {k: x for k, x in inputs.items() if x is not None}
        xs = list(inputs.values())
        if (self.stack_calls and len(xs) > 1 and all(x.shape[1:] == xs[0].shape[1:] for x in xs)
                and treats_each_image_alone(net)):
            return dict(zip(inputs, split_batch(net(torch.cat(xs)), [x.size(0) for x in xs])))
        return {k: net(x) for k, x in inputs.items()}

    def after_discriminator_update(self) -> None:
        """Called by the trainer after every D optimizer step: WGAN clips the critic's weights."""
        if self.w.gan_mode == "wgan":
            clip_weights(self.discriminators, self.w.clip)

    def adversarial_g_term(self, out_fake, out_real=None) -> torch.Tensor:
        """G's adversarial loss on D's outputs for its fakes. Relativistic (ESRGAN, RaLSGAN): G also
        gains from reals looking *less* real than its fakes, so both sides of D's judgement train
        it (`out_real`: D's outputs for reals, without gradients)."""
        if not self.relativistic:
            return self.gan(out_fake, True, for_discriminator=False)
        if out_real is None:
            raise ValueError("the relativistic GAN needs real images in the generator step")
        return 0.5 * (self.gan(out_real, False, reference=out_fake) + self.gan(out_fake, True, reference=out_real))

    def generator_adversarial(self, D: nn.Module, fake: torch.Tensor, real: torch.Tensor | None = None,
                              prefix: str = "G") -> dict:
        """GAN term for G, plus feature matching against real when weighted."""
        out_fake = D(fake)
        out_real = None
        if real is not None and (self.relativistic or self.w.feature_matching > 0):
            with torch.no_grad():  # D is frozen and reals carry no gradient
                out_real = D(real)
        terms = {f"{prefix}_gan": self.w.gan * self.adversarial_g_term(out_fake, out_real)}
        if self.w.feature_matching > 0 and out_real is not None:
            terms[f"{prefix}_fm"] = self.w.feature_matching * feature_matching(out_fake, out_real)
        return terms

    def reconstruction_terms(self, fake: torch.Tensor, real: torch.Tensor, prefix: str = "G") -> dict:
        """Paired supervision: L1, MSE and perceptual, each only when weighted."""
        terms = {}
        unit = self.image_range / 2  # networks see [-1, 1]; weights are in the paper's units
        if self.w.l1 > 0:
            terms[f"{prefix}_l1"] = self.w.l1 * unit * l1(fake, real)
        if self.w.mse > 0:
            terms[f"{prefix}_mse"] = self.w.mse * unit ** 2 * mse(fake, real)
        if self.w.perceptual > 0:
            terms[f"{prefix}_vgg"] = self.w.perceptual * self.vgg(fake, real)
        return terms


def pipeline_class(cfg: Config) -> type[Pipeline]:
    return PIPELINES.get(cfg.pipeline)


def build_pipeline(cfg: Config, meta: DataMeta | None = None, training: bool = True) -> Pipeline:
    return pipeline_class(cfg)(cfg, meta, training=training)
