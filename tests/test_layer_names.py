"""Layers that end up with the same name: one layer when the extra groups own no variables, separate
layers (told apart by their ops' scope) when each owns moving variables of its own."""
from __future__ import annotations

from bncheck.graph.batchnorm import BnLayer, BnOp, _merge_same_name


def _layer(name: str, node: str, variables: tuple[str, ...] = ()) -> BnLayer:
    return BnLayer(name, ops=[BnOp(node, "moving", False)], variables=list(variables))


def test_groups_without_variables_join_the_layer_that_has_them() -> None:
    merged = _merge_same_name([_layer("m/bn", "m/bn/FusedBatchNormV3", ("m/bn/moving_mean",)),
                               _layer("m/bn", "m/bn/cond/FusedBatchNormV3_1")])
    assert [(l.name, len(l.ops), l.variables) for l in merged] == [("m/bn", 2, ["m/bn/moving_mean"])]


def test_groups_with_only_constants_are_one_layer() -> None:  # a frozen graph
    merged = _merge_same_name([_layer("m/bn", "m/bn/FusedBatchNormV3"), _layer("m/bn", "m/bn/FusedBatchNormV3_1")])
    assert [(l.name, len(l.ops)) for l in merged] == [("m/bn", 2)]


def test_groups_owning_variables_stay_apart_named_by_the_innermost_differing_scope() -> None:
    merged = _merge_same_name([
        _layer("classifier", "StatefulPartitionedCall/classifier_1/batch_normalization_1_2/batchnorm/Rsqrt",
               ("classifier/moving_mean_unbound_1",)),
        _layer("classifier", "StatefulPartitionedCall/classifier_1/batch_normalization_1/batchnorm/Rsqrt",
               ("classifier/moving_mean",)),
        _layer("other", "other/FusedBatchNormV3", ("other/moving_mean",)),
    ])
    assert [(l.name, l.variables) for l in merged] == [
        ("classifier (batch_normalization_1)", ["classifier/moving_mean"]),
        ("classifier (batch_normalization_1_2)", ["classifier/moving_mean_unbound_1"]),
        ("other", ["other/moving_mean"]),
    ]


def test_same_innermost_scope_falls_back_to_the_whole_scope_then_to_order() -> None:
    by_path = _merge_same_name([_layer("m", "PartitionedCall/a/bn/FusedBatchNormV3", ("m/moving_mean",)),
                                _layer("m", "PartitionedCall/b/bn/FusedBatchNormV3", ("m/moving_mean_1",))])
    assert sorted(l.name for l in by_path) == ["m (a/bn)", "m (b/bn)"]
    by_order = _merge_same_name([_layer("m", "StatefulPartitionedCall/FusedBatchNormV3", ("m/moving_mean",)),
                                 _layer("m", "StatefulPartitionedCall_1/FusedBatchNormV3", ("m/moving_mean_1",))])
    assert sorted(l.name for l in by_order) == ["m (1)", "m (2)"]
