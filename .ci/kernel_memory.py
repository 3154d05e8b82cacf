"""Peak memory of a Jupyter kernel and the processes it starts (execute-notebooks, the lab test).

A Binder pod has about 2 GiB for the server, the kernel and everything the kernel starts; the book
allows each chapter :data:`BUDGET_BYTES`. The kernel's own peak is exact: Linux keeps the high-water
mark of a process's resident set (``VmHWM`` in ``/proc/<pid>/status``). While the kernel has child
processes (the two ``torch.distributed`` workers of high-dimensions, pip on Colab) the whole tree
is sampled every 50 ms as the sum of its proportional set sizes (``Pss``: pages shared by several
processes, such as torch's libraries, count once, as the pod's memory limit counts them).
"""

from __future__ import annotations

import threading
from pathlib import Path

import psutil

#: The most a chapter's kernel may hold at once.
BUDGET_BYTES = 1.5e9


def vm_hwm(pid: int) -> int:
    """Peak resident set size of a process in bytes (Linux ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise OSError(f"no VmHWM for process {pid}")


def pss(pid: int) -> int:
    """Proportional set size of a process in bytes (``Pss`` in ``/proc/<pid>/smaps_rollup``)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise OSError(f"no Pss for process {pid}")


class PeakMemory:
    """Samples a kernel's process tree from construction until :meth:`stop`."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid = pid
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.sampled = 0
        self.hwm = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> int:
        """The kernel's resident set, or with children the tree's summed ``Pss``."""
        children = self.proc.children(recursive=True)
        if not children:
            return self.proc.memory_info().rss
        total = 0
        for p in [self.proc, *children]:
            try:
                total += pss(p.pid)
            except OSError:  # the child has gone
                pass
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sampled = max(self.sampled, self._tree())
            except psutil.Error:  # the kernel has gone
                return

    def read(self) -> int:
        """The peak so far (call while the kernel still runs)."""
        try:
            self.hwm = max(self.hwm, vm_hwm(self.pid))
        except OSError:
            pass
        return max(self.hwm, self.sampled)

    def stop(self) -> int:
        """Stop sampling and return the peak in bytes."""
        peak = self.read()
        self._stop.set()
        self._thread.join()
        return max(peak, self.sampled)
