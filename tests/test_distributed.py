"""Training with torchrun (DDP, gloo on CPU): 2 processes x batch b give the weights 1 process x
batch 2b gives, and a distributed run stopped and resumed matches one that ran straight through."""
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, subprocess_env
from helpers import TINY
from i2i import config
from i2i.data import DataMeta
from i2i.data.folders import ResumableSampler
from i2i.data.io import read_image
from i2i.inference import Translator
from i2i.pipelines import build_pipeline

# instance norm only (batch norm would see b images instead of 2b), no dropout, no EMA
SETTINGS = TINY + ["model.generator.norm=instance", "model.discriminator.norm=instance", "train.lr_policy=constant",
                   "train.threads=1", "train.save_every=1000", "train.sample_every=1000"]
# Float sums in another order (per-process means averaged vs one mean) differ by ~1e-9; where a
# gradient is itself near Adam's eps (1e-8) that is a visible change of its step, and GAN training
# spreads it: after 4 steps the weights differ by ~2e-4 of their norm (measured, the tiny U-Net's
# small-map convs included). A missing gradient sync (each process its own step) would move most
# weights by ~lr a step, ~4e-2 of their norm (estimated; the resume test below checks that an
# under-trained run fails this).
RELATIVE = 1e-3
LR, STEPS = 2e-4, 4


def train(out, nproc: int, batch: int, iters: int, resume: bool = False, data=None):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"] if nproc > 1 \
        else [sys.executable]
    cmd += ["train.py", "pix2pix", "--out", str(out), "--iters", str(iters)]
    cmd += ["--resume"] if resume else ["--data", str(data), *SETTINGS, f"train.batch_size={batch}"]
    env = subprocess_env(OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def weights(run) -> dict:
    return load_file(str(run / "weights" / "latest.safetensors"))


def biases_before_instance_norm() -> set[str]:
    """A conv bias an instance norm follows has no effect (the norm subtracts it) and a true
    gradient of 0: Adam turns the float noise around that 0 into steps of up to lr either way."""
    cfg = config.load("pix2pix", SETTINGS)
    p = build_pipeline(cfg, DataMeta())
    names = set()
    for prefix, m in p.named_modules():
        if isinstance(m, torch.nn.Sequential):
            for i, (a, b) in enumerate(zip(m, list(m)[1:])):
                if isinstance(b, torch.nn.InstanceNorm2d) and getattr(a, "bias", None) is not None:
                    names.add(f"{prefix}.{i}.bias")
    return names


def assert_same_training(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    free = biases_before_instance_norm()
    assert free and free < set(a)
    for k in a:
        diff = a[k].float() - b[k].float()
        if k in free:  # each run may step up to lr either way per step
            assert float(diff.abs().max()) <= 2 * LR * STEPS, k
        elif a[k].is_floating_point() and a[k].numel() > 1:
            # (+ 1e-5 per element: tensors still near their zero start, such as young biases)
            assert float(diff.norm()) <= RELATIVE * float(b[k].float().norm()) + 1e-5 * diff.numel() ** 0.5, k
        else:
            assert float(diff.abs().max()) <= 1e-6, k


def outputs(run, photo) -> torch.Tensor:
    tr = Translator.from_run(run, "cpu")
    return tr.translate_tensor(tr.prepare(read_image(photo))[None])


def test_sampler_slices_add_up_to_the_one_process_stream():
    one = ResumableSampler(10, seed=3, start=8)
    parts = [ResumableSampler(10, seed=3, start=8, rank=r, world=2, batch=2) for r in range(2)]
    streams = [iter(p) for p in parts]
    ref = iter(one)
    for _ in range(6):  # global batch of 4: rank 0 takes the first 2, rank 1 the next 2
        want = [next(ref) for _ in range(4)]
        assert [next(streams[0]) for _ in range(2)] + [next(streams[1]) for _ in range(2)] == want


@pytest.fixture(scope="module")
def one_run(demo_data, tmp_path_factory):
    """One process, batch 4: what two processes with batch 2 must reproduce."""
    out = tmp_path_factory.mktemp("ddp") / "one"
    train(out, 1, 4, STEPS, data=demo_data / "paired")
    return out


def test_two_processes_train_like_one_with_the_whole_batch(demo_data, tmp_path, one_run):
    r = train(tmp_path / "two", 2, 2, STEPS, data=demo_data / "paired")
    assert r.stdout.count(f"done: step {STEPS}") == 2  # both processes finished; only rank 0 wrote files
    assert_same_training(weights(tmp_path / "two"), weights(one_run))
    photo = next((demo_data / "paired" / "test" / "A").iterdir())
    # the same picture: within 1e-3 of [-1, 1] (an eighth of one 8-bit level)
    assert torch.allclose(outputs(tmp_path / "two", photo), outputs(one_run, photo), atol=1e-3)
    assert len(list((tmp_path / "two" / "samples").glob("*.png"))) == 1  # the last step's grid, once


def test_a_distributed_run_resumes_exactly(demo_data, tmp_path, one_run):
    train(tmp_path / "r", 2, 2, STEPS // 2, data=demo_data / "paired")
    half = weights(tmp_path / "r")
    train(tmp_path / "r", 2, 2, STEPS, resume=True)
    assert_same_training(weights(tmp_path / "r"), weights(one_run))
    with pytest.raises(AssertionError):  # the second half did train: the check can tell
        assert_same_training(half, weights(one_run))
