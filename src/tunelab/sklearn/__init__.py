"""scikit-learn: TunelabSearchCV, a meta-estimator that searches with a tunelab study."""
