"""Plotly figures of a study for notebooks, named as in `optuna.visualization`.

Each function returns a `plotly.graph_objects.Figure` (plotly is the `report` extra) drawn
by the same builders as the HTML report and the dashboard, which embed their JSON form.
"""

from tunelab.plot.api import (
    plot_contour,
    plot_curve_model_check,
    plot_edf,
    plot_effects,
    plot_hypervolume_history,
    plot_intermediate_values,
    plot_lineage,
    plot_optimization_history,
    plot_parallel_coordinate,
    plot_param_importances,
    plot_pareto_front,
    plot_rank,
    plot_schedules,
    plot_slice,
    plot_timeline,
    plot_training_effort,
)

__all__ = [
    "plot_contour",
    "plot_curve_model_check",
    "plot_edf",
    "plot_effects",
    "plot_hypervolume_history",
    "plot_intermediate_values",
    "plot_lineage",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_pareto_front",
    "plot_rank",
    "plot_schedules",
    "plot_slice",
    "plot_timeline",
    "plot_training_effort",
]
