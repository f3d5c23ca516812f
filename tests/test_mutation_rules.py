"""Exact findings of the rules of the analysis core on real artefacts changed at test time (surviving
mutants of ``tools/mutation.py --core`` in the rules): the graph of a real TF1 checkpoint fixture is
edited the way a user's code could have built it, the checkpoint's values are kept.
"""
from __future__ import annotations

import shutil

import bncheck
from bncheck.protos import message_class
from conftest import FIXTURES


def test_bn005_names_momenta_of_one_and_more_and_three_train_ops(tmp_path):
    """tf1/layers_checkpoint_two_optimizers_no_updates (20 steps, statistics still 0/1), with bn1's
    updates written at momentum 1.0 (mean) and 1.5 (variance), and a third train op ``train_all``
    running what ``train_head`` runs: bn1's cause is the momentum, bn2's the three train ops."""
    folder = tmp_path / "model"
    shutil.copytree(FIXTURES / "tf1/layers_checkpoint_two_optimizers_no_updates", folder)
    path = folder / "model.ckpt-20.meta"
    meta = message_class("tensorflow.MetaGraphDef").FromString(path.read_bytes())
    nodes = {n.name: n for n in meta.graph_def.node}
    # momentum = 1 - (sub/x - 0.99): sub/x is 1.0 as TF writes it
    for name, value in (("model/bn1/AssignMovingAvg/sub/x", 0.99), ("model/bn1/AssignMovingAvg_1/sub/x", 0.49)):
        tensor = nodes[name].attr["value"].tensor
        assert list(tensor.float_val) == [1.0]
        tensor.float_val[0] = value
    train_all = meta.graph_def.node.add()
    train_all.name, train_all.op = "train_all", "NoOp"
    train_all.input.extend(nodes["train_head"].input)
    meta.collection_def["train_op"].node_list.value.append("train_all")
    path.write_bytes(meta.SerializeToString())
    got = {f.layer: (f.message, f.fix) for f in bncheck.check_path(folder, select=["BN005"])}
    assert got == {
        "model/bn1": ("the moving-average momentum is 1.0, 1.5, so every update keeps the old value (BN007), and "
                      "indeed after 20 steps the moving statistics are still 0/1",
                      "tf.compat.v1.layers.batch_normalization(x, momentum=0.99)  # weight of the old value, not "
                      "of the batch"),
        "model/bn2": ("the update ops are not run by train_all, train_body and train_head (BN001), and indeed after "
                      "20 steps the moving statistics are still 0/1",
                      "# after the whole model is built, before minimize():\n"
                      "update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)\n"
                      "with tf.control_dependencies(update_ops):\n"
                      "    train_op = optimizer.minimize(loss, global_step=global_step)"),
    }
