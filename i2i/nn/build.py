"""Config -> network. The only place that maps config keys onto constructor arguments.

Networks own their knobs (DESIGN.md): a registered builder's signature says which keys of
`model.generator` / `model.discriminator` it takes; its other parameters are context the
pipeline passes (in_ch, out_ch, scale, final_act, condition sizes such as cond_dim). Only the
knobs a builder takes reach it; a knob it does not take is an error when its value differs
from the schema default (the schema holds every key, so the defaults are always there), e.g.

    model.generator.num_downs=3 is not a parameter of generator 'resnet_9blocks' (its parameters:
    ngf, norm, dropout, upsample, num_blocks)

The build-level keys handled here (`name`, generator `residual`, `spectral_norm`) go with
every network. Saved runs written before this check may hold
values their network ignored; `config.from_dict` resets those (`reset_unused_knobs`).
"""
from __future__ import annotations

import dataclasses
import inspect

from torch import nn

from ..config import DiscriminatorConfig, GeneratorConfig, ModelConfig
from ..errors import UserError
from ..registry import DISCRIMINATORS, GENERATORS, Registry
from .layers import ResidualOutput, apply_spectral_norm, init_weights, zero_output_conv
from .cpu_convs import use_cpu_convs

BUILD_KEYS = {"generator": ("name", "residual", "spectral_norm"), "discriminator": ("name", "spectral_norm")}
REGISTRIES = {"generator": GENERATORS, "discriminator": DISCRIMINATORS}


def builder_parameters(registry: Registry, name: str) -> dict[str, inspect.Parameter]:
    """The parameters of the builder registered as `name` (context and knobs alike)."""
    params = dict(inspect.signature(registry.get(name)).parameters)
    swallowed = [p.name for p in params.values() if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if swallowed:  # a programming error: the knobs could not be checked
        raise TypeError(f"{registry.kind} builder '{name}' takes *{swallowed[0]}; declare its parameters "
                        f"instead (DESIGN.md: networks own their knobs)")
    return params


def knobs(kind: str, name: str) -> list[str]:
    """The config keys `model.<kind>.*` that builder `name` takes, in its signature's order
    (besides the build-level ones every network takes)."""
    schema = GeneratorConfig if kind == "generator" else DiscriminatorConfig
    fields = {f.name for f in dataclasses.fields(schema)} - set(BUILD_KEYS[kind])
    return [p for p in builder_parameters(REGISTRIES[kind], name) if p in fields]


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def _unused(kind: str, section) -> list[tuple[dataclasses.Field, object]]:
    """(field, value) of every knob that builder `section.name` does not take, set to a value
    other than the schema default."""
    taken = set(knobs(kind, section.name)) | set(BUILD_KEYS[kind])
    return [(f, getattr(section, f.name)) for f in dataclasses.fields(section)
            if f.name not in taken and getattr(section, f.name) != _default(f)]


def _show(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def knob_values(kind: str, section) -> dict:
    """The knobs of a config section that its builder takes, by name; one that it does not take
    but is set (differs from the schema default) is a one-line UserError listing those it does."""
    unused = _unused(kind, section)
    if unused:
        f, value = unused[0]
        taken = knobs(kind, section.name)
        raise UserError(f"model.{kind}.{f.name}={_show(value)} is not a parameter of {kind} '{section.name}' "
                        f"(its parameters: {', '.join(taken) or 'none'})")
    return {k: getattr(section, k) for k in knobs(kind, section.name)}


def reset_unused_knobs(model: ModelConfig) -> list[str]:
    """Migration of a *saved* config (called by `config.from_dict`, never on a user's new
    config): every knob the chosen network does not take goes back to its schema default; the
    keys changed are returned. Runs saved before networks checked their knobs (checkpoint
    schema 1 and the first schema-2 runs) hold every key of the schema whatever the network,
    and may hold values their network silently ignored: the ESRGAN presets saved `norm: none`
    for the RRDB (which has no norm layers), and a user could switch generators and leave
    `dropout` or `num_downs` set. Those values never had an effect, so resetting them keeps the
    run's networks and weights exactly as trained, and the run loads, translates, resumes and
    serves as `init_from`. An unknown network name is left for the build to report."""
    changed = []
    for kind, section in (("generator", model.generator), ("discriminator", model.discriminator)):
        if section.name not in REGISTRIES[kind]:
            continue
        for f, _ in _unused(kind, section):
            setattr(section, f.name, _default(f))
            changed.append(f"model.{kind}.{f.name}")
    return changed


def upscaling_generators() -> list[str]:
    """Generators that take a `scale` (super-resolution)."""
    return [n for n in GENERATORS.names() if "scale" in inspect.signature(GENERATORS.get(n)).parameters]


def build_generator(g: GeneratorConfig, in_ch: int, out_ch: int, init: str = "normal",
                    gain: float = 0.02, scale: int = 1, **context) -> nn.Module:
    """`scale` > 1 only for super-resolution generators (those whose builder takes `scale`); the
    others refuse it. `context`: sizes the pipeline knows (cond_dim, ...) for a builder that
    declares them; one it does not declare is a programming error (TypeError)."""
    builder = GENERATORS.get(g.name)
    params = builder_parameters(GENERATORS, g.name)
    if scale != 1 and "scale" not in params:  # the wrong family first, then its knobs
        raise UserError(f"generator '{g.name}' does not upscale; for data.scale={scale} use one of: "
                        f"{', '.join(upscaling_generators())}")
    kw = dict(out_ch=out_ch, **context, **knob_values("generator", g))
    if "in_ch" in params:  # generators from noise take no image (their input size is z_dim)
        kw["in_ch"] = in_ch
    if "scale" in params:
        kw["scale"] = scale
    own_residual = "residual" in params  # decoders whose base image is not their input (MUNIT, UNIT)
    if own_residual:
        kw["residual"] = g.residual
    elif g.residual:
        if "final_act" not in params:
            raise UserError(f"model.generator.residual=true: generator '{g.name}' has no output activation "
                            f"to hand to the residual wrapper; set model.generator.residual=false")
        kw["final_act"] = "none"  # the residual wrapper bounds the output instead
    try:
        net = builder(**kw)
    except ValueError as e:  # a combination the architecture cannot build
        raise UserError(f"model.generator ({g.name}): {e}") from None
    init_weights(net, init, gain)
    if g.residual and in_ch != out_ch:
        raise UserError(f"model.generator.residual=true needs equal input/output channels (got {in_ch} -> {out_ch})")
    if g.residual and own_residual:
        for conv in net.output_convs:
            zero_output_conv(conv)
    elif g.residual:
        net = ResidualOutput(net, scale)
    use_cpu_convs(net, winograd=True)
    if g.spectral_norm:
        apply_spectral_norm(net)
    return net


def build_discriminator(d: DiscriminatorConfig, in_ch: int, init: str = "normal",
                        gain: float = 0.02, **context) -> nn.Module:
    """`context`: sizes the pipeline knows (num_classes, image_size, ...) for a builder that
    declares them."""
    builder = DISCRIMINATORS.get(d.name)
    builder_parameters(DISCRIMINATORS, d.name)  # refuses a builder that swallows keywords
    net = builder(in_ch=in_ch, **context, **knob_values("discriminator", d))
    init_weights(net, init, gain)
    use_cpu_convs(net, winograd=True)  # penalties differentiate D twice: they run it twice_differentiable()
    if d.spectral_norm and not getattr(net, "has_spectral_norm", False):
        apply_spectral_norm(net)
    return net
