#!/usr/bin/env python
"""python train.py PIPELINE --data DIR --out checkpoints/NAME [KEY=VALUE ...]"""
import sys

from i2i.cli import run_cli, train_main

if __name__ == "__main__":
    sys.exit(run_cli(train_main))
