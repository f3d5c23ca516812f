"""BN001 update-not-run."""
from __future__ import annotations

from typing import Iterator

from bncheck.findings import Finding
from bncheck.rules import fixes
from bncheck.rules.base import Example, Rule
from bncheck.rules.context import Context


class UpdateNotRun(Rule):
    """A training-mode batch norm has moving-average update ops, but the train op never runs them.

    The moving mean and variance stay at their initial 0 and 1 while gamma and beta train, so the
    model looks fine in training and normalises garbage at inference (``training=False``). Judged
    per moving variable: it is covered when any op that updates it runs with the train op, so
    towers or train/eval copies sharing one set of variables are judged on the shared variables.
    The train op is the one you name (``--train-op``), else the MetaGraph's ``train_op``
    collection, else the fetch roots that run optimizer ``Apply*`` ops. A graph without a train op
    is not a training graph, and this rule says nothing about it.
    """

    code = "BN001"
    invalid = (
        Example("tf1/layers_resource_update_ops_too_early.meta", ("model/bn1", "model/bn2")),
        Example("tf1/layers_ref_no_control_deps.meta", ("model/bn1", "model/bn2")),
        Example("tf1/slim_minimize_without_updates.meta", ("net/conv1/BatchNorm", "net/conv2/BatchNorm")),
        Example("tf1/handwritten_decay_1e-5_unwired.meta", ("bn1", "bn2")),
        Example("tf1/layers_checkpoint_no_updates", ("model/bn1", "model/bn2")),
        Example("tf1/keras_graph_mode_without_updates.meta", ("net/bn1",)),
        Example("tf1/layers_cond_v2_flag_no_update_ops.meta", ("model/bn1", "model/bn2")),
        Example("tf1/slim_bare_batch_norms_minimize.meta", ("resnet/BatchNorm", "resnet/BatchNorm_1", "resnet/preact")),
        Example("tf1/maml_second_order.meta", ("maml/norm1", "maml/norm2")),
        Example("tf1/handwritten_pop_stats_checkpoint_unwired", ("bn1", "bn2")),
        Example("tf1/handwritten_checkpoint_only_variance_wired", ("bn1", "bn2")),
        Example("tf1/layers_checkpoint_step_0", ("model/bn1", "model/bn2")),
        Example("tf1/mixed_layers_and_keras_without_updates.meta", ("keras_bn", "layers_bn")),
        Example("tf1/handwritten_ema_cond_unwired.meta", ("bn1", "bn2")),  # ema.apply not a dependency
        Example("tf1/layers_renorm_no_update_ops.meta", ("model/bn1", "model/bn2")),  # renorm=True: 4 updates each
        Example("tf1/layers_virtual_batch_no_update_ops.meta", ("model/bn1", "model/bn2")),  # ghost batch norm
    )
    valid = (
        Example("tf1/layers_resource_update_ops_wired.meta"),
        Example("tf1/layers_checkpoint_with_updates"),
        Example("tf1/layers_ref_update_ops_wired.meta"),
        Example("tf1/slim_updates_collections_none.meta"),
        Example("tf1/slim_create_train_op.meta"),
        Example("tf1/handwritten_decay_1e-5_wired.meta"),
        Example("tf1/handwritten_ema_cond_decay_0.999.meta"),  # run inside the training branch of the cond
        Example("tf1/layers_renorm_wired.meta"),
        Example("tf1/layers_virtual_batch_wired.meta"),
        Example("tf1/layers_towers_first_tower_updates.meta"),
        Example("tf1/layers_train_and_eval_graph.meta"),
        Example("tf1/saved_model_slim_is_training_true"),
        Example("tf1/keras_graph_mode_model_updates.meta"),
        Example("tf1/layers_cond_v2_flag_update_ops_wired.meta"),
        Example("tf1/slim_bare_batch_norms_create_train_op.meta"),
        Example("tf1/dcgan_train.meta"),
        Example("tf1/layers_deep_dense_momentum_wired.meta"),
        Example("tf1/handwritten_pop_stats_checkpoint_wired"),
        Example("tf1/dcgan_sampler_train_true"),
        Example("tf1/layers_two_models_one_trained.meta"),
        Example("tf1/handwritten_assign_add_decay_0.9.meta"),
    )

    def check(self, ctx: Context) -> Iterator[Finding]:
        train_ops, how = ctx.train_ops
        for layer in ctx.layers:
            stale, not_run = ctx.stale_updates(layer)
            if not stale:
                continue
            yield self.finding(
                ctx, layer,
                f"the moving statistics are never updated: the train op does not run {len(not_run)} update op"
                f"{'s' if len(not_run) != 1 else ''} of this layer",
                {
                    "moving variables": stale,
                    "update ops not run": not_run,
                    "train op": list(train_ops),
                    "train op found from": how,
                    "built with": fixes.api_name(layer.api),
                },
                fixes.updates_not_run(layer.api, ctx.in_cond_branch(not_run)),
            )
