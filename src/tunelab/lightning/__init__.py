"""PyTorch Lightning: TunelabCallback reports validation metrics and prunes (pip install 'tunelab[lightning]').

callback = TunelabCallback(trial, monitor="val_acc")
trainer = lightning.pytorch.Trainer(max_epochs=20, callbacks=[callback])
trainer.fit(model, train_loader, val_loader)
return callback.result()  # raises TrialPruned when the study pruned the trial
"""

from tunelab.lightning.callback import TunelabCallback

__all__ = ["TunelabCallback"]
