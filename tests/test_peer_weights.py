"""python -m i2i import: the peers' weight files, with their exact key names and shapes (each peer
network re-stated below from its own code, random values), become runs whose output equals the
peer's forward pass."""
import re

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from i2i.__main__ import main as i2i_main
from i2i.errors import UserError
from i2i.inference import Translator
from i2i.inference.peer_weights import import_run
from i2i.pipelines import Request


# --- the pix2pix / CycleGAN reference (models/networks.py), re-stated --------------------------
def ref_norm(kind):
    return (lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True)) if kind == "batch" else \
        (lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False))


class RefResnetBlock(nn.Module):
    def __init__(self, dim, norm, use_dropout, use_bias):
        super().__init__()
        block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=use_bias), norm(dim), nn.ReLU(True)]
        if use_dropout:
            block += [nn.Dropout(0.5)]
        block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=use_bias), norm(dim)]
        self.conv_block = nn.Sequential(*block)

    def forward(self, x):
        return x + self.conv_block(x)


class RefResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf, n_blocks, norm_kind="instance", use_dropout=False):
        super().__init__()
        norm, use_bias = ref_norm(norm_kind), norm_kind == "instance"
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, padding=0, bias=use_bias), norm(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                      norm(ngf * mult * 2), nn.ReLU(True)]
        model += [RefResnetBlock(ngf * 4, norm, use_dropout, use_bias) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1,
                                         bias=use_bias), norm(ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class RefUnetBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 norm=None, use_bias=False, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        input_nc = input_nc or outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=use_bias)
        downrelu, uprelu = nn.LeakyReLU(0.2, True), nn.ReLU(True)
        if outermost:
            model = [downconv, submodule, uprelu, nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1),
                     nn.Tanh()]
        elif innermost:
            model = [downrelu, downconv, uprelu,
                     nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=use_bias), norm(outer_nc)]
        else:
            model = [downrelu, downconv, norm(inner_nc), submodule, uprelu,
                     nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1, bias=use_bias), norm(outer_nc)]
            if use_dropout:
                model += [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class RefUnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf, norm_kind="batch", use_dropout=True):
        super().__init__()
        norm, bias = ref_norm(norm_kind), norm_kind == "instance"
        block = RefUnetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm, use_bias=bias)
        for _ in range(num_downs - 5):
            block = RefUnetBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, use_bias=bias, use_dropout=use_dropout)
        block = RefUnetBlock(ngf * 4, ngf * 8, submodule=block, norm=norm, use_bias=bias)
        block = RefUnetBlock(ngf * 2, ngf * 4, submodule=block, norm=norm, use_bias=bias)
        block = RefUnetBlock(ngf, ngf * 2, submodule=block, norm=norm, use_bias=bias)
        self.model = RefUnetBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, norm=norm,
                                  use_bias=bias)

    def forward(self, x):
        return self.model(x)


# --- BasicSR's RRDBNet (basicsr/archs/rrdbnet_arch.py), re-stated ------------------------------
class RefRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        for k in range(5):
            setattr(self, f"conv{k + 1}", nn.Conv2d(nf + k * gc, gc if k < 4 else nf, 3, 1, 1))
        self.lrelu = nn.LeakyReLU(0.2, True)

    def forward(self, x):
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1)) * 0.2 + x


class RefRRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = RefRDB(nf, gc), RefRDB(nf, gc), RefRDB(nf, gc)

    def forward(self, x):
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RefRRDBNet(nn.Module):
    def __init__(self, nf=8, nb=2, gc=4, scale=4):
        super().__init__()
        self.scale = scale
        cin = 3 * (4 if scale == 2 else 1)
        self.conv_first = nn.Conv2d(cin, nf, 3, 1, 1)
        self.body = nn.Sequential(*(RefRRDB(nf, gc) for _ in range(nb)))
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up1, self.conv_up2 = nn.Conv2d(nf, nf, 3, 1, 1), nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_hr, self.conv_last = nn.Conv2d(nf, nf, 3, 1, 1), nn.Conv2d(nf, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, True)

    def forward(self, x):  # x in [0, 1]
        feat = F.pixel_unshuffle(x, 2) if self.scale == 2 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


# --- BasicSR's MSRResNet (basicsr/archs/srresnet_arch.py), re-stated ----------------------------
class RefResidualBlockNoBN(nn.Module):
    def __init__(self, nf):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1), nn.Conv2d(nf, nf, 3, 1, 1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class RefMSRResNet(nn.Module):
    def __init__(self, nf=8, nb=2, upscale=4):
        super().__init__()
        self.upscale = upscale
        self.conv_first = nn.Conv2d(3, nf, 3, 1, 1)
        self.body = nn.Sequential(*(RefResidualBlockNoBN(nf) for _ in range(nb)))
        if upscale == 4:
            self.upconv1, self.upconv2 = nn.Conv2d(nf, nf * 4, 3, 1, 1), nn.Conv2d(nf, nf * 4, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(2)
        else:
            self.upconv1 = nn.Conv2d(nf, nf * upscale * upscale, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(upscale)
        self.conv_hr, self.conv_last = nn.Conv2d(nf, nf, 3, 1, 1), nn.Conv2d(nf, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.1, True)

    def forward(self, x):  # x in [0, 1]
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        if self.upscale == 4:
            out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        return out + F.interpolate(x, scale_factor=self.upscale, mode="bilinear", align_corners=False)


def randomised(net: nn.Module) -> nn.Module:
    """Random values everywhere, batch-norm statistics included (a trained file has them)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5 if "running_var" in name else torch.randn_like(t) * 0.1)
    return net.eval()


def renamed(state: dict, dense: str, top: dict) -> dict:
    """BasicSR's names -> another naming: `dense` for the dense-block convs, `top` for the rest."""
    out = {}
    for k, v in state.items():
        m = re.match(r"body\.(\d+)\.rdb(\d)\.(conv\d)\.(.+)", k)
        layer, _, param = k.rpartition(".")
        out[dense.format(*m.groups()) if m else f"{top.get(layer, layer)}.{param}"] = v
    return out


def esrgan_names(state: dict) -> dict:
    """-> xinntao/ESRGAN's (RRDBNet_arch.py)."""
    return renamed(state, "RRDB_trunk.{0}.RDB{1}.{2}.{3}",
                   {"conv_body": "trunk_conv", "conv_up1": "upconv1", "conv_up2": "upconv2", "conv_hr": "HRconv"})


def esrgan_old_names(state: dict, nb: int) -> dict:
    """-> ESRGAN's first release (architecture.py's sequential 'model.N')."""
    return renamed(state, "model.1.sub.{0}.RDB{1}.{2}.0.{3}",
                   {"conv_first": "model.0", "conv_body": f"model.1.sub.{nb}", "conv_up1": "model.3",
                    "conv_up2": "model.6", "conv_hr": "model.8", "conv_last": "model.10"})


def imported(tmp_path, files_states, preset, *overrides):
    files = []
    for k, state in enumerate(files_states):
        files.append(tmp_path / f"peer{k}.pth")
        torch.save(state, files[-1])
    import_run(files, preset, tmp_path / "run", list(overrides))
    return Translator.from_run(tmp_path / "run", "cpu")


def test_cyclegan_reference_resnet_pair(tmp_path):
    ga, gb = randomised(RefResnetGenerator(3, 3, 4, 3)), randomised(RefResnetGenerator(3, 3, 4, 3))
    gb.load_state_dict({k: v * 1.5 for k, v in ga.state_dict().items()})
    tr = imported(tmp_path, [ga.state_dict(), gb.state_dict()], "cyclegan")
    x = torch.rand(2, 3, 36, 44) * 2 - 1
    with torch.no_grad():
        for direction, ref in (("AtoB", ga), ("BtoA", gb)):
            got = tr.translate_tensor(x, tr.condition(Request(direction=direction), 2))
            assert torch.allclose(got, ref(x), atol=1e-5), direction


@pytest.mark.parametrize("norm, dropout", [("batch", True), ("instance", False)])
def test_pix2pix_reference_unet(tmp_path, norm, dropout):
    ref = randomised(RefUnetGenerator(3, 3, 6, 4, norm, dropout))
    tr = imported(tmp_path, [ref.state_dict()], "pix2pix")
    assert tr.cfg.model.generator.name == "unet" and tr.cfg.model.generator.num_downs == 6
    x = torch.rand(1, 3, 64, 128) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(tr.translate_tensor(x), ref(x), atol=1e-5)


def test_a_cyclegan_download_imports_as_one_direction(tmp_path, capsys):
    """The reference's pretrained latest_net_G.pth (ResNet, 9 blocks at full size), grayscale in."""
    ref = randomised(RefResnetGenerator(1, 3, 4, 2, use_dropout=True))
    torch.save(ref.state_dict(), tmp_path / "latest_net_G.pth")
    assert i2i_main(["import", str(tmp_path / "latest_net_G.pth"), "--as", "pix2pix", "--out", str(tmp_path / "r")]) == 0
    assert "imported" in capsys.readouterr().out
    tr = Translator.from_run(tmp_path / "r", "cpu")
    x = torch.rand(1, 1, 40, 24) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(tr.translate_tensor(x), ref(x), atol=1e-5)


@pytest.mark.parametrize("naming, scale", [("basicsr", 4), ("basicsr", 2), ("esrgan", 4), ("esrgan-old", 4)])
def test_esrgan_and_real_esrgan(tmp_path, naming, scale):
    ref = randomised(RefRRDBNet(scale=scale))
    state = ref.state_dict()
    if naming == "basicsr":
        state = {"params_ema": state, "params": {k: v * 0 for k, v in state.items()}}  # Real-ESRGAN's layout
    else:
        state = esrgan_names(state) if naming == "esrgan" else esrgan_old_names(state, 2)
    tr = imported(tmp_path, [state], "esrgan", "model.generator.ngf=8")
    assert tr.scale == scale and tr.cfg.model.generator.unit_range
    x = torch.rand(1, 3, 12, 20)
    with torch.no_grad():
        want = ref(x) * 2 - 1           # the peer works on [0, 1]; i2i hands [-1, 1] in and out
        assert torch.allclose(tr.translate_tensor(x * 2 - 1), want, atol=1e-5)


@pytest.mark.parametrize("scale", [4, 3, 2])
def test_basicsr_srresnet_and_srgan(tmp_path, scale):
    """BasicSR's MSRResNet_x4 / MSRGAN_x4 releases ({"params": ...}), and its x2 / x3 variants."""
    ref = randomised(RefMSRResNet(upscale=scale))
    tr = imported(tmp_path, [{"params": ref.state_dict()}], "srgan")
    g = tr.cfg.model.generator
    assert (tr.scale, g.name, g.ngf, g.num_blocks, g.unit_range) == (scale, "msrresnet", 8, 2, True)
    x = torch.rand(1, 3, 10, 14)
    with torch.no_grad():
        assert torch.allclose(tr.translate_tensor(x * 2 - 1), ref(x) * 2 - 1, atol=1e-5)


def test_an_srresnet_of_the_paper_is_not_taken_for_basicsr(tmp_path):
    """SRGAN's paper layout (a 9x9 head, batch norm) is not BasicSR's: one line naming what is missing."""
    torch.save({"conv_first.weight": torch.zeros(8, 3, 9, 9)}, tmp_path / "g.pth")
    with pytest.raises(UserError, match=r"g.pth: not BasicSR's SRResNet / SRGAN generator .*first key: conv_first"):
        import_run([tmp_path / "g.pth"], "srgan", tmp_path / "run", [])


def test_rrdb_growth_other_than_half_the_width_is_named(tmp_path):
    """Our RRDB grows by ngf / 2 channels: a file with another growth says which key differs."""
    ref = RefRRDBNet(nf=8, gc=3)
    with pytest.raises(UserError, match=r"body\.0\.rdb1\.conv1\.weight has shape \(3, 8, 3, 3\)"):
        imported(tmp_path, [ref.state_dict()], "esrgan")


def mutilated(kind):
    state = randomised(RefResnetGenerator(3, 3, 4, 2)).state_dict()
    if kind == "missing":
        del state["model.10.conv_block.5.weight"]
    elif kind == "extra":
        state["model.99.weight"] = torch.zeros(1)
    return state


@pytest.mark.parametrize("kind, words", [("missing", "missing key model.10.conv_block.5.weight"),
                                         ("extra", "key model.99.weight has no place")])
def test_a_wrong_file_names_the_first_key(tmp_path, capsys, kind, words):
    torch.save(mutilated(kind), tmp_path / "g.pth")
    assert i2i_main(["import", str(tmp_path / "g.pth"), "--as", "pix2pix", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "weights").exists()


def test_code_in_a_file_is_never_run(tmp_path, capsys):
    torch.save({"model.1.weight": torch.zeros(1), "hook": print}, tmp_path / "g.pth")  # a pickled function
    assert i2i_main(["import", str(tmp_path / "g.pth"), "--as", "pix2pix", "--out", str(tmp_path / "r")]) == 2
    assert "loads without running code" in capsys.readouterr().err
    with pytest.raises(UserError, match="two files"):
        import_run([tmp_path / "g.pth"], "cyclegan", tmp_path / "r", [])


# --- the official StarGAN (yunjey/stargan, model.py), re-stated ----------------------------------
class RefStarResidualBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), nn.InstanceNorm2d(dim, affine=True, track_running_stats=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), nn.InstanceNorm2d(dim, affine=True, track_running_stats=True))

    def forward(self, x):
        return x + self.main(x)


class RefStarGenerator(nn.Module):
    def __init__(self, conv_dim=8, c_dim=5, repeat_num=2):
        super().__init__()
        layers = [nn.Conv2d(3 + c_dim, conv_dim, 7, 1, 3, bias=False),
                  nn.InstanceNorm2d(conv_dim, affine=True, track_running_stats=True), nn.ReLU(inplace=True)]
        curr = conv_dim
        for _ in range(2):
            layers += [nn.Conv2d(curr, curr * 2, 4, 2, 1, bias=False),
                       nn.InstanceNorm2d(curr * 2, affine=True, track_running_stats=True), nn.ReLU(inplace=True)]
            curr *= 2
        layers += [RefStarResidualBlock(curr) for _ in range(repeat_num)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(curr, curr // 2, 4, 2, 1, bias=False),
                       nn.InstanceNorm2d(curr // 2, affine=True, track_running_stats=True), nn.ReLU(inplace=True)]
            curr //= 2
        layers += [nn.Conv2d(curr, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x, c):
        c = c.view(c.size(0), c.size(1), 1, 1).repeat(1, 1, x.size(2), x.size(3))
        return self.main(torch.cat([x, c], dim=1))


def test_official_stargan_with_celeba_attributes(tmp_path, capsys):
    """Its test script runs G in training mode (instance statistics); the file's running
    statistics are never read there, nor here."""
    ref = randomised(RefStarGenerator())
    ref.train()
    torch.save(ref.state_dict(), tmp_path / "200000-G.ckpt")
    attrs = "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"
    args = ["import", str(tmp_path / "200000-G.ckpt"), "--as", "stargan", "--out", str(tmp_path / "r")]
    assert i2i_main(args[:-1] + [str(tmp_path / "bad"), "--domains", "a,b"]) == 2
    assert "takes 5 target values" in capsys.readouterr().err
    assert i2i_main(args + ["--attrs", attrs]) == 0
    tr = Translator.from_run(tmp_path / "r", "cpu")
    x = torch.rand(2, 3, 32, 40) * 2 - 1
    want = {"Blond_Hair": 1, "Male": 1}
    c = torch.tensor([[float(want.get(a, 0)) for a in attrs.split(",")]] * 2)
    with torch.no_grad():
        got = tr.translate_tensor(x, tr.condition(Request(attrs=want), 2))
        assert torch.allclose(got, ref(x, c), atol=1e-5)


@pytest.mark.parametrize("dropout", [False, True])
def test_reference_resnet_with_batch_norm(tmp_path, dropout):
    """Without dropout, index 6 of a block is its second norm (a scale with batch norm), with
    dropout its second conv: told apart by shape."""
    ref = randomised(RefResnetGenerator(3, 3, 4, 2, "batch", use_dropout=dropout))
    tr = imported(tmp_path, [ref.state_dict()], "pix2pix")
    assert tr.cfg.model.generator.norm == "batch" and (tr.cfg.model.generator.dropout > 0) == dropout
    x = torch.rand(1, 3, 32, 48) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(tr.translate_tensor(x), ref(x), atol=1e-5)


def test_old_instance_norm_files_with_running_statistics(tmp_path):
    """Files saved by old PyTorch versions carry unused running statistics for instance norms."""
    ref = randomised(RefResnetGenerator(3, 3, 4, 2))
    state = dict(ref.state_dict())
    state["model.2.running_mean"], state["model.2.running_var"] = torch.zeros(4), torch.ones(4)
    tr = imported(tmp_path, [state], "pix2pix")
    assert tr.cfg.model.generator.norm == "instance"
    x = torch.rand(1, 3, 32, 48) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(tr.translate_tensor(x), ref(x), atol=1e-5)
