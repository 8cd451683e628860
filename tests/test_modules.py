"""Networks: parameter counts equal the reference implementations; shapes at odd sizes."""
import pytest
import torch

from i2i.config import DiscriminatorConfig, GeneratorConfig
from i2i.errors import UserError
from i2i.nn import build_discriminator, build_generator
from i2i.nn.layers import count_parameters
from i2i.registry import DISCRIMINATORS, GENERATORS


def test_reference_parameter_counts():
    resnet = build_generator(GeneratorConfig(name="resnet_9blocks", ngf=64, norm="instance"), 3, 3)
    unet = build_generator(GeneratorConfig(name="unet_256", ngf=64, norm="batch"), 3, 3)
    patch = build_discriminator(DiscriminatorConfig(name="patch", ndf=64, n_layers=3, norm="batch"), 6)
    assert count_parameters(resnet) == 11_378_179
    assert count_parameters(unet) == 54_413_955
    assert count_parameters(patch) == 2_768_705


@pytest.mark.parametrize("name,num_downs", [("unet", 5), ("unet_128", 0), ("resnet_6blocks", 0)])
@pytest.mark.parametrize("upsample", ["transpose", "resize"])
def test_generator_shapes(name, num_downs, upsample):
    g = build_generator(GeneratorConfig(name=name, ngf=8, norm="instance", num_downs=num_downs, upsample=upsample), 1, 3)
    m = g.size_multiple
    x = torch.randn(2, 1, 2 * m, 3 * m)
    y = g(x)
    assert y.shape == (2, 3, 2 * m, 3 * m)
    assert y.abs().max() <= 1.0


def test_unet_depth_sets_size_multiple():
    assert build_generator(GeneratorConfig(name="unet_256", ngf=4), 3, 3).size_multiple == 256
    assert build_generator(GeneratorConfig(name="unet_128", ngf=4), 3, 3).size_multiple == 128
    assert build_generator(GeneratorConfig(name="unet", num_downs=6, ngf=4), 3, 3).size_multiple == 64


def test_resnet_generator_odd_size_multiple_of_four():
    g = build_generator(GeneratorConfig(name="resnet_6blocks", ngf=8, norm="instance"), 3, 3)
    assert g(torch.randn(1, 3, 36, 52)).shape == (1, 3, 36, 52)


def test_residual_generator_starts_as_identity():
    g = build_generator(GeneratorConfig(name="unet_128", num_downs=5, ngf=8, residual=True), 3, 3)
    x = torch.rand(1, 3, 64, 64) * 1.8 - 0.9
    assert torch.allclose(g(x), x, atol=1e-4)


def test_residual_needs_equal_channels():
    with pytest.raises(UserError, match="equal input/output channels"):
        build_generator(GeneratorConfig(name="unet_128", ngf=8, residual=True), 1, 3)


@pytest.mark.parametrize("name,n_layers,expected_hw", [("patch", 3, (6, 8)), ("patch", 2, (14, 18)), ("pixel", 3, (64, 80))])
def test_discriminator_output_maps(name, n_layers, expected_hw):
    d = build_discriminator(DiscriminatorConfig(name=name, ndf=8, n_layers=n_layers, norm="instance"), 6)
    out = d(torch.randn(2, 6, 64, 80))
    assert len(out) == 1 and out[0][-1].shape == (2, 1, *expected_hw)


def test_patchgan_receptive_field_is_70():
    """Gradient of one output pixel w.r.t. the input covers exactly 70x70 pixels."""
    d = build_discriminator(DiscriminatorConfig(name="patch", ndf=4, n_layers=3, norm="none"), 1)
    x = torch.randn(1, 1, 128, 128, requires_grad=True)
    pred = d(x)[0][-1]
    pred[0, 0, pred.shape[2] // 2, pred.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_multiscale_returns_features_per_scale():
    d = build_discriminator(DiscriminatorConfig(name="multiscale", ndf=8, n_layers=2, num_D=3, norm="instance"), 3)
    out = d(torch.randn(1, 3, 64, 64))
    assert len(out) == 3
    assert all(len(feats) == 4 for feats in out)  # 3 conv stages + prediction
    assert [o[-1].shape[-1] for o in out] == [14, 6, 2]


def test_spectral_norm_bounds_discriminator_weights():
    d = build_discriminator(DiscriminatorConfig(name="patch", ndf=8, n_layers=2, norm="none", spectral_norm=True), 3)
    d(torch.randn(1, 3, 32, 32))  # power iteration updates u
    for _ in range(20):
        d(torch.randn(1, 3, 32, 32))
    conv = d.stages[1][0]
    w = conv.weight.flatten(1)
    assert torch.linalg.matrix_norm(w.detach(), ord=2).item() == pytest.approx(1.0, rel=0.1)


def test_unknown_names_list_known_ones():
    with pytest.raises(UserError, match="unknown generator 'unet_512'.*resnet_9blocks.*unet_256"):
        GENERATORS.get("unet_512")
    with pytest.raises(UserError, match="known: dcgan, multiscale, patch, pixel, sngan"):
        DISCRIMINATORS.get("nope")


@pytest.mark.parametrize("kind", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_kinds(kind):
    from i2i.nn.layers import init_weights
    g = build_generator(GeneratorConfig(name="resnet_6blocks", ngf=8), 3, 3)
    init_weights(g, kind, 0.02)
    w = g.model[1].weight
    assert torch.isfinite(w).all() and w.std() > 0
    if kind == "normal":
        assert w.std().item() == pytest.approx(0.02, rel=0.15)
