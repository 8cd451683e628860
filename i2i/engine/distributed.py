"""Data-parallel training over processes started by torchrun: PyTorch's DDP, gloo on CPU, nccl on CUDA.

    torchrun --nproc_per_node N train.py PIPELINE --data DIR --out RUN ...

Each process trains on its own slice of every global batch (`ResumableSampler`'s rank/world),
so N processes x batch b read exactly the images one process x batch N*b reads, in the same
order, and a resumed run picks up where the global stream stopped. Gradients are averaged by
DDP. A pipeline's G step may call its networks' methods (MUNIT's encode/decode), not only
their forward, so DDP wraps the *step*: `Step` is a module that owns one network group and
whose forward is the pipeline's step; DDP syncs that group's gradients on backward, whatever
path through the networks the step took.

Only rank 0 logs, writes samples and saves checkpoints (the run folder must be one all
processes can read on resume). `train.batch_size` is per process.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

from ..errors import UserError


def launched() -> bool:
    """Started by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def setup(device: torch.device) -> torch.device:
    """Join torchrun's process group (once); the device this process trains on (its own GPU)."""
    if not launched():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def cleanup(finished: bool = True) -> None:
    """Leave the process group. After a finished run every rank first waits for the others: a
    rank that tore gloo down while its peer was still finishing aborted (SIGABRT, "terminate
    called without an active exception") in ~1 of 8 two-process runs. After an error no
    barrier: a peer may never arrive."""
    if dist.is_available() and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


class Step(nn.Module):
    """One step of a pipeline as a module owning one network group (so DDP can wrap it)."""

    def __init__(self, networks: nn.Module, step):
        super().__init__()
        self.networks = networks
        self.step = step

    def forward(self, *args):
        return self.step(*args)


def replicate(networks: nn.Module, step, device: torch.device, sync_bn: bool):
    """`step` run under DDP over `networks`' parameters (rank 0's weights are broadcast first)."""
    from torch.nn.parallel import DistributedDataParallel
    if sync_bn:
        if device.type != "cuda":
            raise UserError("train.sync_bn=true needs CUDA (PyTorch's SyncBatchNorm runs on GPUs only); leave it "
                            "false on CPU")
        for name, net in list(networks.named_children()):
            networks[name] = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    # find_unused_parameters: a step need not touch every network of its group (a CycleGAN
    # identity term set to 0, a style encoder unused by a loss)
    return DistributedDataParallel(Step(networks, step), device_ids=[device.index] if device.type == "cuda" else None,
                                   find_unused_parameters=True)


def gather(obj) -> list:
    """Every process's `obj`, in rank order (on every process)."""
    out = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def any_rank(flag: bool) -> bool:
    """True if any process says so (a signal reached one of them: all stop after the same step)."""
    if world_size() == 1:
        return flag
    t = torch.tensor([int(flag)], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return bool(t.item())
