"""Every built-in scheduler passes the scheduler conformance suite."""

from __future__ import annotations

from tunelab.schedulers import (
    ASHAScheduler,
    CurveRules,
    ExtrapolateScheduler,
    FreezeThawScheduler,
    HyperbandScheduler,
    MedianStoppingScheduler,
    PB2Scheduler,
    PBTScheduler,
    Plateau,
    ReplayScheduler,
    Scheduler,
)
from tunelab.testing.scheduler_conformance import SchedulerConformance


class TestASHA(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return ASHAScheduler(min_resource=1, max_resource=12, reduction_factor=3)


class TestASHAWithRules(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return ASHAScheduler(min_resource=2, reduction_factor=2, rules=[Plateau(patience=4)])


class TestHyperband(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return HyperbandScheduler(
            min_resource=1, max_resource=9, reduction_factor=3, seed=2, adaptive=False
        )


class TestMedian(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return MedianStoppingScheduler(warmup_steps=1, min_trials=3)


class TestCurveRules(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return CurveRules(["divergence", {"name": "plateau", "patience": 3}])


class TestExtrapolate(SchedulerConformance):
    reads_finished_curves = True

    def make_scheduler(self) -> Scheduler:
        return ExtrapolateScheduler(min_resource=2, min_trials=5, rules=["divergence"])


class TestFreezeThaw(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return FreezeThawScheduler(slice=2, rules=["divergence"])


class TestPBT(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return PBTScheduler(population_size=4, interval=2, hyperparams=["lr"])


class TestPB2(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return PB2Scheduler(population_size=4, interval=2, hyperparams=["lr"])


class TestReplay(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return ReplayScheduler(
            [{"step": 0, "params": {"lr": 0.1}}, {"step": 3, "params": {"lr": 0.05}}]
        )
