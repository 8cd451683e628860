#!/usr/bin/env python
"""python translate.py checkpoints/NAME INPUT [INPUT ...] --out DIR"""
import sys

from i2i.cli import run_cli, translate_main

if __name__ == "__main__":
    sys.exit(run_cli(translate_main))
