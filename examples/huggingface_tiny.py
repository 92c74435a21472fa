"""Tune a Hugging Face Trainer with tunelab: a tiny BERT, built from a config (nothing is
downloaded), learns whether token 7 appears in a sequence of generated token ids. ASHA
stops the poor learning rates after their second epoch.

    python examples/huggingface_tiny.py            (pip install 'tunelab[transformers]')
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    EvalPrediction,
    Trainer,
    TrainingArguments,
)

import tunelab
from tunelab.huggingface import tune_trainer

VOCAB, LENGTH, MARK = 50, 8, 7


class Tokens(torch.utils.data.Dataset):
    """`n` sequences of token ids; the label says whether MARK appears in them."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(MARK + 1, VOCAB, (n, LENGTH), generator=g)
        has = torch.rand(n, generator=g) < 0.5
        where = torch.randint(0, LENGTH, (n,), generator=g)
        self.ids[has, where[has]] = MARK
        self.labels = has.long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "input_ids": self.ids[i],
            "attention_mask": torch.ones(LENGTH, dtype=torch.long),
            "labels": self.labels[i],
        }


def compute_metrics(prediction: EvalPrediction) -> dict[str, float]:
    labels = np.asarray(prediction.label_ids)
    return {"accuracy": float((prediction.predictions.argmax(-1) == labels).mean())}


def main(n_trials: int = 8, epochs: int = 4) -> tunelab.Study:
    train, val = Tokens(256, seed=0), Tokens(64, seed=1)
    output = tempfile.TemporaryDirectory(prefix="tunelab-hf-")  # checkpoints, if you save

    def make_trainer(trial: tunelab.Trial) -> Trainer:
        config = BertConfig(
            vocab_size=VOCAB,
            hidden_size=trial.hp.Choice("hidden_size", [16, 32]),
            num_hidden_layers=trial.hp.Int("num_hidden_layers", 1, 2),
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=LENGTH,
            num_labels=2,
        )
        args = TrainingArguments(
            output_dir=f"{output.name}/trial-{trial.number}",
            learning_rate=trial.hp.Float("learning_rate", 1e-4, 1e-1, sampling="log"),
            per_device_train_batch_size=trial.hp.Choice("batch_size", [16, 32]),
            num_train_epochs=epochs,
            eval_strategy="epoch",  # an evaluation to report after every epoch
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
        )
        return Trainer(
            model=BertForSequenceClassification(config),
            args=args,
            train_dataset=train,
            eval_dataset=val,
            compute_metrics=compute_metrics,
        )

    study = tunelab.create_study(
        "tiny-bert",
        storage=":memory:",
        metric="eval_accuracy",
        direction="maximize",
        scheduler=tunelab.ASHAScheduler(min_resource=2, max_resource=epochs),
        seed=0,
    )
    with output:
        tune_trainer(make_trainer, study=study, n_trials=n_trials, step="epoch")
    return study


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=4)
    options = parser.parse_args()
    torch.set_num_threads(1)
    study = main(options.trials, options.epochs)
    for t in study.trials:
        print(t.number, t.state.value, t.params, t.metrics.get("eval_accuracy"))
    print("best:", study.best_params, "eval_accuracy", study.best_value)
