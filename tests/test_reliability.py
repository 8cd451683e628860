"""Nothing lost, nothing silent: kills at any instant, interrupts, bad values, bad files,
full disks, file permissions, threads. Each test reproduces what a user hit."""
import errno
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT
from helpers import TINY, make_trainer, tiny_config
from i2i import config
from i2i.cli import run_cli, train_main, translate_main
from i2i.engine import checkpoint as ckpt
from i2i.errors import UserError
from i2i.files import atomic_write, remove_stale_temps

FAST = [o for o in TINY if not o.startswith("train.log_every")] + [
    "train.log_every=1000", "train.sample_every=1000", "train.threads=1", "data.num_workers=0"]


def train_cmd(data: Path, out: Path, iters: int, *extra: str, resume: bool = False) -> list[str]:
    return [sys.executable, str(ROOT / "train.py"), "pix2pix", "--data", str(data), "--out", str(out),
            "--iters", str(iters), "--device", "cpu", *FAST, *extra] + (["--resume"] if resume else [])


def weights(run: Path) -> dict:
    return load_file(str(run / ckpt.WEIGHTS))


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def reference_run(demo_data, out: Path, iters: int) -> Path:
    """The uninterrupted run, in this process, on the same single thread as the subprocesses."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = config.load("pix2pix", FAST + [f"data.root={demo_data / 'paired'}", f"train.iters={iters}",
                                             "train.save_every=1"])
        make_trainer(cfg, out).fit()
    finally:
        torch.set_num_threads(before)
    return out


def kill_loop(demo_data, tmp_path, kills: int, iters: int, at_least: int) -> None:
    """SIGKILL a training process with save_every=1 at random instants, resume each time, and
    finish with the weights of an uninterrupted run."""
    run, rng = tmp_path / "killed", random.Random(0)
    cmd = train_cmd(demo_data / "paired", run, iters, "train.save_every=1")
    done = killed = 0
    while killed < kills:
        proc = subprocess.Popen(cmd + (["--resume"] if (run / "config.yaml").exists() else []),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while not (run / ckpt.WEIGHTS).exists() and proc.poll() is None:  # past start-up
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read()
            done += 1
            break
        proc.kill()
        proc.wait()
        killed += 1
    final = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert not [p for p in run.rglob(".*") if p.is_file()], "temp files left behind"
    assert ckpt.read_metadata(run / ckpt.WEIGHTS)["step"] == str(iters)
    assert killed >= at_least, f"only {killed} kills landed: the run was too short"
    assert same_weights(run, reference_run(demo_data, tmp_path / "reference", iters))


def test_resumes_after_sigkill_at_random_instants(demo_data, tmp_path):
    kill_loop(demo_data, tmp_path, kills=3, iters=60, at_least=2)


@pytest.mark.slow
def test_resumes_after_many_sigkills(demo_data, tmp_path):
    kill_loop(demo_data, tmp_path, kills=24, iters=400, at_least=20)


def test_kill_between_state_and_weights_writes(demo_data, tmp_path, monkeypatch):
    """The instant that broke 6 of 12 runs: new resume file written, weights not yet replaced."""
    cfg = tiny_config("pix2pix", demo_data / "paired", 6, "train.save_every=2")
    first = make_trainer(cfg, tmp_path / "run")
    first.fit(until=4)  # saved at 2 and 4

    def killed(*args, **kwargs):
        raise SystemExit("killed")
    monkeypatch.setattr(ckpt, "save_weights", killed)
    with pytest.raises(SystemExit):
        first.fit()  # step 6: state-00000006.pt written, then "killed"
    monkeypatch.undo()
    names = sorted(p.name for p in (tmp_path / "run" / "weights").iterdir())
    assert names == ["latest.safetensors", "state-00000004.pt", "state-00000006.pt"]
    resumed = make_trainer(cfg, tmp_path / "run", resume=True)
    assert resumed.step == 4
    resumed.fit()
    assert sorted(p.name for p in (tmp_path / "run" / "weights").iterdir()) == ["latest.safetensors",
                                                                                 "state-00000006.pt"]
    reference = make_trainer(cfg, tmp_path / "ref")
    reference.fit()
    assert same_weights(tmp_path / "run", tmp_path / "ref")


def test_stale_temp_files_are_removed_at_start(demo_data, tmp_path):
    cfg = tiny_config("pix2pix", demo_data / "paired", 2)
    make_trainer(cfg, tmp_path / "run").fit()
    w = tmp_path / "run" / "weights"
    stale = [w / ".latest.state.pt.k3j2h1", w / ".latest.safetensors.i2i-tmp-abcd.safetensors",
             w / ".tmprwsvzZ"]  # the last: safetensors >= 0.8's own temp file, left by a kill mid-save
    keep = w / ".tmp-notes.txt"  # a user's file that only looks alike
    for p in stale + [keep]:
        p.write_bytes(b"\0" * 1000)
    make_trainer(cfg, tmp_path / "run", resume=True)
    assert not any(p.exists() for p in stale) and keep.exists()
    assert remove_stale_temps(tmp_path / "nowhere") == []


def test_legacy_resume_file_still_resumes(demo_data, tmp_path):
    """Runs saved before step-numbered resume files kept weights/latest.state.pt."""
    cfg = tiny_config("pix2pix", demo_data / "paired", 4, "train.save_every=2")
    make_trainer(cfg, tmp_path / "run").fit(until=2)
    w = tmp_path / "run" / "weights"
    (w / "state-00000002.pt").rename(w / "latest.state.pt")
    resumed = make_trainer(cfg, tmp_path / "run", resume=True)
    assert resumed.step == 2
    resumed.fit()
    assert sorted(p.name for p in w.iterdir()) == ["latest.safetensors", "state-00000004.pt"]


def test_corrupt_resume_file_is_one_line(demo_data, tmp_path):
    cfg = tiny_config("pix2pix", demo_data / "paired", 2)
    make_trainer(cfg, tmp_path / "run").fit()
    (tmp_path / "run" / "weights" / "state-00000002.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UserError, match="state-00000002.pt is corrupt"):
        make_trainer(cfg, tmp_path / "run", resume=True)


def test_bit_flipped_weights_are_refused(demo_data, tmp_path):
    from i2i.inference import Translator
    cfg = tiny_config("pix2pix", demo_data / "paired", 1)
    make_trainer(cfg, tmp_path / "run").fit()
    path = tmp_path / "run" / ckpt.WEIGHTS
    Translator.from_run(tmp_path / "run")  # loads while intact
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x40  # inside the last tensor's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="corrupt"):
        Translator.from_run(tmp_path / "run")


def test_a_data_error_saves_finished_steps_first(demo_data, tmp_path):
    """Steps since the last save are kept when the data stops the run."""
    cfg = tiny_config("pix2pix", demo_data / "paired", 20, "train.save_every=100")
    trainer = make_trainer(cfg, tmp_path / "run")
    real_getitem = type(trainer.dataset).__getitem__
    calls = {"n": 0}

    def failing(self, key):
        calls["n"] += 1
        if calls["n"] > 4 * cfg.train.batch_size:  # the 5th batch
            raise UserError("cannot read image broken.png: truncated")
        return real_getitem(self, key)
    type(trainer.dataset).__getitem__ = failing
    try:
        with pytest.raises(UserError, match="broken.png"):
            trainer.fit()
    finally:
        type(trainer.dataset).__getitem__ = real_getitem
    assert ckpt.read_metadata(tmp_path / "run" / ckpt.WEIGHTS)["step"] == "4"


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_saves_says_so_and_exits_nonzero(demo_data, tmp_path, sig, code):
    run = tmp_path / "run"
    proc = subprocess.Popen(train_cmd(demo_data / "paired", run, 100000, "train.save_every=5"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (run / ckpt.WEIGHTS).exists() and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "saving at the end of this step" in err
    assert "interrupted at step" in err and "--resume" in err and "done" not in out
    step = int(ckpt.read_metadata(run / ckpt.WEIGHTS)["step"])
    assert step > 0 and f"interrupted at step {step} " in err


def test_numbers_out_of_range_are_one_line_errors():
    bad = {"loss.l1=nan": "loss.l1", "loss.l1=-100": "loss.l1", "loss.gan=.inf": "loss.gan",
           "train.lr=nan": "train.lr", "train.lr=0": "train.lr", "model.generator.ngf=0": "model.generator.ngf",
           "model.discriminator.ndf=-1": "model.discriminator.ndf", "data.crop_size=0": "data.crop_size",
           "data.load_size=-5": "data.load_size", "data.num_workers=-1": "data.num_workers",
           "data.max_images=-1": "data.max_images", "train.beta1=1.5": "train.beta1",
           "loss.vgg_layers={relu1_1: .nan}": "loss.vgg_layers.relu1_1", "train.threads=-2": "train.threads",
           "data.in_channels=2": "data.in_channels", "model.discriminator.n_layers=0": "model.discriminator.n_layers"}
    for override, key in bad.items():
        with pytest.raises(UserError, match=f"'{key}'"):
            config.load("pix2pix", [override])
    config.load("pix2pix", ["loss.l1=0", "data.max_images=0", "data.load_size=0", "data.crop_size=16"])


def test_network_too_deep_for_the_crop_is_one_line(demo_data):
    cfg = tiny_config("pix2pix", demo_data / "paired", 1, "model.discriminator.n_layers=10")
    with pytest.raises(UserError, match="model.discriminator.*n_layers.*--crop-size"):
        make_trainer(cfg, Path("/tmp/never-written"))


def test_out_that_is_a_file_or_unwritable(demo_data, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out, why in ((tmp_path / "file", "is a file"), (Path("/proc/i2i-cannot-write"), "not writable")):
        assert run_cli(train_main, ["pix2pix", "--data", str(demo_data / "paired"), "--out", str(out), *FAST]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and why in err and str(out) in err


def test_disk_full_is_one_line_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "w.bin"
    target.write_bytes(b"old")

    def full(tmp):
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(UserError, match=r"cannot write .*w.bin: No space left on device"):
        atomic_write(target, full)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["w.bin"]


def test_disk_full_while_translating(demo_data, tmp_path, monkeypatch, capsys):
    from PIL import Image
    cfg = tiny_config("pix2pix", demo_data / "paired", 1)
    make_trainer(cfg, tmp_path / "run").fit()

    def full(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Image.Image, "save", full)
    src = demo_data / "paired" / "test" / "A"
    assert run_cli(translate_main, [str(tmp_path / "run"), str(src), "--out", str(tmp_path / "o")]) == 2
    assert "No space left on device" in capsys.readouterr().err


def test_written_files_respect_the_umask(demo_data, tmp_path):
    from i2i.files import UMASK
    want = 0o666 & ~UMASK
    cfg = tiny_config("pix2pix", demo_data / "paired", 2, "train.sample_every=1")
    make_trainer(cfg, tmp_path / "run").fit()
    assert translate_main([str(tmp_path / "run"), str(demo_data / "paired" / "test" / "A"),
                           "--out", str(tmp_path / "out")]) == 0
    files = [p for p in [*(tmp_path / "run").rglob("*"), *(tmp_path / "out").rglob("*")]
             if p.is_file() and "logs" not in p.parts]
    assert len(files) >= 6
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(want)}


def test_translate_out_of_memory_says_use_tile(demo_data, tmp_path, monkeypatch, capsys):
    from i2i.inference import Translator
    cfg = tiny_config("pix2pix", demo_data / "paired", 1)
    make_trainer(cfg, tmp_path / "run").fit()

    def oom(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")
    monkeypatch.setattr(Translator, "translate_images", oom)
    args = [str(tmp_path / "run"), str(demo_data / "paired" / "test" / "A"), "--out", str(tmp_path / "o"),
            "--tile", "0"]
    assert run_cli(translate_main, args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "out of memory" in errors[0] and "--tile 256" in errors[0]


def test_ctrl_c_in_translate(demo_data, tmp_path, monkeypatch, capsys):
    import i2i.data.io as io
    cfg = tiny_config("pix2pix", demo_data / "paired", 1)
    make_trainer(cfg, tmp_path / "run").fit()
    real, calls = io.read_image, {"n": 0}

    def interrupted(path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(path)
    monkeypatch.setattr(io, "read_image", interrupted)
    src = demo_data / "paired" / "test" / "A"
    assert run_cli(translate_main, [str(tmp_path / "run"), str(src), "--out", str(tmp_path / "o")]) == 130
    err = capsys.readouterr().err
    assert "interrupted: wrote" in err and "Traceback" not in err


def test_wrong_vgg_weights_file(tmp_path):
    from i2i.losses import VGGPerceptualLoss
    junk = tmp_path / "vgg19.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(UserError, match="cannot be read"):
        VGGPerceptualLoss({"relu1_1": 1.0}, str(junk))
    torch.save({"conv.weight": torch.zeros(3)}, junk)
    with pytest.raises(UserError, match="do not fit"):
        VGGPerceptualLoss({"relu1_1": 1.0}, str(junk))


def test_evaluate_crop_border_checked(tmp_path, capsys):
    from conftest import save_png
    from i2i.__main__ import evaluate_main
    for d in ("a", "b"):
        save_png(tmp_path / d / "x.png", np.zeros((16, 16, 3), np.uint8))
    for border in ("-1", "8"):
        assert run_cli(evaluate_main, [str(tmp_path / "a"), str(tmp_path / "b"), "--crop-border", border]) == 2
        assert "--crop-border" in capsys.readouterr().err


def test_thread_default_shares_the_cores(tmp_path):
    from i2i import runtime
    assert runtime.choose_threads(0, cores=2, others=1, env=None) == 1
    assert runtime.choose_threads(0, cores=16, others=3, env=None) == 4
    assert runtime.choose_threads(0, cores=2, others=5, env=None) == 1
    assert runtime.choose_threads(0, cores=8, others=0, env="3") == 3  # the user's OMP_NUM_THREADS wins
    assert runtime.choose_threads(6, cores=2, others=4, env="3") == 6  # train.threads wins over all
    assert runtime.is_i2i_command(["python", "/x/train.py", "pix2pix"])
    assert runtime.is_i2i_command(["/venv/bin/python", "-m", "i2i", "evaluate"])
    assert not runtime.is_i2i_command(["python", "-m", "pytest"])
    fake = tmp_path / "train.py"
    fake.write_text("import time\ntime.sleep(30)\n")
    before = runtime.other_i2i_processes()
    proc = subprocess.Popen([sys.executable, str(fake)])
    try:
        deadline = time.time() + 10
        while runtime.other_i2i_processes() == before and time.time() < deadline:
            time.sleep(0.05)
        assert runtime.other_i2i_processes() == before + 1
    finally:
        proc.kill()
        proc.wait()


def test_downscale_scale_checked(tmp_path, capsys):
    from conftest import save_png
    from i2i.__main__ import downscale_main
    save_png(tmp_path / "hr.png", np.zeros((16, 16, 3), np.uint8))
    for scale in ("0", "1", "-4"):
        assert run_cli(downscale_main, [str(tmp_path / "hr.png"), "--scale", scale, "--out", str(tmp_path / "o")]) == 2
        assert "--scale must be" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
