""".ci/kernel_memory.py: the peak memory that make notebooks prints and enforces per chapter."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".ci"))
from kernel_memory import PeakMemory, pss, vm_hwm  # noqa: E402

MB = 1_000_000

# Holds `n` MB for a moment, frees it, then waits to be told to exit (a line on stdin).
HOLD = """
import sys, time
block = bytearray({n} * 1_000_000)  # zero pages are not resident until written
for i in range(0, len(block), 4096):
    block[i] = 1
time.sleep(0.5)
del block
print("freed", flush=True)
sys.stdin.readline()
"""

# Starts a child that holds 150 MB while the parent holds 50 MB.
TREE = """
import subprocess, sys
child = subprocess.Popen(
    [sys.executable, "-c", {child!r}], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
)
block = bytearray(50_000_000)
for i in range(0, len(block), 4096):
    block[i] = 1
child.stdout.readline()
print("done", flush=True)
sys.stdin.readline()
child.communicate("\\n")
"""


def _run(code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def test_peak_is_the_high_water_mark_of_a_freed_allocation():
    proc = _run(HOLD.format(n=200))
    memory = PeakMemory(proc.pid)
    assert proc.stdout.readline().strip() == "freed"
    peak = memory.stop()
    hwm, rss_now = vm_hwm(proc.pid), pss(proc.pid)
    proc.communicate("\n")
    assert 200 * MB <= hwm <= peak <= 1.01 * hwm, (peak, hwm)  # samples can lead VmHWM a little
    assert rss_now < 100 * MB  # it was freed: only the high-water mark remembers it


def test_peak_counts_the_processes_a_kernel_starts():
    proc = _run(TREE.format(child=HOLD.format(n=150)))
    memory = PeakMemory(proc.pid, interval=0.02)
    assert proc.stdout.readline().strip() == "done"
    time.sleep(0.1)
    peak = memory.stop()
    own = vm_hwm(proc.pid)
    proc.communicate("\n")
    assert own < 120 * MB, own  # the parent alone never held the child's 150 MB
    assert peak >= own + 150 * MB * 0.9, (peak, own)  # sampled while the child held them
