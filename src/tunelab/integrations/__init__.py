"""Experiment trackers as optimize(callbacks=…) entries: MLflow, TensorBoard, Weights & Biases."""
