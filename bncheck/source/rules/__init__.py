"""Source mode's registry of rules (see :mod:`bncheck.catalogue`), one module per code."""
from __future__ import annotations

from typing import Sequence

from bncheck import catalogue
from bncheck.source.rules.base import RuleContext, SourceFinding, SourceRule
from bncheck.source.rules.bn001_update_not_run import UpdateNotRunSource
from bncheck.source.rules.bn002_batch_stats_at_inference import BatchStatsAtInferenceSource
from bncheck.source.rules.bn004_training_flag_defaults_true import TrainingFlagDefaultsTrueSource
from bncheck.source.rules.bn007_momentum_out_of_range import MomentumOutOfRangeSource
from bncheck.source.rules.bn008_training_hardcoded_in_model import TrainingHardcodedInModelSource
from bncheck.source.rules.bn009_bn_frozen_in_train_step import BnFrozenInTrainStepSource
from bncheck.source.rules.bn010_bias_before_bn import BiasBeforeBnSource
from bncheck.source.rules.bn011_dropout_before_bn import DropoutBeforeBnSource

SOURCE_RULES: tuple[type[SourceRule], ...] = (
    UpdateNotRunSource,
    BatchStatsAtInferenceSource,
    TrainingFlagDefaultsTrueSource,
    MomentumOutOfRangeSource,
    TrainingHardcodedInModelSource,
    BnFrozenInTrainStepSource,
    BiasBeforeBnSource,
    DropoutBeforeBnSource,
)


def selected(select: Sequence[str] | None, ignore: Sequence[str] | None) -> list[type[SourceRule]]:
    """The source rules ``select``/``ignore`` choose (see :func:`bncheck.catalogue.is_selected`)."""
    return catalogue.selected(SOURCE_RULES, select, ignore)


__all__ = ["SOURCE_RULES", "RuleContext", "SourceFinding", "SourceRule", "selected"]
