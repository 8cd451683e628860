"""The CPU speed-ups change how, not what: small-map convolutions as matrix products, one D call
on real and fake together, fused Adam. Each is compared with the plain computation."""
import copy

import pytest
import torch
from torch import nn

from i2i import config
from i2i.config import DiscriminatorConfig, GeneratorConfig
from i2i.data import DataMeta
from i2i.engine import Trainer
from i2i.nn import build_discriminator, build_generator
from i2i.nn.small_maps import SmallMapConv2d, SmallMapConvTranspose2d, use_small_map_convs
from i2i.pipelines import build_pipeline
from i2i.pipelines.base import judges_each_image_alone, split_batch

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
    fast = use_small_map_convs(copy.deepcopy(plain))
    assert type(fast) in (SmallMapConv2d, SmallMapConvTranspose2d)
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
    conv = use_small_map_convs(nn.Conv2d(4, 4, 3, 1, 1))
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
    assert any(isinstance(m, SmallMapConvTranspose2d) for m in g.modules())
    plain = use_small_map_convs(copy.deepcopy(g), on=False)
    assert not any(isinstance(m, (SmallMapConv2d, SmallMapConvTranspose2d)) for m in plain.modules())
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
    assert judges_each_image_alone(d)
    real, fake = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    out_real, out_fake = split_batch(d(torch.cat([real, fake])), 2)
    for got, want in ((out_real, d(real)), (out_fake, d(fake))):
        assert torch.allclose(flat(got), flat(want), atol=1e-5)
    for norm, sn in (("batch", False), ("none", True)):  # batch statistics; a power iteration per call
        assert not judges_each_image_alone(build_discriminator(DiscriminatorConfig(name="patch", norm=norm,
                                                                                   spectral_norm=sn), 3))


def test_cyclegan_steps_match_separate_d_calls_and_plain_adam(tmp_path):
    """Three CycleGAN steps with every speed-up equal three with plain convs, D called on real and
    fake separately, and the for-loop Adam (to float rounding)."""
    cfg = config.load("cyclegan", ["model.generator.name=resnet", "model.generator.num_blocks=1",
                                   "model.generator.ngf=4", "model.discriminator.ndf=4", "data.crop_size=32"])

    def run(plain: bool):
        torch.manual_seed(0)
        p = build_pipeline(cfg, DataMeta())
        t = Trainer(p, [0] * 4, cfg, tmp_path / ("plain" if plain else "fast"), show_progress=False)
        if plain:
            for opt in t.optimizers.values():
                for group in opt.param_groups:
                    group["fused"], group["foreach"] = False, False
            p.joint_d_call = False
        else:
            assert all(g["fused"] for opt in t.optimizers.values() for g in opt.param_groups)
        torch.manual_seed(1)
        batch = {"A": torch.rand(1, 3, 32, 32) * 2 - 1, "B": torch.rand(1, 3, 32, 32) * 2 - 1}
        losses = [t.train_step(t._to_device(batch)) for _ in range(3)]
        with torch.no_grad():  # what the networks compute now (a conv bias before instance norm has no
            # gradient but rounding noise, which Adam scales up: compare outputs, not every tensor)
            p.eval()
            return losses, [p.generators["G_AB"](batch["A"]), p.generators["G_BA"](batch["B"]),
                            p.discriminators["D_A"](batch["A"]), p.discriminators["D_B"](batch["B"])]

    (fast_losses, fast), (plain_losses, plain) = run(False), run(True)
    for a, b in zip(fast_losses, plain_losses):
        assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-4 for k in a), (a, b)
    for a, b in zip(fast, plain):
        assert torch.allclose(flat(a), flat(b), atol=1e-4)
