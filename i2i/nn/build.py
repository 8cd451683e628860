"""Config -> network. The only place that maps config keys onto constructor arguments."""
from __future__ import annotations

from torch import nn

from ..config import DiscriminatorConfig, GeneratorConfig
from ..errors import UserError
from ..registry import DISCRIMINATORS, GENERATORS
from .layers import ResidualOutput, apply_spectral_norm, init_weights


def build_generator(g: GeneratorConfig, in_ch: int, out_ch: int, init: str = "normal",
                    gain: float = 0.02, scale: int = 1) -> nn.Module:
    """`scale` > 1 only for super-resolution generators; the others refuse it."""
    builder = GENERATORS.get(g.name)
    kw = dict(in_ch=in_ch, out_ch=out_ch, ngf=g.ngf, norm=g.norm, dropout=g.dropout, upsample=g.upsample,
              num_blocks=g.num_blocks, num_downs=g.num_downs, pixel_unshuffle=g.pixel_unshuffle)
    if getattr(builder, "super_resolution", False):
        kw["scale"] = scale
    elif scale != 1:
        raise UserError(f"generator '{g.name}' does not upscale; for data.scale={scale} use one of: "
                        f"{', '.join(n for n in GENERATORS.names() if getattr(GENERATORS.get(n), 'super_resolution', False))}")
    if g.residual:
        kw["final_act"] = "none"  # the residual wrapper bounds the output instead
    try:
        net = builder(**kw)
    except ValueError as e:  # a combination the architecture cannot build
        raise UserError(f"model.generator ({g.name}): {e}") from None
    init_weights(net, init, gain)
    if g.residual:
        if in_ch != out_ch:
            raise UserError(f"model.generator.residual=true needs equal input/output channels (got {in_ch} -> {out_ch})")
        net = ResidualOutput(net, scale)
    return net


def build_discriminator(d: DiscriminatorConfig, in_ch: int, init: str = "normal",
                        gain: float = 0.02) -> nn.Module:
    builder = DISCRIMINATORS.get(d.name)
    net = builder(in_ch=in_ch, ndf=d.ndf, n_layers=d.n_layers, norm=d.norm, num_D=d.num_D)
    init_weights(net, init, gain)
    if d.spectral_norm and not getattr(net, "has_spectral_norm", False):
        apply_spectral_norm(net)
    return net
