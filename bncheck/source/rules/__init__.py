"""Source rules, one module per code; the same codes and fixes as the artefact rules where the
meaning is the same. BN010 and BN011 exist only on source."""
from __future__ import annotations

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


def source_only(code: str) -> type[SourceRule] | None:
    """A rule that exists only in source mode (BN010, BN011), by code."""
    from bncheck.rules import RULES

    graph_codes = {r.code for r in RULES}
    return next((r for r in SOURCE_RULES if r.code == code.upper() and r.code not in graph_codes), None)


SOURCE_ONLY_CODES = ("BN010", "BN011")


def selected(select: list[str] | tuple[str, ...] | None, ignore: list[str] | tuple[str, ...] | None) -> list[type[SourceRule]]:
    sel = [s.upper() for s in select or ()]
    ign = [s.upper() for s in ignore or ()]
    return [r for r in SOURCE_RULES
            if (not sel or any(r.code.startswith(p) or p == "ALL" for p in sel)) and not any(r.code.startswith(p) for p in ign)]


__all__ = ["SOURCE_ONLY_CODES", "SOURCE_RULES", "RuleContext", "SourceFinding", "SourceRule", "selected", "source_only"]
