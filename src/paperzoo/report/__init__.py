"""Human-readable reports of finished runs.

* :func:`write_run_report` turns one run folder into ``report.md`` + a self-contained ``report.html``.
* :func:`write_reproduce_report` summarises a sweep of runs (one row per run, totals, thumbnails).
* :func:`plot_training_curves` draws loss / learning-rate / validation curves from ``metrics.csv``.
"""

from paperzoo.report.plots import plot_training_curves
from paperzoo.report.reproduce import write_reproduce_report
from paperzoo.report.run import write_run_report

__all__ = ["plot_training_curves", "write_reproduce_report", "write_run_report"]
