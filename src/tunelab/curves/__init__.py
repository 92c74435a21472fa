"""Learning-curve models: where will a trial's metric be at a later step?

Used by the schedulers that stop or pause trials on a prediction (extrapolate, freeze-thaw);
numpy and scipy only, no framework.
"""

from tunelab.curves.ensemble import Extrapolation, extrapolate
from tunelab.curves.model import Curve, CurveModel, Prediction

__all__ = ["Curve", "CurveModel", "Extrapolation", "Prediction", "extrapolate"]
