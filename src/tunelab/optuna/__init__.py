"""Optuna users: TunelabSampler inside an Optuna study, and importing Optuna studies (pip install 'tunelab[optuna]')."""
