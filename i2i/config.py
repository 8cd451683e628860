"""Config schema (dataclasses), YAML presets, dotted KEY=VALUE overrides, strict validation.

Every default lives here or in a preset YAML (`i2i/configs/<preset>.yaml`). A preset and a
user YAML are partial dicts merged onto the schema; unknown keys are errors listing the keys
that exist, so a typo never silently trains the wrong model.

Presets. `i2i/configs/NAME.yaml` is the preset NAME; its first comment line is the one-line
description `train.py --help` lists. A preset either names its pipeline (`pipeline: esrgan`)
or builds on another preset with a top-level `based_on: OTHER` and then holds only the keys
that differ: `esrgan-psnr-paper.yaml` is `based_on: esrgan-psnr` plus
`model: {generator: {residual: false}}`. Chains may be longer (loops are an error). Merging
follows the schema: a section (model, model.generator, loss, ...) is merged key by key, any
other value (a list, `loss.vgg_layers`) is replaced whole. A user YAML names the preset it
builds on with its `pipeline:` key (or, the same, `based_on:`).

`load()` applies, each over the one before: the schema's defaults; the preset (its `based_on`
chain, base first); with `init_from=RUN`, the source generator's architecture and scale
(`_inherit_generator`: these override the preset, so `esrgan` starts from an
`esrgan-psnr-paper` run with residual: false); the user YAML; the CLI flags (--iters ...);
the KEY=VALUE overrides. Only the last three can contradict an inherited key, which is an error.
"""
from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field
from typing import Optional
from pathlib import Path

import yaml

from .errors import UserError

PRESET_DIR = Path(__file__).parent / "configs"
SCHEMA_VERSION = 2  # 2: weights carry a SHA-256 and the data meta; schema-1 runs load unchanged


@dataclass
class GeneratorConfig:
    name: str = "unet_256"
    ngf: int = 64
    norm: str = "batch"            # batch | instance | layer | none
    dropout: float = 0.0           # U-Net inner blocks / ResNet blocks
    upsample: str = "transpose"    # transpose (paper) | resize (nearest + conv, no checkerboard) | pixelshuffle
    residual: bool = False         # output = input (bicubic-upscaled for SR) + learned change ("do no harm" start)
    num_blocks: int = 0            # ResNet/RRDB/SRResNet blocks; 0 = the name's default
    num_downs: int = 0             # downsamplings (U-Net, MUNIT/UNIT, pix2pixHD); 0 = the name's default
    pixel_unshuffle: bool = False  # RRDB: pixel-unshuffle the input so the body runs at 1/4 of the output
                                   # size (Real-ESRGAN's x2; x1 always does)
    unit_range: bool = False       # RRDB, MSRResNet: the weights expect [0, 1] images (ESRGAN's and BasicSR's releases,
                                   # imported with python -m i2i import); i2i's [-1, 1] is mapped in and out
    style_dim: int = 8             # MUNIT: style code size
    mlp_dim: int = 256             # MUNIT: width of the style -> AdaIN parameters MLP
    shared_blocks: int = 0         # UNIT: residual blocks shared by both domains' encoders (and decoders)
    content_norm: str = "instance"  # MUNIT/UNIT: the content encoders' (UNIT: and decoders') residual norm;
                                   # instance_running for the reference's imported weights (its eval mode)
    up_norm: str = "layer"         # MUNIT/UNIT: the decoders' upsampling blocks; layer_unbiased = the reference's
    z_dim: int = 100               # GANs from noise: the noise vector's size (DCGAN nz; InfoGAN adds its codes)
    class_input: str = "concat"    # class-conditional G from noise: the class embedding concatenated to z (cGAN)
                                   # or multiplied into it (multiply); norm=conditional_batch: through the norms
    attention: int = 0             # self-attention block (SAGAN) after the stage of this resolution; 0 = none
    spectral_norm: bool = False    # spectral norm on every conv/linear of the generator (SAGAN)
    upsampling_layers: str = "normal"  # SPADE: x2 stages from the start grid: normal (5) | more (6) | most (7)
    style_encoder: bool = False    # SPADE: a VAE style encoder (image-guided and random styles; loss.kl 0.05)
    spade_hidden: int = 128        # SPADE: width of the conv in each norm that reads the label map


@dataclass
class DiscriminatorConfig:
    name: str = "patch"            # patch | pixel | multiscale
    ndf: int = 64
    n_layers: int = 3              # PatchGAN depth: 3 -> 70x70 receptive field
    norm: str = "batch"
    num_D: int = 1                 # multiscale: number of scales
    head: str = "pix2pix"          # PatchGAN end: pix2pix (stride-1 stage + 4x4 conv) | munit (1x1 conv)
                                   # n_layers also sets the VGG discriminator's stride-2 stages (5 = VGG128)
    attention: int = 0             # self-attention block (SAGAN) after the stage of this resolution; 0 = none
    spectral_norm: bool = False


@dataclass
class ModelConfig:
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    init: str = "normal"           # normal | xavier | kaiming | orthogonal | default (the architecture's own)
    init_gain: float = 0.02


@dataclass
class LossConfig:
    gan_mode: str = "lsgan"        # vanilla (non-saturating G) | vanilla-saturating | lsgan | hinge | wgan
                                   # (weight clipping) | wgan-gp | relativistic (average: RaGAN, ESRGAN) |
                                   # relativistic-standard (RSGAN) | relativistic-lsgan (RaLSGAN)
    gan: float = 1.0               # 0 = no discriminator at all (PSNR-oriented training)
    l1: float = 0.0
    mse: float = 0.0
    cycle: float = 0.0
    identity: float = 0.0          # CycleGAN: a fraction of the cycle weight, as in the paper's code
    perceptual: float = 0.0
    feature_matching: float = 0.0
    classification: float = 0.0    # auxiliary domain / class classifier on D (StarGAN lambda_cls, ACGAN)
    fake_classification: float = 0.0  # ACGAN: D's classifier also learns from fakes, labelled with the class
                                       # they were made for (the paper: 1; see pipelines/acgan.py)
    reconstruction: float = 0.0    # MUNIT / UNIT: each domain's auto-encoder reproduces its image (L1)
    style: float = 0.0             # MUNIT: the style code is recovered from a translation (L1)
    content: float = 0.0           # MUNIT: the content code is recovered from a translation (L1)
    kl: float = 0.0                # UNIT: the latent code's KL term (mean of squares, unit variance)
    cycle_kl: float = 0.0          # UNIT: the same on the codes re-encoded from translations
    info_categorical: float = 0.0  # InfoGAN: the categorical code is recovered by Q (lambda 1)
    info_continuous: float = 0.0   # InfoGAN: the continuous codes are recovered by Q (lambda 0.1)
    gp: float = 10.0               # wgan-gp penalty weight
    r1: float = 0.0                # R1 penalty (Mescheder et al. 2018): r1/2 * |grad D(real)|^2, any gan_mode
    clip: float = 0.01             # wgan: D's weights are clipped to [-clip, clip] after every D update
    vgg_weights: str = ""          # path to torchvision vgg19 .pth; "" = torch hub cache
    vgg_criterion: str = "l1"      # l1 (ESRGAN, pix2pixHD) | mse (SRGAN)
    vgg_layers: dict = field(default_factory=lambda: {
        "relu1_1": 1 / 32, "relu2_1": 1 / 16, "relu3_1": 1 / 8, "relu4_1": 1 / 4, "relu5_1": 1.0})


@dataclass
class DataConfig:
    root: str = ""
    direction: str = "AtoB"        # AtoB | BtoA
    load_size: int = 286           # shorter side is scaled to this, then randomly cropped; 0 = keep size
    crop_size: int = 256           # SR: the high-resolution crop (a multiple of scale)
    flip: bool = True
    rot90: bool = False            # also random 90-degree rotations (SR)
    scale: int = 1                 # SR: upscaling factor; low-res inputs are made from HR on the fly
    blur: float = 0.0              # SR degradation: max Gaussian blur sigma (HR pixels) before downscaling
    noise: float = 0.0             # SR degradation: max Gaussian noise std, in 8-bit levels, after it
    jpeg: int = 0                  # SR degradation: min JPEG quality (drawn up to 95); 0 = none
    num_workers: int = 2
    max_images: int = 0            # 0 = all
    attrs: list = field(default_factory=list)  # multi-domain: attribute-table columns to train on
                                               # (data.attrs=Black_Hair,Blond_Hair)
    attr_file: str = ""            # the attribute table; "" = list_attr_celeba.txt or the one CSV in the folder
    in_channels: int = 3
    out_channels: int = 3
    label_nc: int = 0              # label maps (SPADE, pix2pixHD): classes 0..label_nc-1 (255 = don't care);
                                   # 0 = found from the training maps (max id + 1) and saved with the run
    palette: str = ""              # colour-coded label maps: a file of "R G B ID" lines; "" = DIR/palette.txt


@dataclass
class TrainConfig:
    iters: int = 2000
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_d: Optional[float] = None   # the discriminators' Adam settings; None = the same as G's
    beta1_d: Optional[float] = None  # (TTUR: a separate D learning rate)
    beta2_d: Optional[float] = None
    optimizer: str = "adam"        # adam | rmsprop (WGAN with weight clipping: RMSprop 5e-5)
    weight_decay: float = 0.0      # Adam weight decay, every network (MUNIT/UNIT: 1e-4)
    d_steps: int = 1               # D updates per G update (StarGAN / WGAN-GP: 5), each on its own batch
    lr_policy: str = "linear"      # linear (constant, then linear to 0) | constant | cosine | multistep
    decay_start: float = 0.5       # linear: fraction of iters after which the lr decays linearly
    milestones: list = field(default_factory=lambda: [0.125, 0.25, 0.5, 0.75])  # multistep: fractions of iters
    gamma: float = 0.5             # multistep: lr factor at each milestone
    ema: float = 0.0               # decay of an exponential moving average of G's weights (0 = off);
                                   # the average is what translate.py uses
    pool_size: int = 0             # image pool of past fakes for D (CycleGAN: 50)
    seed: int = 0
    device: str = "auto"           # auto | cpu | cuda | cuda:N
    threads: int = 0               # CPU threads; 0 = auto: OMP_NUM_THREADS if set, else the cores divided
                                   # among the i2i processes already running (see i2i/runtime.py)
    sync_bn: bool = False          # torchrun on GPUs: batch-norm statistics over every process's batch
    amp: str = "off"               # mixed precision: off | bf16 | fp16 (a gradient scaler per optimizer);
                                   # CPUs emulate bf16 unless they have it: measure before turning it on
    channels_last: bool = False    # NHWC memory layout (faster convolutions on recent GPUs)
    compile: bool = False          # torch.compile every network (first steps slower; needs a C++ compiler on CPU)
    save_every: int = 500
    sample_every: int = 250
    log_every: int = 25


@dataclass
class Config:
    pipeline: str = "pix2pix"
    init_from: str = ""            # run folder or .safetensors whose generator weights start this run
                                   # (and whose generator architecture and scale it inherits)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------- merging and validation

def _keys(dc) -> list[str]:
    return [f.name for f in dataclasses.fields(dc)]


def _coerce(value, typ, key: str):
    """Check a YAML value against the schema's type; ints are accepted where floats are;
    Optional[T] also takes null."""
    args = typing.get_args(typ)
    if type(None) in args:
        return None if value is None else _coerce(value, next(a for a in args if a is not type(None)), key)
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ is float and isinstance(value, str):  # YAML reads 1e-3 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if typ is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if typ is list and isinstance(value, str):  # KEY=a,b,c on the command line
        return [v.strip() for v in value.split(",") if v.strip()]
    if typ in (dict, list) and isinstance(value, typ):
        return value
    if typ in (int, float, str, bool, dict, list) and isinstance(value, typ) and not (typ is int and isinstance(value, bool)):
        return value
    raise UserError(f"config key '{key}' expects {typ.__name__}, got {value!r}")


def merge(dc, updates: dict, prefix: str = ""):
    """Merge a (partial, nested) dict onto dataclass `dc` in place, refusing unknown keys."""
    if not isinstance(updates, dict):
        raise UserError(f"config section '{prefix.rstrip('.') or '<root>'}' must be a mapping, got {updates!r}")
    hints = typing.get_type_hints(type(dc))
    for key, value in updates.items():
        full = prefix + key
        if key not in hints:
            raise UserError(f"unknown config key '{full}'; known keys here: {', '.join(_keys(dc))}")
        current = getattr(dc, key)
        if dataclasses.is_dataclass(current):
            merge(current, value, full + ".")
        else:
            setattr(dc, key, _coerce(value, hints[key], full))
    return dc


def parse_override(text: str) -> dict:
    """'a.b.c=VALUE' -> {'a': {'b': {'c': VALUE}}}; VALUE is parsed as YAML (numbers, bools, lists)."""
    if "=" not in text:
        raise UserError(f"override '{text}' must look like KEY=VALUE (e.g. loss.l1=50)")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw != "" else ""
    out: dict = {}
    node = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def read_yaml(path) -> dict:
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise UserError(f"config file not found: {path}") from None
    except yaml.YAMLError as e:
        raise UserError(f"config file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UserError(f"config file {path} must hold a mapping of keys")
    return data


def presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_descriptions() -> dict[str, str]:
    """{preset: its YAML's first comment line}, for `train.py --help`."""
    out = {}
    for name in presets():
        lines = (PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
        out[name] = next((ln.lstrip("#").strip() for ln in lines if ln.startswith("#")), "")
    return out


def preset_layer(name: str) -> dict:
    """Preset `name` as one partial config dict: its YAML over the preset its `based_on:`
    names, recursively (see the module docstring)."""
    chain: list[str] = []
    layers: list[dict] = []
    while True:
        if name in chain:
            raise UserError(f"preset '{chain[0]}': based_on loops ({' -> '.join(chain + [name])})")
        chain.append(name)
        data = read_yaml(_preset_path(name))
        base = data.pop("based_on", None)
        layers.insert(0, data)
        if base is None:
            break
        name = str(base)
    out: dict = {}
    for layer in layers:
        out = _overlay(out, layer, Config)
    return out


def _overlay(base: dict, top: dict, dc) -> dict:
    """`top` over `base`, merging the schema's sections key by key and replacing other values
    whole (so a preset's `loss.vgg_layers` replaces its base's rather than adding to it)."""
    out = dict(base)
    hints = typing.get_type_hints(dc)
    for key, value in top.items():
        sub = hints.get(key)
        if dataclasses.is_dataclass(sub) and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _overlay(out[key], value, sub)
        else:
            out[key] = value
    return out


def load(pipeline: str, overrides: list[str] | None = None, extra: dict | None = None) -> Config:
    """Build a Config from a preset name or YAML path, then `extra` (flags), then KEY=VALUE overrides.
    A YAML file's `pipeline:` (or `based_on:`) key names the preset it modifies."""
    if pipeline.endswith((".yaml", ".yml")) or os.sep in pipeline:
        user = read_yaml(pipeline)
        names = {str(user[k]) for k in ("pipeline", "based_on") if k in user}
        if not names:
            raise UserError(f"config file {pipeline} has no 'pipeline:' key (one of: {', '.join(presets())})")
        if len(names) > 1:
            raise UserError(f"config file {pipeline}: 'pipeline: {user['pipeline']}' and 'based_on: "
                            f"{user['based_on']}' disagree; keep one (both name the preset it builds on)")
        # `pipeline:` names the preset to build on (esrgan-psnr, srresnet, ...); the preset says
        # which pipeline that is
        preset = {k: v for k, v in user.items() if k not in ("pipeline", "based_on")}
        layers = [preset_layer(names.pop()), preset]
    else:
        layers = [preset_layer(pipeline)]
    cfg = _merged(layers, extra, overrides)
    if cfg.init_from:
        cfg = _inherit_generator(cfg, layers, extra, overrides)
    validate(cfg)
    return cfg


def _merged(layers: list[dict], extra: dict | None, overrides: list[str] | None) -> Config:
    cfg = Config()
    for layer in layers:
        merge(cfg, layer)
    if extra:
        merge(cfg, extra)
    for o in overrides or []:
        merge(cfg, parse_override(o))
    return cfg


# what the weights of a generator depend on: a run started with init_from takes these from there
INHERITED = ("data.scale", "data.in_channels", "data.out_channels")


def _inherit_generator(cfg: Config, layers, extra, overrides) -> Config:
    """A run started from another run's generator (ESRGAN after its PSNR stage) takes that
    generator's architecture and scale, so the user never repeats them; a key set here that
    contradicts the source is an error rather than a silent mismatch."""
    from .engine.checkpoint import read_metadata, resolve_checkpoint  # (engine imports config)
    meta = read_metadata(resolve_checkpoint(cfg.init_from))
    source = from_dict(yaml.safe_load(meta["config"]))
    src_g, g = source.model.generator, cfg.model.generator
    if (src_g.name, g.name) == ("pix2pixhd_global", "pix2pixhd_local"):  # coarse-to-fine: G2 grows around G1
        if (src_g.ngf, src_g.num_blocks, src_g.num_downs, src_g.norm, src_g.upsample) != \
                (2 * g.ngf, g.num_blocks, g.num_downs, g.norm, g.upsample):
            raise UserError(f"init_from={cfg.init_from}: its global generator (ngf {src_g.ngf}, num_blocks "
                            f"{src_g.num_blocks}, num_downs {src_g.num_downs}, norm {src_g.norm}, upsample "
                            f"{src_g.upsample}) must be the one inside this local enhancer: set "
                            f"model.generator.ngf={src_g.ngf // 2} (half of it) and the same other keys")
        return cfg
    inherited = {"model": {"generator": dataclasses.asdict(source.model.generator)}, "data": {}}
    for key in INHERITED:
        inherited["data"][key.split(".")[1]] = _get(source, key)
    out = _merged(layers[:1] + [inherited] + layers[1:], extra, overrides)  # the user's YAML can clash too
    keys = [f"model.generator.{k}" for k in _keys(GeneratorConfig)] + list(INHERITED)
    clash = [k for k in keys if _get(out, k) != _get(source, k)]
    if clash:
        k = clash[0]
        raise UserError(f"{k}={_get(out, k)} contradicts init_from={cfg.init_from}, whose generator has "
                        f"{k}={_get(source, k)}; leave {k} out to inherit it")
    return out


def _get(cfg, dotted: str):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def from_dict(d: dict) -> Config:
    """Rebuild a saved (fully resolved) config, e.g. from a run folder (translate, --resume,
    init_from). Migration on read: a network knob the saved run's generator / discriminator
    does not take is reset to its schema default (`nn.build.reset_unused_knobs`: runs saved
    before networks checked their knobs hold e.g. `norm: none` for an RRDB, which never had an
    effect). A user's new config (`load`) gets no such leniency: there it is an error."""
    cfg = merge(Config(), d)
    from .nn.build import reset_unused_knobs  # (nn imports config)
    reset_unused_knobs(cfg.model)
    cfg.schema_version = SCHEMA_VERSION  # what it is saved as from now on
    validate(cfg)
    return cfg


def _preset_path(name: str) -> Path:
    path = PRESET_DIR / f"{name}.yaml"
    if not path.exists():
        raise UserError(f"unknown pipeline '{name}'; known: {', '.join(presets())} (or pass a YAML path)")
    return path


def _choice(value, allowed, key):
    if value not in allowed:
        raise UserError(f"config key '{key}' is '{value}'; choose one of: {', '.join(map(str, allowed))}")


def validate(cfg: Config) -> None:
    from .nn.layers import NORMS  # the norm factory owns the list of norms
    _choice(cfg.data.direction, ["AtoB", "BtoA"], "data.direction")
    from .losses.adversarial import MODES
    _choice(cfg.loss.gan_mode, list(MODES), "loss.gan_mode")
    _choice(cfg.loss.vgg_criterion, ["l1", "mse"], "loss.vgg_criterion")
    _choice(cfg.train.optimizer, ["adam", "rmsprop"], "train.optimizer")
    _choice(cfg.train.lr_policy, ["linear", "constant", "cosine", "multistep"], "train.lr_policy")
    _choice(cfg.train.amp, ["off", "bf16", "fp16"], "train.amp")
    if cfg.train.amp == "fp16" and (cfg.loss.gan_mode == "wgan-gp" or cfg.loss.r1 > 0):
        raise UserError("train.amp=fp16 with a gradient penalty (wgan-gp, loss.r1) is not supported (the penalty's "
                        "gradients would need unscaling): use train.amp=bf16")
    _choice(cfg.model.init, ["normal", "xavier", "kaiming", "orthogonal", "default"], "model.init")
    _choice(cfg.model.generator.upsample, ["transpose", "resize", "pixelshuffle"], "model.generator.upsample")
    _choice(cfg.model.generator.norm, list(NORMS), "model.generator.norm")
    _choice(cfg.model.discriminator.norm, list(NORMS), "model.discriminator.norm")
    _choice(cfg.model.generator.content_norm, ["instance", "instance_running"], "model.generator.content_norm")
    _choice(cfg.model.generator.up_norm, ["layer", "layer_unbiased"], "model.generator.up_norm")
    _check_numbers(cfg)
    d = cfg.data
    if d.load_size and d.crop_size > d.load_size:
        raise UserError(f"data.crop_size ({d.crop_size}) is larger than data.load_size ({d.load_size})")
    _choice(d.scale, [1, 2, 3, 4, 8], "data.scale")
    if d.crop_size % d.scale:
        raise UserError(f"data.crop_size ({d.crop_size}) must be a multiple of data.scale ({d.scale}): "
                        f"it is the high-resolution crop, e.g. {d.crop_size - d.crop_size % d.scale or d.scale * 32}")
    if not 0 <= d.jpeg <= 95 or d.blur < 0 or d.noise < 0:
        raise UserError("data.jpeg must be 0 (off) or a quality in 1..95, and data.blur / data.noise >= 0")
    for key in ("iters", "batch_size", "save_every", "sample_every", "log_every"):
        if getattr(cfg.train, key) < 1:
            raise UserError(f"config key 'train.{key}' must be >= 1")
    if not 0 <= cfg.train.ema < 1:
        raise UserError(f"train.ema must be in [0, 1) (0 = off; 0.999 as in ESRGAN), got {cfg.train.ema}")
    if not all(isinstance(m, (int, float)) and 0 < m < 1 for m in cfg.train.milestones):
        raise UserError(f"train.milestones must be fractions of train.iters in (0, 1), got {cfg.train.milestones}")


def _number(key: str, value, low: float, high: float = math.inf, low_open: bool = False, high_open: bool = False,
            hint: str = "") -> None:
    """One range check: NaN and infinities fail every range."""
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        if math.isinf(high):
            want = f"{'>' if low_open else '>='} {low:g}"
        else:
            want = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise UserError(f"config key '{key}' is {value!r}; it must be a number {want}{hint}")


def _check_numbers(cfg: Config) -> None:
    """Weights finite and >= 0 (a NaN or negative weight would silently drop or invert a term),
    rates > 0, sizes and counts > 0, so a mistyped value is one line before any work."""
    for f in dataclasses.fields(LossConfig):
        v = getattr(cfg.loss, f.name)
        if isinstance(v, float):
            _number(f"loss.{f.name}", v, 0, hint=" (0 switches the term off)")
    for layer, v in cfg.loss.vgg_layers.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise UserError(f"config key 'loss.vgg_layers.{layer}' must be a number, got {v!r}")
        _number(f"loss.vgg_layers.{layer}", v, 0)
    t, m, d = cfg.train, cfg.model, cfg.data
    _number("train.lr", t.lr, 0, 1, low_open=True, hint=" (e.g. 0.0002)")
    _number("train.beta1", t.beta1, 0, 1, high_open=True)
    _number("train.beta2", t.beta2, 0, 1, high_open=True)
    _number("train.decay_start", t.decay_start, 0, 1)
    _number("train.gamma", t.gamma, 0, 1, low_open=True)
    _number("train.threads", t.threads, 0, hint=" (0 = auto)")
    _number("train.d_steps", t.d_steps, 1)
    _number("train.weight_decay", t.weight_decay, 0, hint=" (0 = off; MUNIT/UNIT use 0.0001)")
    for key in ("lr_d", "beta1_d", "beta2_d"):
        if getattr(t, key) is not None:
            _number(f"train.{key}", getattr(t, key), 0, 1, low_open=key == "lr_d", high_open=key != "lr_d")
    _number("model.init_gain", m.init_gain, 0, low_open=True)
    _number("model.generator.ngf", m.generator.ngf, 1)
    _number("model.generator.dropout", m.generator.dropout, 0, 1, high_open=True)
    _number("model.generator.num_blocks", m.generator.num_blocks, 0, hint=" (0 = the architecture's default)")
    _number("model.generator.num_downs", m.generator.num_downs, 0, hint=" (0 = the architecture's default)")
    _number("model.discriminator.ndf", m.discriminator.ndf, 1)
    _number("model.discriminator.n_layers", m.discriminator.n_layers, 1)
    _number("model.discriminator.num_D", m.discriminator.num_D, 1)
    _number("model.generator.z_dim", m.generator.z_dim, 1)
    for kind in ("generator", "discriminator"):
        a = getattr(m, kind).attention
        if a and (a < 4 or a & (a - 1)):
            raise UserError(f"model.{kind}.attention={a}: give the resolution (a power of two >= 4, e.g. 32) "
                            f"after whose stage the self-attention block goes, or 0 for none")
    _number("data.crop_size", d.crop_size, 1, hint=" (pixels)")
    _number("data.load_size", d.load_size, 0, hint=" (0 = keep the image size)")
    _number("data.num_workers", d.num_workers, 0, hint=" (0 = load in the main process)")
    _number("data.max_images", d.max_images, 0, hint=" (0 = all)")
    _choice(d.in_channels, [1, 3], "data.in_channels")
    _choice(d.out_channels, [1, 3], "data.out_channels")
