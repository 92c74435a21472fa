"""`tunelab dashboard`: a live, read-only web view of the studies in one storage."""

from tunelab.report.dashboard.app import DashboardApp
from tunelab.report.dashboard.server import DashboardError, DashboardServer, make_server, serve

__all__ = ["DashboardApp", "DashboardError", "DashboardServer", "make_server", "serve"]
