"""The training kit on a CUDA GPU (issue 19): run by `bash benchmarks/gpu_check.sh`.

Three parts, each in its own process (`python benchmarks/gpu_check.py PART`), so the part
that starts trial processes on the GPU has not touched CUDA itself:

- `info`: torch and CUDA versions and the card; exits 1 with one line when CUDA is not
  available.
- `train`: the seed MLP (`tunelab.torch.MLP` on `load_digits()`) and `SmallCNN`
  (`load_digits(images=True)`), a few trials each through a study on a SQLite file in a
  temporary folder, on the CPU and on CUDA with amp "off", "auto" and "bf16". The same
  random-sampler seed gives every row the same configurations. Per row: the median and
  first trial's time (the first pays for CUDA's start and kernel loading), the peak memory
  the kit recorded per trial (`max_memory_mb`) and the best validation accuracy.
- `share`: the seed MLP on one GPU with `optimize(gpus=[0], trials_per_gpu=m)`, m = 1, 2,
  4: trials per hour from the wall time of each run, and a check that every trial
  process saw exactly one device. Then CUDA is initialised in this process and a run with
  `gpus` must stop at once with the one-line refusal (forked workers cannot use CUDA).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

import tunelab
from tunelab import torch as tl_torch
from tunelab.types import TrialState

FIXED = {"batch_size": 128, "epochs": 10}  # tuned otherwise: learning rate, optimizer, …
ROWS = (("cpu", "off"), ("cuda", "off"), ("cuda", "auto"), ("cuda", "bf16"))


def info() -> int:
    print(
        f"torch {torch.__version__} · CUDA build {torch.version.cuda} · python {sys.version.split()[0]}"
    )
    if not torch.cuda.is_available():
        print(
            "error: CUDA is not available here (torch.cuda.is_available() is False: a CPU "
            "build of torch, or no driver or GPU); run this on a CUDA machine",
            file=sys.stderr,
        )
        return 1
    props = torch.cuda.get_device_properties(0)
    print(
        f"GPU 0 of {torch.cuda.device_count()}: {props.name}, "
        f"{props.total_memory / 2**30:.0f} GiB, compute capability {props.major}.{props.minor}, "
        f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}, "
        f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')}"
    )
    return 0


def objective_for(model: str, device: str, amp: str) -> Callable[[Any], Any]:
    """The seed MLP or SmallCNN trained by the kit on `device` with `amp`."""
    data = tl_torch.load_digits(images=model == "cnn")

    def objective(trial: Any) -> Any:
        if model == "cnn":
            net = tl_torch.SmallCNN(trial.hp, data.in_shape, data.num_classes)
        else:
            net = tl_torch.MLP(trial.hp, data.in_features, data.num_classes)
        trial.set_user_attr("visible", os.environ.get("CUDA_VISIBLE_DEVICES"))
        return tl_torch.fit(net, data, trial, device=device, amp=amp, **FIXED)

    return objective


def _study(folder: str, file: str, name: str) -> tunelab.Study:
    """A study on its own SQLite file; the same `name` gives the same trial seeds."""
    return tunelab.create_study(
        name, storage=str(Path(folder) / f"{file}.db"), sampler="random", seed=0
    )


def _peak(trials: Sequence[Any]) -> str:
    peaks = [t.user_attrs.get("max_memory_mb") for t in trials]
    known = [float(p) for p in peaks if isinstance(p, (int, float))]
    return f"{max(known):.0f}" if known else "-"


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))


def train(trials: int) -> int:
    rows: list[Sequence[str]] = []
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for model in ("mlp", "cnn"):
            for device, amp in ROWS:
                study = _study(folder, f"{model}-{device}-{amp}", model)
                study.optimize(objective_for(model, device, amp), n_trials=trials)
                done = sorted(study.get_trials([TrialState.COMPLETE]), key=lambda t: t.number)
                bad = [t for t in study.trials if t.state is not TrialState.COMPLETE]
                for t in bad:
                    print(f"{model} {device} amp={amp} trial {t.number}: {t.state.name} {t.reason}")
                failed += len(bad)
                times = [t.duration for t in done if t.duration is not None]
                rows.append(
                    [
                        model,
                        device,
                        amp,
                        f"{len(done)}/{trials}",
                        f"{statistics.median(times):.2f}" if times else "-",
                        f"{times[0]:.2f}" if times else "-",
                        _peak(done),
                        f"{max(t.value for t in done):.3f}" if done else "-",
                    ]
                )
    _table(["model", "device", "amp", "done", "s/trial", "1st s", "peak MiB", "best acc"], rows)
    return 1 if failed else 0


def share(trials_per_gpu: Sequence[int], trials: int) -> int:
    rows: list[Sequence[str]] = []
    problems = 0
    with tempfile.TemporaryDirectory() as folder:
        for m in trials_per_gpu:
            study = _study(folder, f"share-{m}", "share")
            start = time.perf_counter()
            study.optimize(
                objective_for("mlp", "cuda", "auto"), n_trials=trials, gpus=[0], trials_per_gpu=m
            )
            wall = time.perf_counter() - start
            done = study.get_trials([TrialState.COMPLETE])
            seen = {t.user_attrs.get("visible") for t in done}
            if len(done) != trials or seen != {_first_visible()}:
                problems += 1
                print(f"trials_per_gpu={m}: {len(done)}/{trials} complete, devices seen {seen}")
            times = [t.duration for t in done if t.duration is not None]
            rows.append(
                [
                    str(m),
                    f"{len(done)}/{trials}",
                    f"{wall:.1f}",
                    f"{len(done) / wall * 3600:.0f}",
                    f"{statistics.median(times):.2f}" if times else "-",
                    _peak(done),
                ]
            )
        _table(["per GPU", "done", "wall s", "trials/h", "s/trial", "peak MiB"], rows)
        problems += _refused_after_cuda_init(folder)
    return 1 if problems else 0


def _cuda_available() -> bool:
    """Asked in a child process: torch.cuda.is_available() here would keep the trial
    processes forked later from using CUDA."""
    check = "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", check], check=False).returncode == 0


def _first_visible() -> str:
    """What gpus=[0] names: device 0 of those this process sees."""
    inherited = os.environ.get("CUDA_VISIBLE_DEVICES")
    return inherited.split(",")[0].strip() if inherited else "0"


def _refused_after_cuda_init(folder: str) -> int:
    """CUDA initialised here first: a run with `gpus` must stop with the one-line refusal."""
    torch.zeros(1, device="cuda")
    study = _study(folder, "after-init", "share")
    try:
        study.optimize(objective_for("mlp", "cuda", "off"), n_trials=2, gpus=[0])
    except tunelab.TunelabError as e:
        ok = "CUDA was initialised" in str(e)
        print(
            f"CUDA initialised before optimize(gpus=[0]): {'refused' if ok else 'WRONG ERROR'}: {e}"
        )
        return 0 if ok else 1
    print(
        "CUDA initialised before optimize(gpus=[0]): NOT refused (trials: "
        f"{[(t.state.name, t.reason) for t in study.trials]})"
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["info", "train", "share"])
    parser.add_argument("--trials", type=int, default=4, help="trials per row of `train`")
    parser.add_argument("--share-trials", type=int, default=24, help="trials per run of `share`")
    parser.add_argument("--per-gpu", default="1,2,4", help="trials_per_gpu values of `share`")
    args = parser.parse_args(argv)
    os.environ.setdefault("TUNELAB_TORCH_THREADS", "1")
    if args.part == "info":
        return info()
    if not _cuda_available():
        print("error: CUDA is not available here; run this on a CUDA machine", file=sys.stderr)
        return 1
    if args.part == "train":
        return train(args.trials)
    return share([int(m) for m in args.per_gpu.split(",")], args.share_trials)


if __name__ == "__main__":
    sys.exit(main())
