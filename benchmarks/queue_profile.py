"""Run ``vidgen`` under cProfile counting CPU time only (``--profile`` workers of the benchmark).

A wall-clock profile of a process on a saturated 2-core machine charges the time it sat preempted
to whatever call it was in (socket sends look slow); ``time.process_time`` counts only the CPU
this process used, so the profile says where the work goes.
"""

from __future__ import annotations

import cProfile
import os
import sys
import time

if __name__ == "__main__":
    from app.cli.main import main

    profiler = cProfile.Profile(time.process_time)
    sys.argv[0] = "vidgen"
    try:
        profiler.runcall(main)
    except SystemExit:
        pass
    finally:
        profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])
