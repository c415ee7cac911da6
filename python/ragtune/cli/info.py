"""``ragtune info``: version, SIMD and threads."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import __version__, simd_info


def run_info(args: argparse.Namespace) -> dict[str, Any]:
    # oneTBB's default (threads=0) is the CPUs this process may run on, not all the machine has.
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {"version": __version__, "simd": simd_info(), "cpu_count": os.cpu_count(), "threads": usable}
    if not args.json:
        simd = info["simd"]
        print(f"ragtune {__version__}")
        print(f"SIMD: {simd['active']} (available: {', '.join(simd['available'])})")
        print(f"CPUs: {info['cpu_count']} (threads=0 uses {usable})")
    return info


def add_info_command(commands: Any) -> None:
    parser = commands.add_parser("info", help="version, SIMD instruction set, threads")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_info)
