"""python -m i2i import --as munit / --as unit: the official MUNIT/UNIT generators (NVlabs/MUNIT
networks.py, re-stated below from its code with its exact module names; random values, running
statistics included) become runs whose translations equal the reference's test-time forward
pass: trainer.eval(), so its instance norms normalise with their running statistics."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from i2i.__main__ import main as i2i_main
from i2i.inference import Translator
from i2i.pipelines import Request


class LayerNorm(nn.Module):
    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.rand(n))
        self.beta = nn.Parameter(torch.zeros(n))

    def forward(self, x):
        shape = [-1] + [1] * (x.dim() - 1)
        mean = x.view(x.size(0), -1).mean(1).view(*shape)
        std = x.view(x.size(0), -1).std(1).view(*shape)
        x = (x - mean) / (std + self.eps)
        return x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)


class AdaptiveInstanceNorm2d(nn.Module):
    def __init__(self, n, eps=1e-5):
        super().__init__()
        self.num_features, self.eps = n, eps
        self.weight = self.bias = None
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("running_var", torch.ones(n))

    def forward(self, x):
        b, c = x.shape[:2]
        out = F.batch_norm(x.contiguous().view(1, b * c, *x.shape[2:]), self.running_mean.repeat(b),
                           self.running_var.repeat(b), self.weight, self.bias, True, 0.1, self.eps)
        return out.view(b, c, *x.shape[2:])


class Conv2dBlock(nn.Module):
    def __init__(self, cin, cout, k, stride, padding, norm="none", activation="relu"):
        super().__init__()
        self.pad = nn.ReflectionPad2d(padding)
        self.norm = {"in": lambda: nn.InstanceNorm2d(cout, track_running_stats=True), "ln": lambda: LayerNorm(cout),
                     "adain": lambda: AdaptiveInstanceNorm2d(cout), "none": lambda: None}[norm]()
        self.activation = {"relu": nn.ReLU(), "tanh": nn.Tanh(), "none": None}[activation]
        self.conv = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        x = self.conv(self.pad(x))
        x = self.norm(x) if self.norm else x
        return self.activation(x) if self.activation else x


class ResBlock(nn.Module):
    def __init__(self, dim, norm):
        super().__init__()
        self.model = nn.Sequential(Conv2dBlock(dim, dim, 3, 1, 1, norm), Conv2dBlock(dim, dim, 3, 1, 1, norm, "none"))

    def forward(self, x):
        return x + self.model(x)


class ResBlocks(nn.Module):
    def __init__(self, n, dim, norm):
        super().__init__()
        self.model = nn.Sequential(*(ResBlock(dim, norm) for _ in range(n)))

    def forward(self, x):
        return self.model(x)


class StyleEncoder(nn.Module):
    def __init__(self, n_down, cin, dim, style_dim):
        super().__init__()
        layers = [Conv2dBlock(cin, dim, 7, 1, 3)]
        for _ in range(2):
            layers += [Conv2dBlock(dim, 2 * dim, 4, 2, 1)]
            dim *= 2
        layers += [Conv2dBlock(dim, dim, 4, 2, 1) for _ in range(n_down - 2)]
        self.model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1, 1, 0))

    def forward(self, x):
        return self.model(x)


class ContentEncoder(nn.Module):
    def __init__(self, n_down, n_res, cin, dim):
        super().__init__()
        layers = [Conv2dBlock(cin, dim, 7, 1, 3, "in")]
        for _ in range(n_down):
            layers += [Conv2dBlock(dim, 2 * dim, 4, 2, 1, "in")]
            dim *= 2
        self.model = nn.Sequential(*layers, ResBlocks(n_res, dim, "in"))
        self.output_dim = dim

    def forward(self, x):
        return self.model(x)


class Decoder(nn.Module):
    def __init__(self, n_up, n_res, dim, cout, res_norm):
        super().__init__()
        layers = [ResBlocks(n_res, dim, res_norm)]
        for _ in range(n_up):
            layers += [nn.Upsample(scale_factor=2), Conv2dBlock(dim, dim // 2, 5, 1, 2, "ln")]
            dim //= 2
        self.model = nn.Sequential(*layers, Conv2dBlock(dim, cout, 7, 1, 3, "none", "tanh"))

    def forward(self, x):
        return self.model(x)


class LinearBlock(nn.Module):
    def __init__(self, cin, cout, activation="relu"):
        super().__init__()
        self.fc = nn.Linear(cin, cout)
        self.activation = nn.ReLU() if activation == "relu" else None

    def forward(self, x):
        x = self.fc(x)
        return self.activation(x) if self.activation else x


class MLP(nn.Module):
    def __init__(self, cin, cout, dim):
        super().__init__()
        self.model = nn.Sequential(LinearBlock(cin, dim), LinearBlock(dim, dim), LinearBlock(dim, cout, "none"))

    def forward(self, x):
        return self.model(x.view(x.size(0), -1))


class AdaINGen(nn.Module):
    def __init__(self, cin, dim, style_dim, n_down, n_res, mlp_dim):
        super().__init__()
        self.enc_style = StyleEncoder(4, cin, dim, style_dim)
        self.enc_content = ContentEncoder(n_down, n_res, cin, dim)
        self.dec = Decoder(n_down, n_res, self.enc_content.output_dim, cin, "adain")
        n = sum(2 * m.num_features for m in self.dec.modules() if isinstance(m, AdaptiveInstanceNorm2d))
        self.mlp = MLP(style_dim, n, mlp_dim)

    def encode(self, x):
        return self.enc_content(x), self.enc_style(x)

    def decode(self, content, style):
        params = self.mlp(style)
        for m in self.dec.modules():
            if isinstance(m, AdaptiveInstanceNorm2d):
                m.bias = params[:, :m.num_features].contiguous().view(-1)
                m.weight = params[:, m.num_features:2 * m.num_features].contiguous().view(-1)
                params = params[:, 2 * m.num_features:]
        return self.dec(content)


class VAEGen(nn.Module):
    def __init__(self, cin, dim, n_down, n_res):
        super().__init__()
        self.enc = ContentEncoder(n_down, n_res, cin, dim)
        self.dec = Decoder(n_down, n_res, self.enc.output_dim, cin, "in")

    def encode(self, x):
        return self.enc(x)

    def decode(self, h):
        return self.dec(h)


def randomised(net: nn.Module) -> nn.Module:
    """Random weights and running statistics (a trained file has both), in eval mode as test.py."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                t.normal_(0, 0.3)
            elif t.is_floating_point():
                t.normal_(0, 0.15 if t.dim() > 1 else 0.3)
    return net.eval()


@pytest.fixture
def munit_file(tmp_path):
    gens = {d: randomised(AdaINGen(3, 8, 4, 2, 2, 16)) for d in "ab"}
    torch.save({d: g.state_dict() for d, g in gens.items()}, tmp_path / "gen_01000000.pt")
    return tmp_path / "gen_01000000.pt", gens


def test_official_munit_translates_as_its_test_script(munit_file, tmp_path, capsys):
    path, gens = munit_file
    assert i2i_main(["import", str(path), "--as", "munit", "--out", str(tmp_path / "run")]) == 0
    assert "imported" in capsys.readouterr().out
    tr = Translator.from_run(tmp_path / "run", "cpu")
    g = tr.cfg.model.generator
    assert (g.ngf, g.num_downs, g.num_blocks, g.style_dim, g.mlp_dim) == (8, 2, 2, 4, 16)
    x, ref_img = torch.rand(1, 3, 32, 44) * 2 - 1, torch.rand(1, 3, 40, 40) * 2 - 1
    with torch.no_grad():
        content, _ = gens["a"].encode(x)
        # the style i2i draws for --seed 5 (a2b), decoded by the reference
        want_random = gens["b"].decode(content, tr.condition(Request(seed=5), 1)["style"].view(1, -1, 1, 1))
        got_random = tr.translate_tensor(x, tr.condition(Request(seed=5), 1))
        _, style = gens["b"].encode(ref_img)  # --style-from: B's style encoder on the reference
        want_ref = gens["b"].decode(content, style)
        got_ref = tr.translate_tensor(x, tr.condition(Request(style="reference", reference=ref_img[0]), 1))
        content_b, _ = gens["b"].encode(x)
        _, style_a = gens["a"].encode(ref_img)
        want_ba = gens["a"].decode(content_b, style_a)
        got_ba = tr.translate_tensor(x, tr.condition(Request(direction="BtoA", style="reference",
                                                             reference=ref_img[0]), 1))
    for got, want in ((got_random, want_random), (got_ref, want_ref), (got_ba, want_ba)):
        assert want.std() > 0.05, "outputs must vary, or any network would match"
        assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_official_unit_translates_as_its_test_script(tmp_path):
    gens = {d: randomised(VAEGen(3, 8, 2, 2)) for d in "ab"}
    torch.save({d: g.state_dict() for d, g in gens.items()}, tmp_path / "gen_00500000.pt")
    assert i2i_main(["import", str(tmp_path / "gen_00500000.pt"), "--as", "unit", "--out", str(tmp_path / "run")]) == 0
    tr = Translator.from_run(tmp_path / "run", "cpu")
    x = torch.rand(2, 3, 36, 28) * 2 - 1
    with torch.no_grad():
        for direction, (enc, dec) in (("AtoB", "ab"), ("BtoA", "ba")):
            want = gens[dec].decode(gens[enc].encode(x))
            got = tr.translate_tensor(x, tr.condition(Request(direction=direction), 2))
            assert want.std() > 0.05 and torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_munit_file_mistakes_are_one_line(munit_file, tmp_path, capsys):
    path, gens = munit_file
    state = {d: g.state_dict() for d, g in gens.items()}
    del state["b"]["mlp.model.2.fc.bias"]
    torch.save(state, tmp_path / "cut.pt")
    assert i2i_main(["import", str(tmp_path / "cut.pt"), "--as", "munit", "--out", str(tmp_path / "r1")]) == 2
    assert "missing key mlp.model.2.fc.bias" in capsys.readouterr().err
    assert i2i_main(["import", str(path), "--as", "unit", "--out", str(tmp_path / "r2")]) == 2
    assert "not the official UNIT generators" in capsys.readouterr().err
