"""Benchmarks of GridPatrol against straightforward baselines, each printing a ratio measured in one run."""
from __future__ import annotations

import os
import platform


def machine() -> str:
    """One line naming this machine: OS, architecture, cores, CPU model, Python."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, nproc {len(os.sched_getaffinity(0))}, CPU {cpu}, "
            f"Python {platform.python_version()}")
