"""MUNIT's and UNIT's auto-encoders (Huang et al. 2018; Liu et al. 2017), from shared blocks.

MUNIT splits an image into a *content* code (a spatial map: what is where) and a *style* code
(a small vector: how it looks). The content encoder keeps resolution/4 and uses instance norm,
which removes style statistics; the style encoder pools globally; the decoder puts a style back
through AdaIN in its residual blocks, whose scales and shifts an MLP computes from the style
code. UNIT uses the same encoder and a decoder with plain instance norm, and no style.

At the paper's edges2shoes setting (dim 64, 2 downsamplings, 4 residual blocks, style dim 8,
MLP 256) one MUNIT generator has 15,026,187 parameters: style encoder 2,764,936, content encoder
5,385,856, decoder 5,754,627, MLP 1,120,768; one UNIT auto-encoder 11,140,483.

`residual=True` ("do no harm"): the decoder's last conv starts at zero and its output is added
to a base image, the image whose content is being decoded, so a translation starts as the
unchanged input.
"""
from __future__ import annotations

import torch
from torch import nn

from ..conditional import ADAIN, CondSequential, Conditional, adain_parameter_count
from ..layers import make_norm, residual_tanh
from ...registry import GENERATORS

ACTIVATIONS = {"relu": lambda: nn.ReLU(True), "lrelu": lambda: nn.LeakyReLU(0.2, True), "tanh": nn.Tanh,
               "none": nn.Identity}


def conv_block(cin: int, cout: int, k: int, stride: int = 1, norm: str = "none", act: str = "relu",
               cond_dim: int = 0) -> CondSequential:
    """Reflection pad, conv (with bias), norm, activation: the reference's Conv2dBlock."""
    return CondSequential(nn.ReflectionPad2d((k - 1) // 2), nn.Conv2d(cin, cout, k, stride),
                          make_norm(norm, cout, cond_dim), ACTIVATIONS[act]())


class ResBlock(Conditional):
    def __init__(self, dim: int, norm: str, cond_dim: int = 0):
        super().__init__()
        self.body = CondSequential(conv_block(dim, dim, 3, norm=norm, cond_dim=cond_dim),
                                   conv_block(dim, dim, 3, norm=norm, act="none", cond_dim=cond_dim))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return x + self.body(x, cond)


def res_blocks(n: int, dim: int, norm: str, cond_dim: int = 0) -> CondSequential:
    return CondSequential(*(ResBlock(dim, norm, cond_dim) for _ in range(n)))


class ContentEncoder(nn.Sequential):
    """7x7 conv, `n_down` stride-2 convs (channels doubling), `n_res` residual blocks; instance norm."""

    def __init__(self, in_ch: int, dim: int, n_down: int, n_res: int, norm: str = "instance"):
        layers, d = [conv_block(in_ch, dim, 7, norm=norm)], dim
        for _ in range(n_down):
            layers.append(conv_block(d, 2 * d, 4, 2, norm=norm))
            d *= 2
        super().__init__(*layers, res_blocks(n_res, d, norm))
        self.output_dim = d


class StyleEncoder(nn.Sequential):
    """7x7 conv, 2 stride-2 convs doubling the channels, `n_down - 2` more at that width, global
    average pooling, 1x1 conv to the style code; no norm (norm would remove the style)."""

    def __init__(self, in_ch: int, dim: int, style_dim: int, n_down: int = 4):
        layers, d = [conv_block(in_ch, dim, 7)], dim
        for k in range(n_down):
            layers.append(conv_block(d, 2 * d if k < 2 else d, 4, 2))
            d = 2 * d if k < 2 else d
        super().__init__(*layers, nn.AdaptiveAvgPool2d(1), nn.Conv2d(d, style_dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).flatten(1)


class Decoder(CondSequential):
    """`n_res` residual blocks (AdaIN for MUNIT, instance norm for UNIT), `n_up` x (nearest x2 +
    5x5 conv + layer norm), 7x7 conv, tanh (none when a residual output adds a base image)."""

    def __init__(self, dim: int, out_ch: int, n_up: int, n_res: int, res_norm: str, final_act: str = "tanh",
                 up_norm: str = "layer"):
        layers, d = [res_blocks(n_res, dim, res_norm, ADAIN if res_norm == "adain" else 0)], dim
        for _ in range(n_up):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), conv_block(d, d // 2, 5, norm=up_norm)]
            d //= 2
        super().__init__(*layers, conv_block(d, out_ch, 7, act=final_act))

    @property
    def output_conv(self) -> nn.Module:
        return self[-1][1]


class MLP(nn.Sequential):
    """style code -> every AdaIN layer's [shift, scale], 3 linear layers."""

    def __init__(self, style_dim: int, out_dim: int, dim: int):
        super().__init__(nn.Linear(style_dim, dim), nn.ReLU(True), nn.Linear(dim, dim), nn.ReLU(True),
                         nn.Linear(dim, out_dim))


class MUNITGenerator(nn.Module):
    """One domain's content encoder, style encoder, decoder and style MLP."""
    size_multiple = 4

    def __init__(self, in_ch: int, out_ch: int, dim: int, n_down: int, n_res: int, style_dim: int, mlp_dim: int,
                 residual: bool, content_norm: str = "instance", up_norm: str = "layer"):
        super().__init__()
        self.style_dim, self.residual = style_dim, residual
        self.size_multiple = 2 ** n_down
        self.enc_style = StyleEncoder(in_ch, dim, style_dim)
        self.enc_content = ContentEncoder(in_ch, dim, n_down, n_res, content_norm)
        self.dec = Decoder(self.enc_content.output_dim, out_ch, n_down, n_res, "adain",
                           "none" if residual else "tanh", up_norm)
        self.mlp = MLP(style_dim, adain_parameter_count(self.dec), mlp_dim)

    @property
    def output_convs(self) -> list[nn.Module]:
        return [self.dec.output_conv]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Auto-encode x with its own style."""
        return self.decode(*self.encode(x), base=x)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(content map, style code N x style_dim)"""
        return self.enc_content(x), self.enc_style(x)

    def decode(self, content: torch.Tensor, style: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        """`base`: the image `content` was encoded from (used by a residual decoder)."""
        out = self.dec(content, self.mlp(style.flatten(1)))
        return residual_tanh(base, out) if self.residual else out


class UNITPair(nn.Module):
    """UNIT's two VAE auto-encoders (domain A: `in_ch` channels, B: `out_ch`). Their last
    `shared` encoder residual blocks and first `shared` decoder blocks are one module used by
    both domains (the paper's shared latent space; the reference's master branch shares none),
    so they are stored once."""

    def __init__(self, in_ch: int, out_ch: int, dim: int, n_down: int, n_res: int, shared: int, residual: bool,
                 norm: str = "instance", up_norm: str = "layer"):
        super().__init__()
        if not 0 <= shared <= n_res:
            raise ValueError(f"shared_blocks must be in 0..{n_res} (the residual blocks per encoder/decoder)")
        self.residual = residual
        self.size_multiple = 2 ** n_down
        act = "none" if residual else "tanh"
        self.enc = nn.ModuleDict({k: ContentEncoder(c, dim, n_down, n_res - shared, norm)
                                  for k, c in (("A", in_ch), ("B", out_ch))})
        d = self.enc["A"].output_dim
        self.shared_enc, self.shared_dec = res_blocks(shared, d, norm), res_blocks(shared, d, norm)
        self.dec = nn.ModuleDict({k: Decoder(d, c, n_down, n_res - shared, norm, act, up_norm)
                                  for k, c in (("A", in_ch), ("B", out_ch))})

    @property
    def output_convs(self) -> list[nn.Module]:
        return [d.output_conv for d in self.dec.values()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Auto-encode a domain-A image."""
        return self.decode(self.encode(x, "A"), "A", base=x)

    def encode(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        """The latent mean (the reference's reduced VAE: unit variance, KL = mean of squares)."""
        return self.shared_enc(self.enc[domain](x))

    def decode(self, h: torch.Tensor, domain: str, base: torch.Tensor | None = None) -> torch.Tensor:
        out = self.dec[domain](self.shared_dec(h))
        return residual_tanh(base, out) if self.residual else out

    def domain_parameters(self, domain: str) -> int:
        """One domain's auto-encoder, shared blocks included."""
        parts = (self.enc[domain], self.shared_enc, self.shared_dec, self.dec[domain])
        return sum(p.numel() for m in parts for p in m.parameters())


@GENERATORS.register("munit")
def munit_generator(in_ch: int = 3, out_ch: int = 3, ngf: int = 64, num_downs: int = 0, num_blocks: int = 0,
                    style_dim: int = 8, mlp_dim: int = 256, residual: bool = False, content_norm: str = "instance",
                    up_norm: str = "layer") -> MUNITGenerator:
    """num_downs 0 = the paper's 2, num_blocks 0 = its 4. `content_norm`: the content encoder's;
    `up_norm`: the decoder's upsampling blocks' (imported reference weights: instance_running,
    layer_unbiased)."""
    return MUNITGenerator(in_ch, out_ch, ngf, num_downs or 2, num_blocks or 4, style_dim, mlp_dim, residual,
                          content_norm, up_norm)


@GENERATORS.register("unit")
def unit_generator(in_ch: int = 3, out_ch: int = 3, ngf: int = 64, num_downs: int = 0, num_blocks: int = 0,
                   shared_blocks: int = 0, residual: bool = False, content_norm: str = "instance",
                   up_norm: str = "layer") -> UNITPair:
    """num_downs 0 = the paper's 2, num_blocks 0 = its 4; shared_blocks 0 = the reference's master.
    `content_norm`: the encoders' and decoders' instance norms; `up_norm`: the upsampling blocks'."""
    return UNITPair(in_ch, out_ch, ngf, num_downs or 2, num_blocks or 4, shared_blocks, residual, content_norm,
                    up_norm)
