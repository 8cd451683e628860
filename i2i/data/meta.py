"""What a dataset found that the networks must be sized for: saved with the run, so a
trained model knows its domains, attributes and classes without the data."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DataMeta:
    domains: tuple[str, ...] = ()    # one folder per domain (StarGAN), or A/B
    attrs: tuple[str, ...] = ()      # multi-label attribute names (CelebA-style tables)
    label_classes: int = 0           # semantic label-map classes (SPADE, pix2pixHD)
    label_dont_care: bool = False    # the maps use 255 = "don't care" (its own input channel)
    label_instances: bool = False    # instance maps are given (a boundary-map input channel)
    label_palette: tuple = ()        # colour-coded maps: ((r, g, b, id), ...), so translate.py reads them too
    classes: int = 0                 # image classes (cGAN / ACGAN)
    class_names: tuple[str, ...] = ()  # their folder names, in label order

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> "DataMeta":
        if not text:
            return cls()  # runs saved before data meta existed had none to save
        d = json.loads(text)
        return cls(domains=tuple(d.get("domains", ())), attrs=tuple(d.get("attrs", ())),
                   label_classes=int(d.get("label_classes", 0)),
                   label_dont_care=bool(d.get("label_dont_care", False)),
                   label_instances=bool(d.get("label_instances", False)),
                   label_palette=tuple(tuple(int(v) for v in c) for c in d.get("label_palette", ())), classes=int(d.get("classes", 0)),
                   class_names=tuple(d.get("class_names", ())))
