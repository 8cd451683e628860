"""The CPU speed-ups change how, not what: small-map convolutions as matrix products, Winograd 3x3
and 4x4 convolutions, 7x7 layers to or from an image by output phases, stacked calls (D on real and
fake together, CycleGAN's generators once per step), fused Adam. Each is compared with the plain
computation."""
import contextlib
import copy
import platform
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from conftest import subprocess_env
from i2i import config
from i2i.config import DiscriminatorConfig, GeneratorConfig
from i2i.data import DataMeta
from i2i.engine import Trainer
from i2i.losses.adversarial import gradient_penalty, r1_penalty
from i2i.nn import build_discriminator, build_generator
from i2i.nn import cpu_convs, few_channels, small_maps, winograd
from i2i.nn.cpu_convs import CPUConv2d, CPUConvTranspose2d, use_cpu_convs
from i2i.pipelines import build_pipeline
from i2i.pipelines.base import treats_each_image_alone, split_batch

LAYERS = [lambda: nn.Conv2d(16, 8, 4, 2, 1), lambda: nn.Conv2d(16, 8, 3, 1, 1, bias=False),
          lambda: nn.Conv2d(16, 8, (3, 1), (2, 1), (0, 1)), lambda: nn.ConvTranspose2d(16, 8, 4, 2, 1),
          lambda: nn.ConvTranspose2d(16, 8, 3, 2, 1, bias=False)]


@pytest.mark.parametrize("make", LAYERS)
@pytest.mark.parametrize("hw", [(1, 1), (2, 2), (3, 5), (8, 8), (9, 9)])
def test_small_map_convs_equal_the_plain_ones_forward_and_backward(make, hw):
    torch.manual_seed(0)
    plain = make()
    if isinstance(plain, nn.Conv2d) and hw[0] + 2 * plain.padding[0] < plain.kernel_size[0]:
        pytest.skip("map smaller than the kernel")
    fast = use_cpu_convs(copy.deepcopy(plain))
    assert type(fast) in (CPUConv2d, CPUConvTranspose2d)
    x = torch.randn(3, 16, *hw, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    y, y2 = plain(x), fast(x2)
    assert y.shape == y2.shape and torch.allclose(y, y2, atol=1e-5)
    g = torch.randn_like(y)
    y.backward(g)
    y2.backward(g)
    # gradients are sums over the batch and map: float32 rounding of ~1e-7 per term adds up
    assert torch.allclose(x.grad, x2.grad, atol=1e-4)
    assert torch.allclose(plain.weight.grad, fast.weight.grad, atol=1e-4)
    if plain.bias is not None:
        assert torch.allclose(plain.bias.grad, fast.bias.grad, atol=1e-4)


def test_small_map_path_is_taken_only_where_it_applies(monkeypatch):
    """Small float32 CPU maps take the product; large maps, bf16 and export-time tracing the conv."""
    calls = []
    monkeypatch.setattr(torch.nn.functional, "unfold", lambda *a, **k: calls.append(1) or torch.nn.functional.fold)
    conv = use_cpu_convs(nn.Conv2d(4, 4, 3, 1, 1))
    conv(torch.randn(1, 4, 16, 16))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        conv(torch.randn(1, 4, 4, 4))
    assert calls == []
    with pytest.raises(Exception):  # the patched unfold proves the small path was chosen
        conv(torch.randn(1, 4, 4, 4))
    assert calls == [1]


def test_unet_and_patchgan_state_dicts_are_unchanged():
    """Checkpoints written before the small-map convs load into networks built with them."""
    g = build_generator(GeneratorConfig(name="unet_128", ngf=8), 3, 3)
    assert any(isinstance(m, CPUConvTranspose2d) for m in g.modules())
    plain = use_cpu_convs(copy.deepcopy(g), on=False)
    assert not any(isinstance(m, (CPUConv2d, CPUConvTranspose2d)) for m in plain.modules())
    assert list(g.state_dict()) == list(plain.state_dict())
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    g.eval(), plain.eval()
    with torch.no_grad():
        assert torch.allclose(g(x), plain(x), atol=1e-5)


def flat(out) -> torch.Tensor:
    """A network's output (a tensor, or nested lists: scales, features) as one vector."""
    return out.flatten() if torch.is_tensor(out) else torch.cat([flat(o) for o in out])


def test_real_and_fake_in_one_d_call_give_the_same_outputs():
    torch.manual_seed(0)
    d = build_discriminator(DiscriminatorConfig(name="multiscale", ndf=8, n_layers=2, norm="instance", num_D=2), 3)
    assert treats_each_image_alone(d)
    real, fake = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    out_real, out_fake = split_batch(d(torch.cat([real, fake])), [2, 2])
    for got, want in ((out_real, d(real)), (out_fake, d(fake))):
        assert torch.allclose(flat(got), flat(want), atol=1e-5)
    # batch statistics; a running-statistics update per call; a power iteration per call
    for norm, sn in (("batch", False), ("instance_running", False), ("none", True)):
        assert not treats_each_image_alone(build_discriminator(DiscriminatorConfig(name="patch", norm=norm,
                                                                                   spectral_norm=sn), 3))


def test_plain_convs_come_back_under_spectral_norm():
    """use_cpu_convs(on=False) also restores convs that spectral norm wrapped after the swap
    (model.generator.spectral_norm=true): the benchmarks' "without" rows must be plain."""
    g = build_generator(GeneratorConfig(name="resnet", ngf=8, num_blocks=1, spectral_norm=True), 3, 3)
    wrapped = [m for m in g.modules() if isinstance(m, nn.Conv2d) and parametrize.is_parametrized(m)]
    assert wrapped and all(isinstance(m, CPUConv2d) and m.winograd for m in wrapped)
    x = torch.rand(1, 3, 32, 32)
    g.eval()
    with torch.no_grad():
        before = g(x)
        use_cpu_convs(g, on=False)
        assert not any(isinstance(m, (CPUConv2d, CPUConvTranspose2d)) or hasattr(m, "winograd") for m in g.modules())
        assert all(parametrize.is_parametrized(m) for m in wrapped)
        assert torch.allclose(g(x), before, atol=1e-5)


def test_cyclegan_steps_match_separate_calls_plain_convs_and_plain_adam(tmp_path, monkeypatch):
    """Three CycleGAN steps with every speed-up equal three with PyTorch's convs, a call per
    image set, and the for-loop Adam (to float rounding). The thresholds are lowered so these
    tiny networks take the Winograd and few-channel routes."""
    monkeypatch.setattr(winograd, "MIN_CHANNELS", {3: 4, 4: 4})
    monkeypatch.setattr(winograd, "MIN_TILES", {3: 1, 4: 1})
    monkeypatch.setattr(small_maps, "MAX_AREA", 49)  # D's stride-1 4x4 layer: 8x8 maps to Winograd, 7x7 to products
    monkeypatch.setattr(cpu_convs, "MANY_CHANNELS", 4)
    monkeypatch.setattr(cpu_convs, "FEW_CHANNELS_AREA", 1)
    monkeypatch.setattr(cpu_convs, "FEW_CHANNELS_KERNEL", 7)
    routes, wconv, correlate = [], winograd.conv, few_channels.correlate
    monkeypatch.setattr(winograd, "conv", lambda x, w, b: routes.append(w.size(-1)) or wconv(x, w, b))
    monkeypatch.setattr(few_channels, "correlate", lambda x, w: routes.append(("phases", x.size(-1))) or correlate(x, w))
    cfg = config.load("cyclegan", ["model.generator.name=resnet", "model.generator.num_blocks=1",
                                   "model.generator.ngf=4", "model.discriminator.ndf=4", "data.crop_size=64"])

    def outputs(p, batch):
        with torch.no_grad():
            p.eval()
            out = [p.generators["G_AB"](batch["A"]), p.generators["G_BA"](batch["B"]),
                   p.discriminators["D_A"](batch["A"]), p.discriminators["D_B"](batch["B"])]
            p.train()
            return [flat(o) for o in out]

    def run(plain: bool):
        torch.manual_seed(0)
        p = build_pipeline(cfg, DataMeta())
        t = Trainer(p, [0] * 4, cfg, tmp_path / ("plain" if plain else "fast"), show_progress=False)
        if plain:
            for opt in t.optimizers.values():
                for group in opt.param_groups:
                    group["fused"], group["foreach"] = False, False
            p.stack_calls = False
            for net in [*p.generators.values(), *p.discriminators.values()]:
                use_cpu_convs(net, on=False)
        else:
            assert all(g["fused"] for opt in t.optimizers.values() for g in opt.param_groups)
        torch.manual_seed(1)
        batch = {"A": torch.rand(1, 3, 64, 64) * 2 - 1, "B": torch.rand(1, 3, 64, 64) * 2 - 1}
        before = outputs(p, batch)
        losses = [t.train_step(t._to_device(batch)) for _ in range(3)]
        return losses, before, outputs(p, batch)

    (fast_losses, _, fast), (plain_losses, before, plain) = run(False), run(True)
    assert {3, 4} <= set(routes), "Winograd was not taken in G's 3x3 and D's 4x4 convs"
    # output phases: G's last layer forward (64 px padded by 3) and its first layer's input gradient
    # (the cycle differentiates F through F(G(a)); the gradient is padded by 6)
    assert {r for r in routes if isinstance(r, tuple)} == {("phases", 70), ("phases", 76)}
    for a, b in zip(fast_losses, plain_losses):
        assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-4 for k in a), (a, b)
    # Compare what the networks compute after 3 steps, against how far those steps moved them (a
    # conv bias before instance norm has no gradient but rounding noise, which Adam scales up to
    # whole steps: individual weights may differ where the outputs do not)
    for a, b, b0 in zip(fast, plain, before):
        moved = (b - b0).abs().max()
        assert (a - b).abs().max() <= 0.01 * moved, ((a - b).abs().max(), moved)


@pytest.mark.parametrize("r", [3, 4])
def test_winograd_tilings_are_exact(r):
    """In exact fractions, output transform . (filter transform (x) input transform) adds up each
    output from exactly its kernel taps: the tables are the convolution, not an approximation."""
    t = winograd.TILINGS[r]
    G, AT = winograd.filter_transform(r), winograd.output_transform(t.m)
    for i in range(t.m):
        for k in range(r):
            for j in range(winograd.A):
                s = sum(AT[i][p] * G[p][k] * winograd._BT[p][j] for p in range(winograd.A))
                assert s == (j == i + k), (i, k, j, s)


@pytest.mark.parametrize("r,n,c,k,hw,bias", [(3, 1, 8, 16, (10, 10), True), (3, 2, 16, 8, (13, 7), False),
                                             (3, 3, 4, 4, (6, 6), True), (3, 1, 8, 8, (3, 3), True),
                                             (4, 2, 8, 16, (18, 18), True), (4, 1, 16, 8, (12, 7), False),
                                             (4, 1, 8, 8, (4, 4), True)])
def test_winograd_equals_the_convolution_forward_and_backward(r, n, c, k, hw, bias):
    """3x3 and 4x4 kernels; maps that are and are not multiples of the tile; the bias and no bias."""
    torch.manual_seed(0)
    conv = nn.Conv2d(c, k, r, bias=bias)
    x = torch.randn(n, c, *hw, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    w2 = conv.weight.detach().clone().requires_grad_()
    b2 = conv.bias.detach().clone().requires_grad_() if bias else None
    y, y2 = conv(x), winograd.conv(x2, w2, b2)
    assert y.shape == y2.shape and (y - y2).abs().max() <= 5e-5 * y.abs().max()
    g = torch.randn_like(y)
    y.backward(g)
    y2.backward(g)
    for want, got in ((x.grad, x2.grad), (conv.weight.grad, w2.grad)) + (((conv.bias.grad, b2.grad),) if bias else ()):
        assert (want - got).abs().max() <= 5e-5 * want.abs().max()


@pytest.mark.parametrize("make,size,route", [
    (lambda: nn.Conv2d(128, 128, 3, 1, 1), 32, "winograd"),                            # a residual block's conv
    (lambda: nn.Conv2d(128, 128, 3, 1, 1, padding_mode="reflect"), 32, "winograd"),
    (lambda: nn.Conv2d(16, 3, 7, 1, 3, padding_mode="reflect"), 64, "few outputs"),   # an output layer
    (lambda: nn.Conv2d(16, 3, 7), 70, "few outputs"),
    (lambda: nn.Conv2d(16, 1, (7, 9)), 71, "few outputs"),                            # odd output: phases padded
    (lambda: nn.Conv2d(3, 16, 7, 1, 3, padding_mode="reflect"), 64, "few inputs"),    # an input layer
    (lambda: nn.Conv2d(2, 16, 9), 69, "few inputs"),
    (lambda: nn.Conv2d(16, 3, 7, 1, 3), 32, "oneDNN"),                                 # too small to pay
    (lambda: nn.Conv2d(16, 3, 3, 1, 1), 64, "oneDNN"),                                 # 3x3: slower that way
    (lambda: nn.Conv2d(256, 512, 4, 1, 1), 16, "winograd"),                            # PatchGAN's stride-1 layer
    (lambda: nn.Conv2d(128, 256, 4, 1, 1), 16, "oneDNN")])                             # narrower: slower that way
def test_conv_routes_equal_pytorchs_conv(make, size, route, monkeypatch):
    torch.manual_seed(0)
    plain = make()
    fast = use_cpu_convs(copy.deepcopy(plain), winograd=True)
    taken = []
    monkeypatch.setattr(winograd, "conv", lambda *a, f=winograd.conv: taken.append("winograd") or f(*a))
    monkeypatch.setattr(few_channels.FewOutputsConv, "apply",
                        lambda *a, f=few_channels.FewOutputsConv.apply: taken.append("few outputs") or f(*a))
    monkeypatch.setattr(few_channels.FewInputsConv, "apply",
                        lambda *a, f=few_channels.FewInputsConv.apply: taken.append("few inputs") or f(*a))
    x = torch.randn(4 if plain.kernel_size == (4, 4) else 1, plain.in_channels, size, size, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    y, y2 = plain(x), fast(x2)
    assert taken == ([] if route == "oneDNN" else [route])
    assert (y - y2).abs().max() <= 5e-5 * y.abs().max()
    g = torch.randn_like(y)
    y.backward(g)
    y2.backward(g)
    for want, got in ((x.grad, x2.grad), (plain.weight.grad, fast.weight.grad), (plain.bias.grad, fast.bias.grad)):
        assert (want - got).abs().max() <= 5e-5 * want.abs().max()


@pytest.mark.parametrize("penalty", ["gp", "r1"])
def test_penalties_differentiate_a_winograd_discriminator_twice(penalty, monkeypatch):
    """D's wide convs take Winograd, whose backward is not differentiable again; the gradient
    penalties run D twice_differentiable() and equal the plain D's penalty and gradients."""
    monkeypatch.setattr(winograd, "MIN_CHANNELS", {3: 4, 4: 4})
    monkeypatch.setattr(winograd, "MIN_TILES", {3: 1, 4: 1})
    monkeypatch.setattr(small_maps, "MAX_AREA", 0)  # D's stride-1 layer sees a 4x4 map here
    torch.manual_seed(0)
    fast = build_discriminator(DiscriminatorConfig(name="patch", ndf=8), 3)
    plain = use_cpu_convs(copy.deepcopy(fast), on=False)
    assert any(m.winograd for m in fast.modules() if isinstance(m, CPUConv2d))
    taken = []
    monkeypatch.setattr(winograd, "conv", lambda *a, f=winograd.conv: taken.append(1) or f(*a))
    real, fake = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    fast(real)
    assert taken, "D's 4x4 stride-1 conv did not take Winograd outside a penalty"
    taken.clear()
    values = []
    for d in (fast, plain):
        torch.manual_seed(1)
        value = gradient_penalty(d, real, fake) if penalty == "gp" else r1_penalty(d, real)
        value.backward()  # differentiates D's input gradient: a second derivative
        values.append((value.detach(), [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in d.parameters()]))
    assert not taken
    (v1, g1), (v2, g2) = values
    assert torch.allclose(v1, v2, rtol=1e-5, atol=1e-7)
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(g1, g2))


def test_cyclegan_stacks_each_generators_calls():
    """G runs on (a, b) and F on (b, a, G(a)) at once, then G on F(b): three calls, not six."""
    cfg = config.load("cyclegan", ["model.generator.name=resnet", "model.generator.num_blocks=1",
                                   "model.generator.ngf=4", "model.discriminator.ndf=4"])
    p = build_pipeline(cfg, DataMeta())
    batches = []
    for g in p.generators.values():
        g.register_forward_hook(lambda m, inp, out: batches.append(inp[0].size(0)))
    p.generator_step({"A": torch.rand(2, 3, 32, 32), "B": torch.rand(2, 3, 32, 32)})
    assert batches == [4, 6, 2]


HEAP_CHECK = """
import sys, torch
from i2i import runtime
kept = runtime.keep_freed_memory() if sys.argv[1] == "keep" else False
t = torch.empty(4 << 20)  # 16 MB
lo, hi = next(tuple(int(a, 16) for a in line.split()[0].split("-"))
              for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]"))
print(kept, lo <= t.data_ptr() < hi)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
@pytest.mark.parametrize("mode,env,want", [("keep", {}, "True True"), ("default", {}, "False False"),
                                           ("keep", {"MALLOC_TOP_PAD_": "0"}, "False False")])
def test_keep_freed_memory_serves_large_blocks_from_the_reused_heap(mode, env, want):
    """train.py / translate.py ask glibc to keep freed memory: a 16 MB block then comes from the
    heap (reused without page faults) instead of a fresh mapping; a user's own MALLOC_*_ settings win."""
    out = subprocess.run([sys.executable, "-c", HEAP_CHECK, mode], capture_output=True, text=True,
                         env=subprocess_env(**env), check=True).stdout.split("\n")[-2]
    assert out == want


def test_image_layers_differentiate_twice_under_twice_differentiable():
    """The few-channel routes' backward is written by hand; inside twice_differentiable() a
    generator's 7x7 first and last layers run as plain autograd and a second derivative equals
    PyTorch's own."""
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(3, 16, 7, 1, 3, padding_mode="reflect"), nn.Tanh(), nn.Conv2d(16, 3, 7, 1, 3))
    fast = use_cpu_convs(copy.deepcopy(plain))
    x = torch.randn(2, 3, 64, 64)
    values = []
    for net in (fast, plain):
        xr = x.clone().requires_grad_()
        with cpu_convs.twice_differentiable():
            (g,) = torch.autograd.grad(net(xr).square().sum(), xr, create_graph=True)
            g.square().sum().backward()
        values.append([p.grad.clone() for p in net.parameters()])
    for a, b in zip(*values):
        assert (a - b).abs().max() <= 1e-4 * b.abs().max()
    with pytest.raises(RuntimeError):  # outside it, the hand-written backward refuses a second derivative
        xr = x.clone().requires_grad_()
        (g,) = torch.autograd.grad(fast(xr).square().sum(), xr, create_graph=True)
        g.square().sum().backward()


def test_weight_transforms_are_kept_only_until_forgotten():
    """Inside kept_transforms() a weight is transformed once; forget() (the trainer calls it after
    each optimizer step) makes the next call see the new values. Fused Adam changes weights
    without moving their `_version`, so only the caller can say when they changed."""
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(8, 8, 3, 3))
    x = torch.randn(1, 8, 10, 10)
    t = winograd.TILINGS[3]
    assert winograd.transformed_weight(w, t) is not winograd.transformed_weight(w, t)
    opt = torch.optim.Adam([w], lr=0.1, fused=True)
    with winograd.kept_transforms():
        assert winograd.transformed_weight(w, t) is winograd.transformed_weight(w, t)
        winograd.conv(x, w, None).square().sum().backward()
        opt.step()
        winograd.forget([w])
        assert torch.allclose(winograd.conv(x, w, None), torch.nn.functional.conv2d(x, w), atol=1e-4)


def test_kept_transforms_follow_every_optimizer_step(tmp_path, monkeypatch):
    """With two D updates per step, D's second update and G's step use D's new weights: the same
    losses as transforming every weight afresh on every call (fails without the trainer's forget)."""
    monkeypatch.setattr(winograd, "MIN_CHANNELS", {3: 4, 4: 4})
    monkeypatch.setattr(winograd, "MIN_TILES", {3: 1, 4: 1})
    monkeypatch.setattr(small_maps, "MAX_AREA", 0)
    cfg = config.load("cyclegan", ["model.generator.name=resnet", "model.generator.num_blocks=1",
                                   "model.generator.ngf=4", "model.discriminator.ndf=4", "data.crop_size=32",
                                   "train.d_steps=2"])
    torch.manual_seed(1)
    batches = [{k: torch.rand(1, 3, 32, 32) * 2 - 1 for k in "AB"} for _ in range(2)]

    def run(keep: bool):
        if not keep:
            monkeypatch.setattr(winograd, "kept_transforms", contextlib.nullcontext)
        torch.manual_seed(0)
        t = Trainer(build_pipeline(cfg, DataMeta()), [0] * 4, cfg, tmp_path / str(keep), show_progress=False)
        return [t.train_step(batches[1], [batches[0]]) for _ in range(3)]

    kept, fresh = run(True), run(False)
    for a, b in zip(kept, fresh):
        assert all(abs(a[k] - b[k]) <= 1e-6 * max(1, abs(b[k])) for k in a), (a, b)


@pytest.mark.parametrize("shape,pad", [((2, 128, 32, 32), (1, 1, 1, 1)), ((1, 32, 64, 70), (3, 3, 3, 3)),
                                       ((1, 64, 48, 48), (2, 0, 1, 3)), ((1, 3, 16, 16), (3, 3, 3, 3))])
def test_reflection_pad_equals_pytorchs_and_differentiates_twice(shape, pad):
    """The generators' reflection pads fold their border gradients with slice-adds: the same
    gradient as PyTorch's (first and second order), asymmetric pads included."""
    torch.manual_seed(0)
    plain = nn.ReflectionPad2d(pad)
    fast = use_cpu_convs(copy.deepcopy(plain))
    assert type(fast) is cpu_convs.CPUReflectionPad2d
    x = torch.randn(shape)
    grads = []
    for m in (fast, plain):
        xr = x.clone().requires_grad_()
        y = m(xr)
        (g,) = torch.autograd.grad(y.square().sum(), xr, create_graph=True)
        (gg,) = torch.autograd.grad(g.square().sum(), xr)
        grads.append((y.detach(), g.detach(), gg))
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)
    assert type(use_cpu_convs(fast, on=False)) is nn.ReflectionPad2d
