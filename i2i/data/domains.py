"""Multi-domain data (StarGAN): single images, each with the domain or attributes it shows.

Two layouts, each optionally under train/ (with test/ or val/ beside it, never trained on):

* a folder per domain, `DIR/<domain>/*`: the label is the domain's index (domains sorted by
  name, saved with the run so translate.py knows them);
* a folder of images with an attribute table: CelebA's `list_attr_celeba.txt` (a count line,
  a header line of attribute names, then `name +1/-1 ...`) or a CSV (`file,attr1,attr2,...`
  with 0/1). `data.attrs=Black_Hair,Blond_Hair,...` chooses the columns; the label is a
  multi-hot vector over them.
"""
from __future__ import annotations

import csv
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ..errors import UserError
from .folders import (DATASETS, SPLIT_NAMES, FolderDataset, ImageCache, _dir, _images, check_sizes, readable,
                      split_dir)
from .io import is_run_folder, list_images, to_tensor
from .meta import DataMeta
from .transforms import apply, crop_flip

CELEBA_TABLE = "list_attr_celeba.txt"
TABLE_VALUES = {".txt": {"1": 1.0, "-1": 0.0}, ".csv": {"0": 0.0, "1": 1.0}}


def find_table(base: Path, given: str) -> Path | None:
    """The attribute table: data.attr_file, else list_attr_celeba.txt or the one *.csv in the folder."""
    if given:
        path = Path(given) if Path(given).is_absolute() or Path(given).exists() else base / given
        if not path.is_file():
            raise UserError(f"attribute table not found: {given} (data.attr_file)")
        return path
    if (base / CELEBA_TABLE).is_file():
        return base / CELEBA_TABLE
    tables = sorted(base.glob("*.csv"))
    if len(tables) > 1:
        raise UserError(f"{len(tables)} CSV files in {base} ({', '.join(t.name for t in tables[:3])}): "
                        f"name the attribute table with data.attr_file=FILE")
    return tables[0] if tables else None


def read_attribute_table(path: Path) -> tuple[list[str], list[tuple[int, str, list[str]]]]:
    """(attribute names, [(line number, image name, raw values)]) from either table format."""
    rows: list[tuple[int, str, list[str]]] = []
    if path.suffix.lower() == ".csv":
        with open(path, newline="") as f:
            lines = list(csv.reader(f))
        if not lines or len(lines[0]) < 2:
            raise UserError(f"{path} line 1: expected a header 'file,attr1,attr2,...'")
        names = [n.strip() for n in lines[0][1:]]
        for n, line in enumerate(lines[1:], start=2):
            if line and any(c.strip() for c in line):
                rows.append((n, line[0].strip(), [c.strip() for c in line[1:]]))
        return names, rows
    text = path.read_text().splitlines()
    if len(text) < 2 or not text[0].strip().isdigit():
        raise UserError(f"{path} line 1: expected the image count (CelebA's {CELEBA_TABLE} format: "
                        f"a count line, a header line of attribute names, then 'name +1/-1 ...')")
    names = text[1].split()
    for n, line in enumerate(text[2:], start=3):
        parts = line.split()
        if parts:
            rows.append((n, parts[0], parts[1:]))
    return names, rows


class DomainFolder(FolderDataset):
    """Images with a domain index (`label`, long) or an attribute vector (`label`, float)."""

    def __init__(self, root, split: str = "train", load_size: int = 286, crop_size: int = 256, flip: bool = True,
                 attrs=(), attr_file: str = "", max_images: int = 0, train: bool = True, exclude=()):
        root = _dir(root)
        base = split_dir(root, split)
        if base is None:
            raise UserError(f"no {' or '.join(SPLIT_NAMES[split])}/ split in {root}")
        held_out = [root / n for names in SPLIT_NAMES.values() for n in names if n != "train"]
        wants_table = attrs or attr_file or len(self._domain_dirs(base, held_out)) < 2
        table = find_table(base, attr_file) if wants_table else None
        if table is not None:
            self.items, self.meta = self._from_table(base, table, list(attrs), exclude)
        elif attrs:
            raise UserError(f"data.attrs is set but {base} has no attribute table ({CELEBA_TABLE} or a CSV); "
                            f"give one with data.attr_file=FILE")
        else:
            self.items, self.meta = self._from_folders(base, held_out, exclude)
        if max_images:
            self.items = self.items[:max_images]
        paths = [p for p, _ in self.items]
        sizes = list(zip(map(str, paths), readable(paths)))
        check_sizes(sizes, 0 if load_size else crop_size)
        self.cache = ImageCache(load_size)
        self.transform = crop_flip(crop_size, flip, train)

    @classmethod
    def from_config(cls, d, split: str, train: bool, exclude=()) -> Dataset:
        return cls(d.root, split=split, load_size=d.load_size, crop_size=d.crop_size, flip=d.flip, attrs=d.attrs,
                   attr_file=d.attr_file, max_images=d.max_images, train=train, exclude=exclude)

    @staticmethod
    def _domain_dirs(base: Path, held_out) -> list[Path]:
        return sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")
                      and d not in held_out and d.name not in ("train",) and not is_run_folder(d))

    def _from_folders(self, base: Path, held_out, exclude):
        dirs = self._domain_dirs(base, held_out)
        if len(dirs) < 2:
            raise UserError(f"multi-domain data needs a folder per domain in {base} (at least two, e.g. "
                            f"{base}/summer/ and {base}/winter/), or images with an attribute table "
                            f"({CELEBA_TABLE} or a CSV) and data.attrs=NAME,...; found {len(dirs)} folder(s)")
        items = []
        for k, d in enumerate(dirs):
            items += [(p, torch.tensor(k)) for p in _images(d, exclude=exclude)]
        return items, DataMeta(domains=tuple(d.name for d in dirs))

    def _from_table(self, base: Path, table: Path, attrs: list[str], exclude):
        names, rows = read_attribute_table(table)
        if not attrs:
            raise UserError(f"choose the attributes to train on with data.attrs=NAME,NAME,... ({table} has: "
                            f"{', '.join(names[:12])}{', ...' if len(names) > 12 else ''})")
        unknown = [a for a in attrs if a not in names]
        if unknown:
            raise UserError(f"data.attrs: {unknown[0]} is not a column of {table} (it has: {', '.join(names)})")
        cols = [names.index(a) for a in attrs]
        values = TABLE_VALUES[".csv" if table.suffix.lower() == ".csv" else ".txt"]
        index = {}
        for p in list_images(base, exclude=exclude):
            index.setdefault(p.relative_to(base).as_posix(), p)
            index.setdefault(p.name, p)
        items = []
        for line, name, raw in rows:
            if len(raw) != len(names):
                raise UserError(f"{table} line {line}: {len(raw)} values for {len(names)} attributes")
            bad = next((v for v in raw if v not in values), None)
            if bad is not None:
                raise UserError(f"{table} line {line}: value {bad!r} for {name}; expected "
                                f"{' or '.join(values)}")
            path = index.get(name) or index.get(Path(name).name)
            if path is None:
                raise UserError(f"{table} line {line}: image {name} not found under {base}")
            items.append((path, torch.tensor([values[raw[c]] for c in cols])))
        if not items:
            raise UserError(f"{table} lists no images")
        return items, DataMeta(attrs=tuple(attrs))

    def __len__(self):
        return len(self.items)

    def _sample(self, i: int, seed: int) -> dict:
        path, label = self.items[i]
        image, _ = apply(self.transform, seed, self.cache.get(path))
        return {"A": to_tensor(image), "label": label.clone(), "path": str(path)}


DATASETS["domains"] = DomainFolder
