"""FID / KID / IS without downloads: features of a small CNN classifier trained on the user's own
real images, arranged in class folders (REALS/<class>/*; class names = sorted folder names).

Its FID scale is NOT comparable with Inception FID (nor between two classifiers): compare only
numbers computed with the same classifier file. The classifier is saved beside the data
(REALS/.i2i-classifier.safetensors, or the path given) with the class names, a fingerprint of
the real files and its held-out accuracy, and reused while the real files are unchanged, so
scores from different runs or days use the same features. Training is seeded: a rerun on the
same files and machine gives the same classifier.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..data.io import is_run_folder, list_images, read_image, to_tensor
from ..errors import UserError
from ..files import atomic_write
from .inception import resize_batch

CLASSIFIER_NAME = ".i2i-classifier.safetensors"
FORMAT = "i2i-own-features-classifier"
VERSION = "1"  # bump when the architecture, input size or training recipe changes (forces a retrain)
IMAGE_SIZE = 32


def class_folders(reals: Path) -> list[Path]:
    """The subfolders of `reals` that hold images, sorted by name (hidden and run folders left out)."""
    return sorted(d for d in reals.iterdir() if d.is_dir() and not d.name.startswith(".")
                  and not is_run_folder(d) and list_images(d))


def fingerprint(reals: Path, paths) -> str:
    """sha256 of the sorted relative paths, sizes and mtimes: an added, removed, renamed or
    rewritten real image changes it."""
    h = hashlib.sha256(VERSION.encode())
    for p in sorted(paths):
        st = p.stat()
        h.update(f"{p.relative_to(reals).as_posix()}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def load_images(paths, size: int) -> torch.Tensor:
    """N x 3 x size x size in [-1, 1]; each image resized on its own (sizes may differ)."""
    if not paths:
        return torch.empty(0, 3, size, size)
    return torch.cat([resize_batch(to_tensor(read_image(p).rgb)[None], size) for p in paths])


class SmallCNN(nn.Module):
    """conv 32 -> pool -> conv 64 -> pool -> conv 128 -> global average (128-d features) -> linear.
    Pooling after the first conv, not the second: 3.5x less compute, so 4 epochs on 4000 images train
    in about 20 s on 2 CPU cores (pooling after the second: about 14 s per epoch)."""

    def __init__(self, num_classes: int):
        super().__init__()
        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*block(3, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2), *block(64, 128),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(128, num_classes)

    def forward(self, x):
        f = self.body(x)
        return f, self.head(f)


def _shift(x: torch.Tensor, g: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random translation by up to `pad` pixels (edge-padded, then cropped back)."""
    n, _, h, w = x.shape
    xp = F.pad(x, (pad,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * pad + 1, (2, n), generator=g).tolist()
    return torch.stack([xp[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def train_classifier(x: torch.Tensor, y: torch.Tensor, num_classes: int, seed: int = 0, epochs: int = 4,
                     min_steps: int = 200, batch_size: int = 32):
    """Adam + cosine decay, random shifts; 10% held out. -> (net in eval mode, held-out accuracy,
    held-out count). At least `min_steps` steps so that a few hundred images still train."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    n_val = max(1, len(x) // 10)
    val, tr = order[:n_val], order[n_val:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = SmallCNN(num_classes)
    per_epoch = max(1, -(-len(tr) // batch_size))
    steps = max(epochs * per_epoch, min_steps)
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    net.train()
    step = 0
    while step < steps:
        perm = tr[torch.randperm(len(tr), generator=g)]
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            if len(idx) < 2 or step >= steps:  # BN needs two samples
                continue
            loss = F.cross_entropy(net(_shift(x[idx], g))[1], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
    net.eval()
    with torch.no_grad():
        acc = (net(x[val])[1].argmax(1) == y[val]).float().mean().item()
    return net, acc, n_val


class OwnFeatures(nn.Module):
    """forward(images in [-1, 1], N x C x H x W, C = 1 or 3) -> (features N x 128, logits N x classes);
    images are resized to 32 x 32, grayscale repeated to RGB. Build with `for_reals`."""

    input_size = IMAGE_SIZE

    def __init__(self, net: SmallCNN, classes: list[str], accuracy: float, path: Path):
        super().__init__()
        self.net, self.classes, self.accuracy, self.path = net, list(classes), accuracy, Path(path)
        self.net.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)  # features must not move with BN batch statistics

    @torch.no_grad()
    def forward(self, images: torch.Tensor):
        return self.net(resize_batch(images.float(), self.input_size))

    @classmethod
    def for_reals(cls, reals_dir, classifier_path=None, seed: int = 0) -> "OwnFeatures":
        """The classifier for REALS: loaded from `classifier_path` (default REALS/.i2i-classifier.safetensors)
        when its fingerprint matches the real files, else trained on them (printed note) and saved there."""
        reals = Path(reals_dir)
        if not reals.is_dir():
            raise UserError(f"real images folder not found: {reals}")
        dirs = class_folders(reals)
        if len(dirs) < 2:
            raise UserError(f"{reals}: --features own needs class folders to train its classifier on "
                            f"({reals}/<class>/*, at least two with images; found {len(dirs)}); arrange the real "
                            f"images so, or use --features inception")
        classes = [d.name for d in dirs]
        items = [(p, k) for k, d in enumerate(dirs) for p in list_images(d)]
        fp = fingerprint(reals, [p for p, _ in items])
        path = Path(classifier_path).expanduser() if classifier_path else reals / CLASSIFIER_NAME
        if path.is_file():
            meta, state = _read(path)
            if meta.get("fingerprint") == fp and json.loads(meta.get("classes", "[]")) == classes:
                net = SmallCNN(len(classes))
                net.load_state_dict(state)
                return cls(net, classes, float(meta["accuracy"]), path)
            print(f"note: {path} was trained on other real images than those now in {reals} (or by an older "
                  f"i2i); retraining it: scores from the old classifier are not comparable with new ones",
                  file=sys.stderr)
        start = time.perf_counter()
        print(f"training the own-features classifier on {len(items)} real images in {len(classes)} classes "
              f"-> {path}", file=sys.stderr)
        x = load_images([p for p, _ in items], IMAGE_SIZE)
        y = torch.tensor([k for _, k in items])
        net, acc, n_val = train_classifier(x, y, len(classes), seed)
        meta = {"format": FORMAT, "version": VERSION, "classes": json.dumps(classes), "fingerprint": fp,
                "accuracy": repr(acc), "held_out": str(n_val), "images": str(len(items)), "seed": str(seed)}
        _write(path, net, meta)
        print(f"classifier held-out accuracy {acc:.3f} on {n_val} images ({time.perf_counter() - start:.1f} s)",
              file=sys.stderr)
        return cls(net, classes, acc, path)


def _read(path: Path):
    from safetensors import safe_open
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for bad headers
        raise UserError(f"{path} is not a readable classifier file (.safetensors): {e}; delete it to retrain") from None
    if meta.get("format") != FORMAT:
        raise UserError(f"{path} is not an i2i own-features classifier; pass another --classifier PATH "
                        f"(it would be overwritten)")
    return meta, state


def _write(path: Path, net: nn.Module, meta: dict) -> None:
    from safetensors.torch import save_file
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    try:
        atomic_write(path, lambda tmp: save_file(state, tmp, metadata=meta))
    except UserError as e:
        raise UserError(f"{e}; pass --classifier PATH somewhere writable") from None
