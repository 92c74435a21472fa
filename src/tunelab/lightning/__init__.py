"""PyTorch Lightning: TunelabCallback reports validation metrics and prunes (pip install 'tunelab[lightning]')."""
