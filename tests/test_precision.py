"""Mixed precision, memory layout and compilation (train.amp, train.channels_last, train.compile,
translate.py --half): correctness on CPU. Their speed needs a GPU and is not measured here."""
import math

import pytest
import torch

from helpers import make_trainer, tiny_config
from i2i.cli import run_cli, translate_main
from i2i.errors import UserError


def trained(demo_data, out, iters, *extra, until=None):
    t = make_trainer(tiny_config("pix2pix", demo_data / "paired", iters, "model.generator.dropout=0", *extra), out)
    last = t.fit(until=until)
    return t, last


def generator_distance(a: dict, b: dict) -> float:
    keys = [k for k in a if k.startswith("generators.") and a[k].is_floating_point()]
    return math.sqrt(sum(float((a[k].float() - b[k].float()).pow(2).sum()) for k in keys))


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_trains_with_finite_losses_and_fp32_weights(demo_data, tmp_path, amp):
    """G moves from its start as far as under fp32 (fp16: once the loss scale has come down from
    2^16 to what the L1 weight of 100 leaves room for, a few skipped steps), and bf16 lands
    nearer fp32's weights than fp32 moved."""
    runs = {}
    for name in ("fp32", amp):
        t = make_trainer(tiny_config("pix2pix", demo_data / "paired", 16, "model.generator.dropout=0",
                                     *([f"train.amp={amp}"] if name == amp else [])), tmp_path / name)
        start = {k: v.clone() for k, v in t.pipeline.state_dict().items()}
        last = t.fit()
        assert last and all(math.isfinite(v) for v in last.values())
        assert all(p.dtype == torch.float32 for p in t.pipeline.parameters())
        runs[name] = (start, t.pipeline.state_dict(), t)
    (w0, w32, _), (_, w_amp, t_amp) = runs["fp32"], runs[amp]
    moved, ref = generator_distance(w_amp, w0), generator_distance(w32, w0)
    assert moved > 0.3 * ref, (moved, ref)
    assert generator_distance(w_amp, w32) > 0  # the low precision was in force
    if amp == "bf16":
        assert generator_distance(w_amp, w32) < 0.5 * ref
    else:
        assert t_amp.scalers["G"].get_scale() < 2 ** 16  # it adapted


def test_fp16_resume_keeps_the_loss_scale(demo_data, tmp_path):
    straight, _ = trained(demo_data, tmp_path / "a", 4, "train.amp=fp16", "train.lr_policy=constant")
    trained(demo_data, tmp_path / "b", 4, "train.amp=fp16", "train.lr_policy=constant", until=2)
    resumed = make_trainer(tiny_config("pix2pix", demo_data / "paired", 4, "model.generator.dropout=0",
                                       "train.amp=fp16", "train.lr_policy=constant"), tmp_path / "b", resume=True)
    resumed.fit()
    a, b = straight.pipeline.state_dict(), resumed.pipeline.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.scalers["G"].get_scale() == straight.scalers["G"].get_scale()


def test_channels_last_trains_like_the_default_layout(demo_data, tmp_path):
    a, _ = trained(demo_data, tmp_path / "a", 3)
    b, _ = trained(demo_data, tmp_path / "b", 3, "train.channels_last=true")
    sa, sb = a.pipeline.state_dict(), b.pipeline.state_dict()
    assert max(float((sa[k].float() - sb[k].float()).abs().max()) for k in sa) < 1e-4


def test_precision_mistakes_are_one_line(demo_data, tmp_path, capsys):
    with pytest.raises(UserError, match="use train.amp=bf16"):
        tiny_config("pix2pix", demo_data / "paired", 1, "train.amp=fp16", "loss.r1=1")
    with pytest.raises(UserError, match="train.amp"):
        tiny_config("pix2pix", demo_data / "paired", 1, "train.amp=fp8")
    run = tmp_path / "run"
    trained(demo_data, run, 1)
    photo = next((demo_data / "paired" / "test" / "A").iterdir())
    assert run_cli(translate_main, [str(run), str(photo), "--out", str(tmp_path / "o"), "--half",
                                    "--device", "cpu"]) == 2
    assert "CUDA" in capsys.readouterr().err


@pytest.mark.slow
def test_compiled_networks_train_and_save_the_same_names(demo_data, tmp_path):
    t, last = trained(demo_data, tmp_path / "c", 2, "train.compile=true")
    assert all(math.isfinite(v) for v in last.values())
    ref, _ = trained(demo_data, tmp_path / "r", 2)
    assert t.pipeline.state_dict().keys() == ref.pipeline.state_dict().keys()
