"""The pix2pix/CycleGAN reference implementation's training iteration, re-stated for timing.

`python benchmarks/throughput.py --reference-settings` times i2i's Trainer.train_step against
this at the reference's own settings (pix2pix: unet_128 ngf 64, PatchGAN 3 layers with batch
norm, batch 4, 128 px, dropout; CycleGAN: resnet_6blocks ngf 32, instance norm, batch 1, 128 px,
pool 50, identity 0.5), so the comparison needs no copy of the reference on the machine.

What the reference does per iteration (models/pix2pix_model.py, cycle_gan_model.py, read for
their order of work, not copied): G forward; D update first (D on the detached fake and on the
real, two calls, loss halved, `torch.optim.Adam` with its defaults: on CPU the per-tensor loop);
then D frozen (requires_grad False) and the G update through D's judgement of the fake. CycleGAN
also computes both identity mappings and both cycles, and each D judges a fake from its pool
of 50. The networks here are i2i's, built from the same config and turned back into plain
`nn.Conv2d` / `nn.ConvTranspose2d` (i2i's CPU conv routes off): `python -m i2i import` shows
they are the reference's, tensor for tensor. Data loading, logging and saving are left out on
both sides (i2i's loader is 148x faster than a step: benchmarks/throughput.py).
"""
from __future__ import annotations

import torch
from torch import nn

from i2i.losses import AdversarialLoss
from i2i.nn.cpu_convs import use_cpu_convs
from i2i.pipelines.pool import ImagePool

PIX2PIX = ["model.generator.name=unet_128", "model.generator.ngf=64", "model.generator.dropout=0.5",
           "model.discriminator.ndf=64", "model.discriminator.n_layers=3", "model.discriminator.norm=batch",
           "train.batch_size=4", "data.crop_size=128", "data.load_size=128"]
CYCLEGAN = ["model.generator.name=resnet_6blocks", "model.generator.ngf=32", "train.batch_size=1",
            "data.crop_size=128", "data.load_size=128"]
SETTINGS = {"pix2pix": PIX2PIX, "cyclegan": CYCLEGAN}


def plain(net: nn.Module) -> nn.Module:
    """i2i's network with PyTorch's own conv modules (oneDNN on every map size)."""
    return use_cpu_convs(net, on=False)


def adam(net: nn.Module, cfg) -> torch.optim.Adam:
    return torch.optim.Adam(net.parameters(), lr=cfg.train.lr, betas=(cfg.train.beta1, cfg.train.beta2))


class ReferencePix2pix:
    def __init__(self, pipeline, cfg):
        self.G, self.D = plain(pipeline.generators["G"]), plain(pipeline.discriminators["D"])
        self.opt_G, self.opt_D = adam(self.G, cfg), adam(self.D, cfg)
        self.gan, self.l1 = AdversarialLoss("vanilla"), nn.L1Loss()

    def step(self, A: torch.Tensor, B: torch.Tensor) -> None:
        fake_B = self.G(A)
        self.D.requires_grad_(True)
        self.opt_D.zero_grad()
        loss_D = 0.5 * (self.gan(self.D(torch.cat([A, fake_B], 1).detach()), False, for_discriminator=True)
                        + self.gan(self.D(torch.cat([A, B], 1)), True, for_discriminator=True))
        loss_D.backward()
        self.opt_D.step()
        self.D.requires_grad_(False)
        self.opt_G.zero_grad()
        loss_G = self.gan(self.D(torch.cat([A, fake_B], 1)), True, for_discriminator=False) + 100 * self.l1(fake_B, B)
        loss_G.backward()
        self.opt_G.step()


class ReferenceCycleGAN:
    def __init__(self, pipeline, cfg):
        g, d = pipeline.generators, pipeline.discriminators
        self.G_A, self.G_B, self.D_A, self.D_B = (plain(g["G_AB"]), plain(g["G_BA"]), plain(d["D_B"]),
                                                  plain(d["D_A"]))  # reference: D_A judges domain B
        self.opt_G = torch.optim.Adam(list(self.G_A.parameters()) + list(self.G_B.parameters()), lr=cfg.train.lr,
                                      betas=(cfg.train.beta1, cfg.train.beta2))
        self.opt_D = torch.optim.Adam(list(self.D_A.parameters()) + list(self.D_B.parameters()), lr=cfg.train.lr,
                                      betas=(cfg.train.beta1, cfg.train.beta2))
        self.gan, self.l1 = AdversarialLoss("lsgan"), nn.L1Loss()
        self.pool_A, self.pool_B = ImagePool(50), ImagePool(50)

    def d_loss(self, D, real, fake):
        return 0.5 * (self.gan(D(real), True, for_discriminator=True)
                      + self.gan(D(fake.detach()), False, for_discriminator=True))

    def step(self, A: torch.Tensor, B: torch.Tensor) -> None:
        fake_B = self.G_A(A)
        rec_A = self.G_B(fake_B)
        fake_A = self.G_B(B)
        rec_B = self.G_A(fake_A)
        self.D_A.requires_grad_(False)
        self.D_B.requires_grad_(False)
        self.opt_G.zero_grad()
        idt_A, idt_B = self.G_A(B), self.G_B(A)
        loss_G = (self.gan(self.D_A(fake_B), True, for_discriminator=False)
                  + self.gan(self.D_B(fake_A), True, for_discriminator=False)
                  + 10 * self.l1(rec_A, A) + 10 * self.l1(rec_B, B)
                  + 0.5 * 10 * self.l1(idt_A, B) + 0.5 * 10 * self.l1(idt_B, A))
        loss_G.backward()
        self.opt_G.step()
        self.D_A.requires_grad_(True)
        self.D_B.requires_grad_(True)
        self.opt_D.zero_grad()
        self.d_loss(self.D_A, B, self.pool_B.query(fake_B)).backward()
        self.d_loss(self.D_B, A, self.pool_A.query(fake_A)).backward()
        self.opt_D.step()


REFERENCES = {"pix2pix": ReferencePix2pix, "cyclegan": ReferenceCycleGAN}
