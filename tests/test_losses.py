"""Losses: known values, the WGAN-GP penalty really applied, perceptual VGG without downloads."""
import math

import pytest
import torch

from i2i.errors import UserError
from i2i.losses import AdversarialLoss, VGGPerceptualLoss, feature_matching, gradient_penalty
from i2i.losses.perceptual import load_vgg19_state


def test_vanilla_is_bce_with_logits():
    x = torch.zeros(2, 1, 4, 4)  # sigmoid(0) = 0.5 -> -log 0.5
    loss = AdversarialLoss("vanilla")
    assert loss(x, True).item() == pytest.approx(math.log(2))
    assert loss(torch.full((1, 1, 2, 2), 3.0), False).item() == pytest.approx(math.log1p(math.exp(3.0)), rel=1e-5)


def test_lsgan_is_squared_distance_to_label():
    x = torch.full((1, 1, 3, 3), 0.25)
    loss = AdversarialLoss("lsgan")
    assert loss(x, True).item() == pytest.approx(0.5625)
    assert loss(x, False).item() == pytest.approx(0.0625)


def test_hinge_differs_for_d_and_g():
    x = torch.tensor([[-2.0, 0.5]]).view(1, 1, 1, 2)
    loss = AdversarialLoss("hinge")
    assert loss(x, True).item() == pytest.approx((3.0 + 0.5) / 2)  # relu(1 - x)
    assert loss(x, False).item() == pytest.approx((0.0 + 1.5) / 2)  # relu(1 + x)
    assert loss(x, True, for_discriminator=False).item() == pytest.approx(0.75)  # -mean(x)


def test_wgan_is_signed_mean():
    x = torch.tensor([1.0, 3.0]).view(1, 1, 1, 2)
    loss = AdversarialLoss("wgan-gp")
    assert loss(x, True).item() == pytest.approx(-2.0)
    assert loss(x, False).item() == pytest.approx(2.0)


def test_multiscale_outputs_are_averaged():
    outputs = [[torch.zeros(1), torch.ones(1, 1, 2, 2)], [torch.zeros(1, 1, 1, 1)]]
    assert AdversarialLoss("lsgan")(outputs, True).item() == pytest.approx(0.5)


def test_gradient_penalty_known_value_and_gradient():
    class Linear(torch.nn.Module):  # D(x) = sum(w * x): |grad| = |w| everywhere
        def __init__(self, scale):
            super().__init__()
            self.w = torch.nn.Parameter(torch.full((1, 1, 2, 2), scale))

        def forward(self, x):
            return [[(self.w * x).sum(dim=(1, 2, 3), keepdim=True)]]

    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    D = Linear(1.0)  # |grad| = 2 -> penalty (2 - 1)^2 = 1
    gp = gradient_penalty(D, real, fake)
    assert gp.item() == pytest.approx(1.0, rel=1e-5)
    gp.backward()
    assert D.w.grad.abs().sum() > 0  # the penalty trains D
    assert gradient_penalty(Linear(0.5), real, fake).item() == pytest.approx(0.0, abs=1e-6)


def test_wgan_gp_penalty_is_in_the_discriminator_step(demo_data):
    from i2i import config
    from i2i.pipelines import build_pipeline
    cfg = config.load("pix2pix", ["loss.gan_mode=wgan-gp", "model.generator.name=unet", "model.generator.num_downs=5",
                                  "model.generator.ngf=4", "model.discriminator.ndf=4", "model.discriminator.norm=none"])
    p = build_pipeline(cfg)
    batch = {"A": torch.rand(2, 3, 32, 32) * 2 - 1, "B": torch.rand(2, 3, 32, 32) * 2 - 1}
    p.generator_step(batch)
    terms = p.discriminator_step(batch)
    assert "D_gp" in terms and terms["D_gp"].item() > 0


def test_feature_matching_zero_for_identical_and_positive_otherwise():
    feats = [[torch.ones(1, 2, 4, 4), torch.zeros(1, 1, 2, 2)]]
    assert feature_matching(feats, feats).item() == 0
    other = [[torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 2, 2)]]
    assert feature_matching(feats, other).item() == pytest.approx(1.0)


def test_perceptual_with_random_vgg():
    torch.manual_seed(0)
    vgg = VGGPerceptualLoss({"relu1_1": 1.0, "conv3_4": 0.5, "relu4_1": 0.25}, weights=None)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert vgg(x, x).item() == 0
    y = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1).requires_grad_(True)
    loss = vgg(y, x)
    loss.backward()
    assert loss.item() > 0 and y.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in vgg.parameters())


def test_missing_vgg_weights_say_where_to_put_them(tmp_path):
    with pytest.raises(UserError, match=r"VGG19 weights not found at .*missing\.pth.*loss.vgg_weights"):
        load_vgg19_state(str(tmp_path / "missing.pth"))


def test_vgg_weights_load_from_configured_path(tmp_path):
    from torchvision.models import vgg19
    path = tmp_path / "vgg19.pth"
    torch.manual_seed(1)
    torch.save(vgg19(weights=None).state_dict(), path)
    vgg = VGGPerceptualLoss({"relu1_1": 1.0}, weights=str(path))
    assert torch.equal(vgg.features[0].weight, torch.load(path, weights_only=True)["features.0.weight"])


def test_unknown_vgg_layer():
    with pytest.raises(UserError, match="unknown VGG layer"):
        VGGPerceptualLoss({"relu9_9": 1.0}, weights=None)
