"""Distribution metrics for GANs, on features / logits as numpy arrays (computed in float64).

FID (Heusel et al. 2017), KID (Binkowski et al. 2018) and IS (Salimans et al. 2016) compare
sets of images, not pairs: what they measure depends entirely on the feature network, so
numbers are comparable only when computed with the same one (see `inception.py`,
`own_features.py`). `distribution_metrics` scores two folders from the command line.
"""
from __future__ import annotations

import numpy as np


def _f64(x, name: str) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"{name}: need an N x D array with N >= 2, got shape {x.shape}")
    return x


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(f1, f2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2) of Gaussians fitted to two feature sets
    (sample covariances, ddof=1). Tr (S1 S2)^1/2 is taken as the sum of square roots of the
    eigenvalues of the symmetric PSD matrix S1^1/2 S2 S1^1/2 (same spectrum as S1 S2), clipped at
    0: no complex parts or failed sqrtm on the rank-deficient covariances of small sets."""
    f1, f2 = _f64(f1, "f1"), _f64(f2, "f2")
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"feature sizes differ: {f1.shape[1]} vs {f2.shape[1]}")
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.atleast_2d(np.cov(f1, rowvar=False)), np.atleast_2d(np.cov(f2, rowvar=False))
    r = _sqrt_psd(s1)
    m = r @ s2 @ r
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(max(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt, 0.0))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d, m = x.shape[1], x.shape[0]
    kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
    off = lambda k: (k.sum() - np.trace(k)) / (m * (m - 1))  # noqa: E731  (drop k(x_i, x_i))
    return float(off(kxx) + off(kyy) - 2 * kxy.mean())


def kernel_inception_distance(f1, f2, subset_size: int = 1000, subsets: int = 100, seed: int = 0):
    """(mean, std) over `subsets` random subsets (without replacement, min(subset_size, n1, n2)
    from each set) of the unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3, as in
    Binkowski et al. 2018 and torch-fidelity. Unbiased: about 0 (it can be negative) for two
    samples of one distribution, whatever the sample size, unlike FID."""
    f1, f2 = _f64(f1, "f1"), _f64(f2, "f2")
    m = min(subset_size, len(f1), len(f2))
    rng = np.random.default_rng(seed)
    v = [_mmd2_unbiased(f1[rng.choice(len(f1), m, replace=False)], f2[rng.choice(len(f2), m, replace=False)])
         for _ in range(subsets)]
    return float(np.mean(v)), float(np.std(v))


def inception_score(logits, splits: int = 10, shuffle: bool = True, seed: int = 0):
    """(mean, std) over `splits` chunks of exp(E_x KL(p(y|x) || p(y))), p(y) the chunk's mean,
    p(y|x) = softmax(logits) in float64. 1 = no class or the same class everywhere; at most the
    number of classes (confident and evenly spread). Shuffled first (seeded, as torch-fidelity):
    images listed class folder by class folder would otherwise give one-class chunks."""
    z = _f64(logits, "logits")
    if shuffle:
        z = z[np.random.default_rng(seed).permutation(len(z))]
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    scores = []
    for chunk in np.array_split(logp, min(splits, len(logp))):
        p = np.exp(chunk)
        logpy = np.log(p.mean(0) + 1e-300)
        scores.append(np.exp((p * (chunk - logpy)).sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def mode_coverage(pred, num_classes: int, min_share: float = 0.1) -> int:
    """How many classes the predicted labels cover: a class counts when at least `min_share` of its
    fair share (n / num_classes samples) is predicted as it, and at least one sample. A collapsed
    generator covers few; a stray misclassification does not count as a covered mode."""
    pred = np.asarray(pred, np.int64).ravel()
    counts = np.bincount(pred, minlength=num_classes)[:num_classes]
    return int((counts >= max(1.0, min_share * len(pred) / num_classes)).sum())


# ------------------------------------------------------------------------------ folders
METRICS = ("fid", "kid", "is")
FEATURES = ("inception", "own")


def _embed(net, paths, batch_size: int, device):
    """(features, logits) as float64 numpy for image files, each resized on its own to the net's input."""
    from .own_features import load_images
    feats, logits = [], []
    for i in range(0, len(paths), batch_size):
        f, z = net(load_images(paths[i:i + batch_size], net.input_size).to(device))
        feats.append(f.double().cpu().numpy())
        logits.append(z.double().cpu().numpy())
    return np.concatenate(feats), np.concatenate(logits)


def _images(folder) -> list:
    """The images in `folder`'s class folders when it has two or more (what class-folder training
    reads; a sampler's preview grid beside them is no sample), else every image under it."""
    from ..data.io import list_images
    from .own_features import class_folders
    dirs = class_folders(folder)
    return [p for d in dirs for p in list_images(d)] if len(dirs) >= 2 else list_images(folder)


def distribution_metrics(fakes_dir, reals_dir, metrics=METRICS, features: str = "inception",
                         inception_weights: str = "", classifier=None, batch_size: int = 100, device=None) -> dict:
    """FID / KID / IS of the images under `fakes_dir` against those under `reals_dir`: each folder's
    images in its class folders if it has two or more (FOLDER/<class>/*), else all under it.

    features "inception": torchvision's Inception-v3 (`inception_weights` or the torch hub cache);
    "own": a small classifier trained on REALS/<class>/* (`own_features.py`; `classifier` overrides
    where it is kept); IS then uses its classes. -> {"fid", "kid", "kid_std", "is", "is_std" (those
    asked for), "classes_covered" / "num_classes" (own: `mode_coverage` of the fakes' predicted
    classes), "accuracy" (own, FAKES holding folders named like the real classes: the share of fakes
    in such folders classified as their folder's class; else None), "classifier_accuracy" (own: its
    held-out accuracy on the reals), "n_fakes", "n_reals", "features"}. `device`: None = cuda if
    available (the own classifier is trained on the CPU either way).
    """
    from pathlib import Path

    import torch

    from ..errors import UserError
    metrics = [m.strip().lower() for m in metrics]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise UserError(f"unknown metric(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(METRICS)}")
    if features not in FEATURES:
        raise UserError(f"unknown features '{features}'; choose one of: {', '.join(FEATURES)}")
    fakes_dir, reals_dir = Path(fakes_dir), Path(reals_dir)
    for name, d in (("fake", fakes_dir), ("real", reals_dir)):
        if not d.is_dir():
            raise UserError(f"{name} images folder not found: {d}")
    fakes, reals = _images(fakes_dir), _images(reals_dir)
    need = 2 if {"fid", "kid"} & set(metrics) else 1
    for name, d, paths in (("fake", fakes_dir, fakes), ("real", reals_dir, reals)):
        if len(paths) < need:
            raise UserError(f"{d} holds {len(paths)} {name} image(s); FID/KID need at least 2 (thousands for "
                            f"stable numbers)" if need == 2 else f"no {name} images in {d}")
    if features == "own":
        from .own_features import OwnFeatures
        net = OwnFeatures.for_reals(reals_dir, classifier)
    else:
        from .inception import InceptionFeatures
        net = InceptionFeatures(inception_weights)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    net.to(device)
    ff, fz = _embed(net, fakes, batch_size, device)
    out = {"features": features, "n_fakes": len(fakes), "n_reals": len(reals)}
    if {"fid", "kid"} & set(metrics):
        rf, _ = _embed(net, reals, batch_size, device)
        if "fid" in metrics:
            out["fid"] = frechet_distance(ff, rf)
        if "kid" in metrics:
            out["kid"], out["kid_std"] = kernel_inception_distance(ff, rf)
    if "is" in metrics:
        out["is"], out["is_std"] = inception_score(fz)
    out.update(classes_covered=None, num_classes=None, accuracy=None, classifier_accuracy=None)
    if features == "own":
        pred = fz.argmax(1)
        k = len(net.classes)
        out.update(classes_covered=mode_coverage(pred, k), num_classes=k, classifier_accuracy=net.accuracy)
        folder = [p.relative_to(fakes_dir).parts[0] if len(p.relative_to(fakes_dir).parts) > 1 else None for p in fakes]
        index = {c: i for i, c in enumerate(net.classes)}
        hits = [pred[i] == index[c] for i, c in enumerate(folder) if c in index]
        out["accuracy"] = float(np.mean(hits)) if hits else None
    return out


def format_distribution(r: dict) -> str:
    """A small two-column table of a `distribution_metrics` result."""
    rows = [("features", r["features"]), ("fakes / reals", f"{r['n_fakes']} / {r['n_reals']}")]
    if "fid" in r:
        rows.append(("FID", f"{r['fid']:.3f}"))
    if "kid" in r:
        rows.append(("KID", f"{r['kid']:.5f} +- {r['kid_std']:.5f}"))
    if "is" in r:
        rows.append(("IS", f"{r['is']:.3f} +- {r['is_std']:.3f}"))
    if r.get("classes_covered") is not None:
        rows.append(("classes covered", f"{r['classes_covered']} of {r['num_classes']}"))
    if r.get("accuracy") is not None:
        rows.append(("accuracy", f"{r['accuracy']:.3f} (fakes in class folders classified as their folder's class)"))
    if r.get("classifier_accuracy") is not None:
        rows.append(("classifier", f"held-out accuracy {r['classifier_accuracy']:.3f} on the reals"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
