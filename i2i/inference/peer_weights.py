"""`python -m i2i import FILE --as PIPELINE --out checkpoints/NAME`: weights trained elsewhere
become an i2i run (safetensors, config inside) that translate.py, export and info use as any other.

Supported, by the peers' own key names (read from their code, mapped here name by name):
  * the pix2pix/CycleGAN reference (junyanz/pytorch-CycleGAN-and-pix2pix): `latest_net_G.pth`,
    U-Net (`model.model.1.model.3...`, nested blocks) or ResNet (`model.N.conv_block.M`), batch or
    instance norm, as `--as pix2pix` (one direction), or two files `G_A G_B` as `--as cyclegan`;
  * ESRGAN (xinntao/ESRGAN: `RRDB_trunk.N.RDB1.conv1`, and its first release's `model.1.sub.N...`)
    and BasicSR / Real-ESRGAN (`body.N.rdb1.conv1`; `params_ema` preferred to `params`), x4 and the
    pixel-unshuffled x2plus, as `--as esrgan`. Their networks see [0, 1] images: the imported run
    sets `model.generator.unit_range` so i2i's [-1, 1] is mapped in and out;
  * BasicSR's SRResNet and SRGAN (`MSRResNet_x4`, `MSRGAN_x4`: `conv_first`, `body.N.conv1`,
    `upconv1`, `conv_hr`; x2, x3, x4), its modified SRResNet, as `--as srgan`: the run's generator is
    `msrresnet` (nn/generators/msrresnet.py) with its bilinear base, on [0, 1] like ESRGAN's;
  * the official StarGAN (yunjey/stargan): `200000-G.ckpt` (`main.N`, `main.N.main.M`), as
    `--as stargan` with the domain names (`--domains`, one-hot) or attribute names (`--attrs`,
    CelebA's multi-label) in the order it was trained with;
  * the official MUNIT and UNIT (NVlabs/MUNIT, mingyuliutw/UNIT): `gen_NNNNNNNN.pt`, both domains'
    generators in one file (`{"a": ..., "b": ...}`; `enc_style.model.N`, `enc_content.model.N`,
    `dec.model.N`, `mlp.model.N.fc`; UNIT: `enc`, `dec`), as `--as munit` / `--as unit`. Its
    instance norms normalise with their running statistics at test time and its layer norm
    divides by the unbiased deviation: the run gets `content_norm=instance_running` and
    `up_norm=layer_unbiased` so its outputs are the reference's (reflect padding and ReLU, as in
    every published config).
  * the official SPADE (NVlabs/SPADE): `latest_net_G.pth` of its label-map generators (the released
    ade20k / coco / cityscapes models; `fc` a conv), as `--as spade` with `--label-nc N` and
    `--dont-care` / `--instances` as it was trained (the file's input channels must add up). Its
    spectral norms (`weight_orig`, `weight_u`, `weight_v`) become PyTorch's parametrized ones, its
    SPADE layers (`param_free_norm`, `mlp_shared`, `mlp_gamma`, `mlp_beta`) ours, sync batch norm
    plain batch norm with the same running statistics.

Files are read with `torch.load(weights_only=True)`: tensors only, no code is ever unpickled.
Every one of our generator's tensors must be found under its peer name with the same shape, and
every tensor of the file must be used; the first one that is not stops with one line naming it.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import UserError

PRESETS = ("pix2pix", "cyclegan", "esrgan", "srgan", "stargan", "munit", "unit", "spade")
UNUSED_STATISTICS = ("running_mean", "running_var", "num_batches_tracked")  # instance norms' (see below)


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a .pth: unwrapped from BasicSR's {"params_ema" | "params": ...} and from
    DataParallel's "module." prefix; anything but tensors is refused. The MUNIT/UNIT reference's
    two generators ({"a": ..., "b": ...}) come back as one dict, keys prefixed "a." and "b."."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # an unpickling refusal, a truncated file, not a torch file at all
        raise UserError(f"{path}: not a PyTorch weights file that loads without running code "
                        f"({str(e).strip().splitlines()[0][:160]})") from None
    if isinstance(obj, dict) and set(obj) == {"a", "b"} and all(isinstance(v, dict) for v in obj.values()):
        obj = {f"{d}.{k}": v for d in ("a", "b") for k, v in obj[d].items()}
    if isinstance(obj, dict):
        for key in ("params_ema", "params", "state_dict"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        raise UserError(f"{path}: not a state dict of tensors (a generator's weights, e.g. latest_net_G.pth)")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in obj.items()}


def indices(state: dict, pattern: str) -> set[int]:
    """The numbers a key pattern's group takes in the file (the blocks of a Sequential)."""
    return {int(m.group(1)) for k in state if (m := re.match(pattern, k))}


def last_conv(state: dict, prefix: str) -> int:
    """The index of the last conv weight directly in `prefix`'s Sequential (the output conv)."""
    return max(int(m.group(1)) for k, v in state.items()
               if (m := re.fullmatch(re.escape(prefix) + r"\.(\d+)\.weight", k)) and v.dim() == 4)


# --- the pix2pix / CycleGAN reference ---------------------------------------------------------
def _unet_depth(state: dict) -> int:
    depth, prefix = 1, "model.model.1."
    while f"{prefix}model.1.weight" in state:
        depth += 1
        prefix += "model.3."
    return depth


def unet_prefix(level: int) -> str:
    """Where the reference's nested UnetSkipConnectionBlock of this level keeps its layers."""
    return "model.model." if level == 0 else "model.model.1." + "model.3." * (level - 1) + "model."


def unet_peer_name(key: str, depth: int) -> str:
    """Our flat U-Net (downs[i], ups[i]) -> the reference's nested blocks. Inside a block the
    reference orders [relu, downconv, downnorm, submodule, relu, upconv, upnorm]; the outermost
    has no relu/norm on the way down and a tanh up, the innermost no submodule and no downnorm."""
    part, level, index, param = key.split(".", 3)
    level, index = int(level), int(index)
    inner = level == depth - 1
    if part == "downs":
        peer = {0: 0} if level == 0 else {1: 1, 2: 2}
    elif level == 0:
        peer = {1: 3}
    else:
        peer = {1: 3, 2: 4} if inner else {1: 5, 2: 6}
    return f"{unet_prefix(level)}{peer[index]}.{param}"


def resnet_peer_name(key: str, depth: int = 0) -> str:
    """Our ResnetGenerator keeps the reference's layer order; its blocks say body, theirs conv_block."""
    return key.replace(".body.", ".conv_block.")


def reference_knobs(state: dict, path: Path) -> tuple[list[str], callable, int, int]:
    """(config overrides, our-key -> peer-key, in channels, out channels) of a reference generator."""
    if "model.model.0.weight" in state:
        depth = _unet_depth(state)
        first, last = state["model.model.0.weight"], state["model.model.3.weight"]
        knobs = ["model.generator.name=unet", f"model.generator.num_downs={depth}", f"model.generator.ngf={first.shape[0]}",
                 "model.generator.upsample=transpose"]
        name, cin, cout = (lambda k: unet_peer_name(k, depth)), first.shape[1], last.shape[1]
        first_norm = f"{unet_prefix(1)}2.weight"
    elif "model.1.weight" in state and any(".conv_block." in k for k in state):
        blocks, last = indices(state, r"model\.(\d+)\.conv_block\."), last_conv(state, "model")
        # with dropout the block's second conv moves from index 5 to 6 (where its second norm was)
        dropout = any(".conv_block.6." in k and v.dim() == 4 for k, v in state.items())
        knobs = ["model.generator.name=resnet", f"model.generator.num_blocks={len(blocks)}",
                 f"model.generator.ngf={state['model.1.weight'].shape[0]}", "model.generator.upsample=transpose",
                 f"model.generator.dropout={0.5 if dropout else 0}"]
        name, cin, cout = resnet_peer_name, state["model.1.weight"].shape[1], state[f"model.{last}.weight"].shape[0]
        first_norm = "model.2.weight"
    else:
        raise UserError(f"{path}: not a pix2pix/CycleGAN reference generator (no model.model.0.weight of a U-Net, "
                        f"no model.N.conv_block of a ResNet); first key: {next(iter(state))}")
    # batch norm has a scale; the reference's instance norm none (files saved by old PyTorch versions
    # still carry its unused running statistics: the reference drops them on load, so do we)
    batch_norm = first_norm in state
    if not batch_norm:
        for k in [k for k in state if k.rsplit(".", 1)[-1] in UNUSED_STATISTICS]:
            del state[k]
    knobs += [f"model.generator.norm={'batch' if batch_norm else 'instance'}", "model.generator.residual=false"]
    return knobs, name, int(cin), int(cout)


# --- ESRGAN / BasicSR RRDBNet ---------------------------------------------------------------------
RRDB_NAMES = {  # naming: (our top-level conv -> theirs, dense conv pattern, first-block key)
    "basicsr": ({"conv_body": "conv_body", "conv_hr": "conv_hr", "ups.0.1": "conv_up1", "ups.1.1": "conv_up2"},
                "body.{i}.rdb{j}.conv{k}", "body.0.rdb1.conv1.weight"),
    "esrgan": ({"conv_body": "trunk_conv", "conv_hr": "HRconv", "ups.0.1": "upconv1", "ups.1.1": "upconv2"},
               "RRDB_trunk.{i}.RDB{j}.conv{k}", "RRDB_trunk.0.RDB1.conv1.weight"),
    "esrgan-old": ({"conv_first": "model.0", "ups.0.1": "model.3", "ups.1.1": "model.6", "conv_hr": "model.8",
                    "conv_last": "model.10"}, "model.1.sub.{i}.RDB{j}.conv{k}.0", "model.1.sub.0.RDB1.conv1.0.weight"),
}


def rrdb_knobs(state: dict, path: Path) -> tuple[list[str], callable, int, int]:
    naming = next((n for n, (_, _, probe) in RRDB_NAMES.items() if probe in state), None)
    if naming is None:
        hint = "; it looks like BasicSR's SRResNet / SRGAN: --as srgan" if "body.0.conv1.weight" in state else ""
        raise UserError(f"{path}: not an ESRGAN / Real-ESRGAN RRDBNet (no body.0.rdb1.conv1, RRDB_trunk.0.RDB1.conv1 "
                        f"or model.1.sub.0.RDB1.conv1.0); first key: {next(iter(state))}{hint}")
    top, dense, _ = RRDB_NAMES[naming]
    blocks = len(indices(state, re.escape(dense.split("{i}")[0]) + r"(\d+)\."))
    if naming == "esrgan-old":
        blocks -= 1  # the trunk conv is the last entry of model.1.sub
        top = {**top, "conv_body": f"model.1.sub.{blocks}"}
    first = state[f"{top.get('conv_first', 'conv_first')}.weight"]
    nf, cin = first.shape[0], first.shape[1]
    unshuffle = {3: 1, 12: 2, 48: 4}.get(int(cin))
    if unshuffle is None:
        raise UserError(f"{path}: its first conv takes {cin} channels; an RGB RRDBNet takes 3 (x4), 12 (x2plus) or 48 (x1)")
    scale = 4 // unshuffle
    knobs = ["model.generator.name=rrdb", f"model.generator.ngf={nf}", f"model.generator.num_blocks={blocks}",
             f"model.generator.pixel_unshuffle={'true' if unshuffle == 2 else 'false'}", "model.generator.upsample=resize",
             "model.generator.unit_range=true", "model.generator.residual=false", f"data.scale={scale}"]

    def peer_name(key: str) -> str:
        m = re.match(r"body\.(\d+)\.blocks\.(\d+)\.convs\.(\d+)\.(.+)", key)
        if m:
            i, j, k, param = m.groups()
            return dense.format(i=i, j=int(j) + 1, k=int(k) + 1) + f".{param}"
        layer, _, param = key.rpartition(".")
        return f"{top.get(layer, layer)}.{param}"
    return knobs, peer_name, 3, int(state[f"{top.get('conv_last', 'conv_last')}.weight"].shape[0])


# --- BasicSR's MSRResNet (SRResNet / SRGAN releases) -----------------------------------------------
def msrresnet_knobs(state: dict, path: Path) -> tuple[list[str], callable, int, int]:
    if "conv_first.weight" not in state or "body.0.conv1.weight" not in state or "upconv1.weight" not in state:
        raise UserError(f"{path}: not BasicSR's SRResNet / SRGAN generator (MSRResNet: no conv_first, body.0.conv1 "
                        f"and upconv1); first key: {next(iter(state))}")
    first = state["conv_first.weight"]
    nf, cin = int(first.shape[0]), int(first.shape[1])
    # x4 is two x2 pixel-shuffle stages (upconv1, upconv2); x2 / x3 one stage of nf * scale^2 channels
    scale = 4 if "upconv2.weight" in state else {4 * nf: 2, 9 * nf: 3}.get(int(state["upconv1.weight"].shape[0]))
    if scale is None:
        raise UserError(f"{path}: upconv1 gives {state['upconv1.weight'].shape[0]} channels from {nf}; "
                        f"MSRResNet's x2 / x3 stage gives {4 * nf} / {9 * nf}")
    blocks = len(indices(state, r"body\.(\d+)\.conv1\."))
    knobs = ["model.generator.name=msrresnet", f"model.generator.ngf={nf}", f"model.generator.num_blocks={blocks}",
             "model.generator.unit_range=true", "model.generator.residual=true", f"data.scale={scale}",
             "model.generator.norm=batch", "model.generator.upsample=transpose"]  # the srgan preset's SRResNet
    # knobs back to the schema's defaults: MSRResNet takes neither
    ups = {f"ups.{i}.0": f"upconv{i + 1}" for i in range(2)}

    def peer_name(key: str) -> str:
        layer, _, param = key.rpartition(".")
        return f"{ups.get(layer, layer)}.{param}"
    return knobs, peer_name, cin, int(state["conv_last.weight"].shape[0])


# --- the official StarGAN --------------------------------------------------------------------------
# its instance norms keep running statistics, but its test script runs G in training mode, where
# they are never read (each image is normalised by its own statistics, as here): not imported


def stargan_knobs(state: dict, path: Path) -> tuple[list[str], callable, int, int]:
    if "main.0.weight" not in state or not any(".main." in k for k in state):
        raise UserError(f"{path}: not the official StarGAN generator (no main.0.weight and main.N.main.M residual "
                        f"blocks); first key: {next(iter(state))}")
    blocks, last = indices(state, r"main\.(\d+)\.main\."), last_conv(state, "main")
    first = state["main.0.weight"]
    knobs = ["model.generator.name=stargan", f"model.generator.ngf={first.shape[0]}",
             f"model.generator.num_blocks={len(blocks)}", "model.generator.norm=instance_affine",
             "model.generator.upsample=transpose", "model.generator.residual=false"]
    for k in [k for k in state if k.rsplit(".", 1)[-1] in UNUSED_STATISTICS]:
        del state[k]
    return knobs, lambda key: "main." + key[len("model."):].replace(".body.", ".main."), int(first.shape[1]), \
        int(state[f"main.{last}.weight"].shape[0])


# --- the official MUNIT / UNIT ---------------------------------------------------------------------
def munit_peer_name(key: str) -> str:
    """Ours -> the reference's, inside one domain's generator. Our conv blocks are (pad, conv,
    norm, act) Sequentials and residual blocks say body; theirs are Conv2dBlocks (.conv, .norm)
    inside .model Sequentials; the style MLP's linears sit at 0, 2, 4 (ours) and in LinearBlocks
    0, 1, 2 (theirs)."""
    top, rest = key.split(".", 1)
    if top == "mlp":
        index, param = rest.split(".")
        return f"mlp.model.{int(index) // 2}.fc.{param}"
    part = {"1": "conv", "2": "norm"}
    if m := re.fullmatch(r"(\d+)\.(\d+)\.body\.(\d+)\.([12])\.(\w+)", rest):  # a residual block's conv block
        i, b, j, layer, param = m.groups()
        return f"{top}.model.{i}.model.{b}.model.{j}.{part[layer]}.{param}"
    if m := re.fullmatch(r"(\d+)\.([12])\.(\w+)", rest):  # a conv block
        i, layer, param = m.groups()
        return f"{top}.model.{i}.{part[layer]}.{param}"
    return f"{top}.model.{rest}"  # the style encoder's last 1x1 conv


def munit_knobs(state: dict, path: Path, unit: bool = False) -> tuple[list[str], callable, int, int]:
    enc = "enc" if unit else "enc_content"
    first = f"a.{enc}.model.0.conv.weight"
    if first not in state or f"b.{enc}.model.0.conv.weight" not in state:
        raise UserError(f"{path}: not the official {'UNIT' if unit else 'MUNIT'} generators (no a.{enc}.model.0.conv "
                        f"and b.{enc}.model.0.conv in a {{'a': ..., 'b': ...}} file); first key: {next(iter(state))}")
    downs = len(indices(state, rf"a\.{enc}\.model\.(\d+)\.conv\.weight")) - 1
    blocks = len(indices(state, rf"a\.{enc}\.model\.\d+\.model\.(\d+)\."))
    dim, cin = state[first].shape[:2]
    knobs = [f"model.generator.name={'unit' if unit else 'munit'}", f"model.generator.ngf={dim}",
             f"model.generator.num_downs={downs}", f"model.generator.num_blocks={blocks}",
             "model.generator.residual=false", "model.generator.up_norm=layer_unbiased",
             "model.generator.content_norm=" + ("instance_running" if f"a.{enc}.model.0.norm.running_mean" in state
                                                else "instance")]
    if unit:
        knobs.append("model.generator.shared_blocks=0")
    else:
        style_out = max(indices(state, r"a\.enc_style\.model\.(\d+)\.weight"))
        style_downs = len(indices(state, r"a\.enc_style\.model\.(\d+)\.conv\.weight")) - 1
        if style_downs != 4 or len(indices(state, r"a\.mlp\.model\.(\d+)\.fc\.weight")) != 3:
            raise UserError(f"{path}: a style encoder with {style_downs} downsamplings or an MLP of other than 3 layers; "
                            f"i2i's MUNIT has the published 4 and 3")
        knobs += [f"model.generator.style_dim={state[f'a.enc_style.model.{style_out}.weight'].shape[0]}",
                  f"model.generator.mlp_dim={state['a.mlp.model.0.fc.weight'].shape[0]}"]
    if not unit:  # AdaIN keeps running statistics the reference never reads (each image by its own): not imported
        for k in [k for k in state if ".dec.model.0." in k and k.rsplit(".", 1)[-1] in UNUSED_STATISTICS]:
            del state[k]
    cout = state[f"b.{enc}.model.0.conv.weight"].shape[1]  # domain b's images (domain a's: cin)

    def peer_name(key: str) -> str:
        if unit:  # ours: enc.A.*, dec.A.* in one module; theirs: a.enc.model.*, a.dec.model.*
            part, domain, rest = key.split(".", 2)
            return f"{domain.lower()}." + munit_peer_name(f"{part}.{rest}")
        return munit_peer_name(key)
    return knobs, peer_name, int(cin), int(cout)


# --- the official SPADE ---------------------------------------------------------------------------
SPADE_PARTS = {".norm.": ".param_free_norm.", ".shared.": ".mlp_shared.", ".gamma.": ".mlp_gamma.",
               ".beta.": ".mlp_beta."}
SPECTRAL = {".parametrizations.weight.original": ".weight_orig", ".parametrizations.weight.0._u": ".weight_u",
            ".parametrizations.weight.0._v": ".weight_v"}


def spade_peer_name(key: str) -> str:
    for ours, theirs in {**SPECTRAL, **SPADE_PARTS}.items():
        key = key.replace(ours, theirs)
    return key


def spade_knobs(state: dict, path: Path) -> tuple[list[str], callable, int, int]:
    if "fc.weight" not in state or "head_0.norm_0.mlp_shared.0.weight" not in state:
        raise UserError(f"{path}: not the official SPADE generator (no fc and head_0.norm_0.mlp_shared); first key: "
                        f"{next(iter(state))}")
    if state["fc.weight"].dim() != 4:
        raise UserError(f"{path}: a SPADE generator trained with --use_vae (fc is linear): its style encoder "
                        f"(latest_net_E.pth) does not import yet; the released label-map models (fc a conv) do")
    if "head_0.conv_0.weight_orig" not in state:
        raise UserError(f"{path}: a SPADE generator without spectral norm (no head_0.conv_0.weight_orig); "
                        f"i2i's SPADE blocks have it (the published norm_G spectralspadesyncbatch3x3)")
    hidden, label_channels, kernel = state["head_0.norm_0.mlp_shared.0.weight"].shape[:3]
    if kernel != 3:
        raise UserError(f"{path}: SPADE layers with {kernel}x{kernel} convs; i2i's are 3x3 (spade...3x3)")
    nf = int(state["fc.weight"].shape[0]) // 16
    batch = "head_0.norm_0.param_free_norm.running_mean" in state
    knobs = ["model.generator.name=spade", f"model.generator.ngf={nf}", f"model.generator.spade_hidden={hidden}",
             f"model.generator.norm={'spade_batch' if batch else 'spade_instance'}", "model.generator.style_encoder=false",
             "model.generator.residual=false"] + \
        (["model.generator.upsampling_layers=most"] if "up_4.conv_0.weight_orig" in state else [])
    if batch:  # files from PyTorch before 0.4.1 lack the counter, which eval never reads
        for k in [k for k in state if k.endswith(".param_free_norm.running_mean")]:
            state.setdefault(k.replace("running_mean", "num_batches_tracked"), torch.tensor(0))
    return knobs, spade_peer_name, int(label_channels), int(state["conv_img.weight"].shape[0])


# --- loading -----------------------------------------------------------------------------------
def load_peer(net: torch.nn.Module, state: dict, peer_name, path: Path, what: str) -> None:
    """Every tensor of ours from its peer name, shapes equal, nothing of the file left over."""
    ours = net.state_dict()
    wanted = {key: peer_name(key) for key in ours}
    for key, peer in wanted.items():
        if peer not in state:
            raise UserError(f"{path}: missing key {peer} (a {what} has it; is this the right --as?)")
        if state[peer].shape != ours[key].shape:
            raise UserError(f"{path}: key {peer} has shape {tuple(state[peer].shape)}, a {what} built from the file's "
                            f"other shapes needs {tuple(ours[key].shape)}")
    extra = sorted(set(state) - set(wanted.values()))
    if extra:
        raise UserError(f"{path}: key {extra[0]} has no place in a {what} (is this the right --as?)")
    net.load_state_dict({key: state[peer].to(ours[key].dtype) for key, peer in wanted.items()})


def import_run(files: list[Path], preset: str, out: Path, overrides: list[str], domains: list[str] = (),
               attrs: list[str] = (), label_nc: int = 0, dont_care: bool = False, instances: bool = False) -> str:
    """Build the run in `out` (weights/latest.safetensors + config.yaml); returns a summary line.
    StarGAN: `domains` (one-hot targets) or `attrs` (multi-label), in the file's order. SPADE:
    `label_nc` classes, + a don't-care channel, + an instance-boundary channel."""
    from .. import config as C
    from ..engine import checkpoint as ckpt
    from ..files import write_text
    from ..pipelines import build_pipeline

    if preset not in PRESETS:
        raise UserError(f"--as {preset}: importable as {', '.join(PRESETS)}")
    want = 2 if preset == "cyclegan" else 1
    if len(files) != want:
        raise UserError("--as cyclegan takes two files, G_A (A to B) then G_B (B to A); one generator "
                        "(the reference's pretrained latest_net_G.pth) imports --as pix2pix, one direction"
                        if preset == "cyclegan" else f"--as {preset} takes one weights file, got {len(files)}")
    if (out / ckpt.WEIGHTS).exists():
        raise UserError(f"{out} already holds a run; choose another --out")
    states = [read_state(f) for f in files]
    reader = {"esrgan": rrdb_knobs, "srgan": msrresnet_knobs, "spade": spade_knobs, "stargan": stargan_knobs, "munit": munit_knobs,
              "unit": lambda state, path: munit_knobs(state, path, unit=True)}.get(preset, reference_knobs)
    found = [reader(s, f) for s, f in zip(states, files)]
    knobs, _, cin, cout = found[0]
    from ..data import DataMeta
    meta = DataMeta()
    if preset == "stargan":
        names = list(domains or attrs)
        if bool(domains) == bool(attrs) or cin - 3 != len(names):
            raise UserError(f"{files[0]} takes {cin - 3} target values: name them in its training order with --domains "
                            f"A,B,... (one-hot domains) or --attrs NAME,... (CelebA attributes)")
        meta = DataMeta(domains=tuple(domains)) if domains else DataMeta(attrs=tuple(attrs))
    elif domains or attrs:
        raise UserError("--domains / --attrs apply to --as stargan")
    if preset == "spade":
        from ..data.label_maps import semantic_channels
        if semantic_channels(label_nc, dont_care, instances) != cin or label_nc < 1:
            raise UserError(f"{files[0]} takes {cin} label channels: give --label-nc N and --dont-care / --instances "
                            f"as it was trained, adding up to {cin} (SPADE's ade20k: --label-nc 150 --dont-care; coco: "
                            f"--label-nc 182 --dont-care --instances; cityscapes: --label-nc 35 --instances)")
        meta = DataMeta(label_classes=label_nc, label_dont_care=dont_care, label_instances=instances)
    elif label_nc or dont_care or instances:
        raise UserError("--label-nc / --dont-care / --instances apply to --as spade")
    if preset == "cyclegan" and found[1][0] != knobs:
        raise UserError(f"{files[0]} and {files[1]} are different networks; CycleGAN's two generators share one design")
    channels = [f"data.in_channels={cin}", f"data.out_channels={cout}"] if preset in ("pix2pix", "munit", "unit") else \
        [f"data.label_nc={label_nc}", f"data.out_channels={cout}"] if preset == "spade" else []
    no_vgg = ["loss.perceptual=0"] if preset in ("esrgan", "srgan", "spade") else []  # a training setting: imported runs translate
    cfg = C.load(preset, knobs + channels + no_vgg + list(overrides))
    pipeline = build_pipeline(cfg, meta, training=False)
    what = f"{knobs[0].split('=')[1]} generator"
    if preset == "munit":  # one file, both domains: G_A is its "a", G_B its "b"
        peer_name, path = found[0][1], Path(files[0])
        for name, domain in (("G_A", "a"), ("G_B", "b")):
            mine = {k[2:]: v for k, v in states[0].items() if k.startswith(f"{domain}.")}
            load_peer(pipeline.generators[name], mine, peer_name, path, f"{what} (domain {domain})")
    else:
        names = ["G_AB", "G_BA"] if preset == "cyclegan" else ["G"]
        for name, state, (_, peer_name, _, _), path in zip(names, states, found, files):
            load_peer(pipeline.generators[name], state, peer_name, Path(path), what)
    ckpt.save_weights(out / ckpt.WEIGHTS, pipeline, cfg, 0)
    write_text(out / "config.yaml", cfg.to_yaml())
    params = sum(p.numel() for p in pipeline.generators.parameters())
    return f"imported {', '.join(map(str, files))} as a {preset} run in {out} ({what}, {params:,} parameters)"
