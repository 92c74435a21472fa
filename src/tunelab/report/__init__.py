"""Reports of a study: one self-contained HTML file (`write_report`) and a live
dashboard (`tunelab.report.dashboard`), both built from the same sections."""

from tunelab.plot.pareto import pareto_figure
from tunelab.report.html import render_report, write_report
from tunelab.report.section import Section
from tunelab.report.sections import build_sections

__all__ = ["Section", "build_sections", "pareto_figure", "render_report", "write_report"]
