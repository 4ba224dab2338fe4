"""Analysis of finished runs: RD curves, BD-rate/BD-metric with reasons, bootstrap tables."""

from .bdrate import BDResult, bd_metric, bd_rate
from .bdtable import BDTable, bd_table
from ..rundir import Run

__all__ = ["BDResult", "BDTable", "Run", "bd_metric", "bd_rate", "bd_table"]
