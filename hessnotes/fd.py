"""Moved to :mod:`hessnotes.checks.fd`; re-exported here, so old imports keep working.

Chapters: "Checking derivatives".
"""

from hessnotes.checks.fd import (
    central_difference,
    fd_error_curve,
    fit_slope,
    one_sided_kink,
    optimal_step,
)

__all__ = ["central_difference", "fd_error_curve", "fit_slope", "one_sided_kink", "optimal_step"]
