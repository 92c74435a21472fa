"""Hugging Face Transformers: a TrainerCallback that reports and prunes, and tune_trainer (pip install 'tunelab[transformers]')."""
