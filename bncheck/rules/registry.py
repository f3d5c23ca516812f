"""Artefact mode's registry of rules (see :mod:`bncheck.catalogue`), one module per code."""
from __future__ import annotations

from typing import Sequence

from bncheck import catalogue
from bncheck.rules.base import Example, Rule
from bncheck.rules.bn001_update_not_run import UpdateNotRun
from bncheck.rules.bn002_batch_stats_at_inference import BatchStatsAtInference
from bncheck.rules.bn003_inference_updates_stats import InferenceUpdatesStats
from bncheck.rules.bn004_training_flag_defaults_true import TrainingFlagDefaultsTrue
from bncheck.rules.bn005_stats_never_updated import StatsNeverUpdated
from bncheck.rules.bn006_invalid_moving_stats import InvalidMovingStats
from bncheck.rules.bn007_momentum_out_of_range import MomentumOutOfRange
from bncheck.rules.bn008_training_hardcoded_in_model import TrainingHardcodedInModel
from bncheck.rules.bn009_bn_frozen_in_train_step import BnFrozenInTrainStep

RULES: tuple[type[Rule], ...] = (
    UpdateNotRun,
    BatchStatsAtInference,
    InferenceUpdatesStats,
    TrainingFlagDefaultsTrue,
    StatsNeverUpdated,
    InvalidMovingStats,
    MomentumOutOfRange,
    TrainingHardcodedInModel,
    BnFrozenInTrainStep,
)


def by_code(code: str) -> type[Rule] | None:
    return next((r for r in RULES if r.code == code.upper()), None)


def selected(select: Sequence[str] | None = None, ignore: Sequence[str] | None = None) -> list[type[Rule]]:
    """The artefact rules ``select``/``ignore`` choose (see :func:`bncheck.catalogue.is_selected`)."""
    return catalogue.selected(RULES, select, ignore)


__all__ = ["RULES", "Example", "Rule", "by_code", "selected"]
