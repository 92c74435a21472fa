"""Hugging Face Transformers: a TrainerCallback that reports and prunes, and tune_trainer (pip install 'tunelab[transformers]')."""

from tunelab.huggingface.callback import TunelabCallback
from tunelab.huggingface.search import tune_trainer

__all__ = ["TunelabCallback", "tune_trainer"]
