"""python -m i2i import --as spade: the official SPADE generator (NVlabs/SPADE,
models/networks/generator.py, architecture.py, normalization.py), re-stated below with its
exact module names: old-style spectral norm (weight_orig / weight_u / weight_v), SPADE layers
with a parameter-free (sync) batch norm, one-hot label maps with a don't-care channel and an
instance-edge channel as its dataset code builds them. Imported translations equal its
eval-mode forward pass."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm

from i2i.__main__ import main as i2i_main
from i2i.inference import Translator


class RefSPADE(nn.Module):
    def __init__(self, norm_nc, label_nc, batch=True):
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False) if batch else \
            nn.InstanceNorm2d(norm_nc, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, 128, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(128, norm_nc, 3, padding=1)
        self.mlp_beta = nn.Conv2d(128, norm_nc, 3, padding=1)

    def forward(self, x, segmap):
        segmap = F.interpolate(segmap, size=x.size()[2:], mode="nearest")
        actv = self.mlp_shared(segmap)
        return self.param_free_norm(x) * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class RefSPADEResnetBlock(nn.Module):
    def __init__(self, fin, fout, label_nc, batch):
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, fmiddle, 3, padding=1))
        self.conv_1 = spectral_norm(nn.Conv2d(fmiddle, fout, 3, padding=1))
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, 1, bias=False))
        self.norm_0, self.norm_1 = RefSPADE(fin, label_nc, batch), RefSPADE(fmiddle, label_nc, batch)
        if self.learned_shortcut:
            self.norm_s = RefSPADE(fin, label_nc, batch)

    def forward(self, x, seg):
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 2e-1))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 2e-1))
        return x_s + dx


class RefSPADEGenerator(nn.Module):
    """SPADEGenerator without --use_vae, num_upsampling_layers normal or most."""

    def __init__(self, semantic_nc, nf=2, batch=True, most=False):
        super().__init__()
        self.most = most
        self.fc = nn.Conv2d(semantic_nc, 16 * nf, 3, padding=1)
        blk = lambda fin, fout: RefSPADEResnetBlock(fin, fout, semantic_nc, batch)  # noqa: E731
        self.head_0, self.G_middle_0, self.G_middle_1 = blk(16 * nf, 16 * nf), blk(16 * nf, 16 * nf), blk(16 * nf, 16 * nf)
        self.up_0, self.up_1, self.up_2, self.up_3 = blk(16 * nf, 8 * nf), blk(8 * nf, 4 * nf), blk(4 * nf, 2 * nf), \
            blk(2 * nf, nf)
        final_nc = nf
        if most:
            self.up_4 = blk(nf, nf // 2)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, seg):
        stages = 7 if self.most else 5
        x = self.fc(F.interpolate(seg, size=(seg.shape[2] // 2 ** stages, seg.shape[3] // 2 ** stages)))
        x = self.G_middle_0(self.up(self.head_0(x, seg)), seg)
        if self.most:
            x = self.up(x)
        x = self.G_middle_1(x, seg)
        for block in (self.up_0, self.up_1, self.up_2, self.up_3) + ((self.up_4,) if self.most else ()):
            x = block(self.up(x), seg)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 2e-1)))


def ref_semantics(label, instance, label_nc, dont_care):
    """Pix2pixModel.preprocess_input: one-hot (255 -> the don't-care channel), then get_edges."""
    ids = torch.where(label == 255, torch.full_like(label, label_nc), label).long()
    onehot = torch.zeros(ids.size(0), label_nc + int(dont_care), *ids.shape[2:]).scatter_(1, ids, 1.0)
    if instance is None:
        return onehot
    t = instance
    edge = torch.zeros_like(t, dtype=torch.bool)
    edge[:, :, :, 1:] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, :, :-1] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, 1:, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    edge[:, :, :-1, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    return torch.cat([onehot, edge.float()], 1)


def trained_looking(net):
    """Random weights and batch-norm statistics, then a few training-mode passes so each spectral
    norm's u and v are its power iteration's (as in a trained file), then eval mode."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5 if "running_var" in name else torch.randn_like(t) * 0.1)
        momentum = [(m, m.momentum) for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        for m, _ in momentum:
            m.momentum = 0.0  # keep the random statistics
        net.train()
        for _ in range(3):
            net(torch.rand(2, net.fc.in_channels, 256 if net.most else 64, 256 if net.most else 64))
        for m, value in momentum:
            m.momentum = value
    return net.eval()


@pytest.mark.parametrize("dont_care, instances, batch", [(True, False, True), (False, True, False)])
def test_official_spade_translates_as_its_eval_forward(tmp_path, capsys, dont_care, instances, batch):
    label_nc = 4
    semantic_nc = label_nc + int(dont_care) + int(instances)
    ref = trained_looking(RefSPADEGenerator(semantic_nc, nf=2, batch=batch))
    torch.save(ref.state_dict(), tmp_path / "latest_net_G.pth")
    flags = ["--label-nc", str(label_nc)] + (["--dont-care"] if dont_care else []) + (["--instances"] if instances else [])
    assert i2i_main(["import", str(tmp_path / "latest_net_G.pth"), "--as", "spade", "--out", str(tmp_path / "run")]
                    + flags) == 0
    assert "imported" in capsys.readouterr().out
    tr = Translator.from_run(tmp_path / "run", "cpu")
    g = tr.cfg.model.generator
    assert (g.ngf, g.norm) == (2, "spade_batch" if batch else "spade_instance")

    torch.manual_seed(1)
    label = torch.randint(0, label_nc, (2, 1, 64, 96))
    label[:, :, :8] = 255 if dont_care else 0
    instance = torch.randint(0, 3, (2, 1, 64, 96)) if instances else None
    x = torch.cat([label, instance], 1).float() if instances else label.float()
    with torch.no_grad():
        want = ref(ref_semantics(label, instance, label_nc, dont_care))
        got = tr.translate_tensor(x)
    assert (want.abs() < 0.99).float().mean() > 0.9 and want.std() > 0.05  # not saturated: the comparison can fail
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_spade_most_and_file_mistakes(tmp_path, capsys):
    ref = trained_looking(RefSPADEGenerator(5, nf=2, most=True))
    torch.save(ref.state_dict(), tmp_path / "G.pth")
    run = ["import", str(tmp_path / "G.pth"), "--as", "spade"]
    assert i2i_main(run + ["--label-nc", "4", "--out", str(tmp_path / "bad")]) == 2
    assert "takes 5 label channels: give --label-nc N and --dont-care / --instances" in capsys.readouterr().err
    assert i2i_main(run + ["--label-nc", "4", "--dont-care", "--out", str(tmp_path / "r")]) == 0
    tr = Translator.from_run(tmp_path / "r", "cpu")
    assert tr.cfg.model.generator.upsampling_layers == "most"
    label = torch.randint(0, 4, (1, 1, 128, 128))
    with torch.no_grad():
        assert torch.allclose(tr.translate_tensor(label.float()), ref(ref_semantics(label, None, 4, True)), atol=1e-5)
    capsys.readouterr()
    state = ref.state_dict()
    state["fc.weight"] = torch.zeros(32, 5)  # a --use_vae generator
    torch.save(state, tmp_path / "vae.pth")
    assert i2i_main(["import", str(tmp_path / "vae.pth"), "--as", "spade", "--label-nc", "4", "--dont-care",
                     "--out", str(tmp_path / "v")]) == 2
    assert "trained with --use_vae" in capsys.readouterr().err
