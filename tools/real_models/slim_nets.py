"""tf-slim nets (not written for bncheck), saved every way a TF1 project saves them; each artefact
has a NET_MODE.bn.json with the BN layers it holds: the scopes of the ``moving_mean`` variables,
for serving those of the batch-norm ops its outputs need (TensorFlow's ``extract_sub_graph``).

    python tools/real_models/slim_nets.py OUT [NET ...]    # inception_v1|v2|v3, resnet_v1_50, resnet_v2_50
    python tools/real_models/verdicts.py OUT               # prints OK/BAD per artefact

Per net, in one process (one fresh graph each):

The loss adds inception_v3's auxiliary logits (weight 0.4), as tf-slim's train_image_classifier.py does.

- ``_create_train_op.meta``: ``slim.learning.create_train_op`` (runs UPDATE_OPS): clean;
- ``_minimize.meta``: ``optimizer.minimize`` without UPDATE_OPS: BN001 on every BN layer;
- ``_minimize_update_ops.meta``: ``minimize`` under ``tf.control_dependencies(UPDATE_OPS)``: clean;
- ``_infer``: SavedModel with ``is_training=False``: clean;
- ``_infer_training``: SavedModel served with ``is_training=True``: BN002 on every BN layer;
- ``_frozen_infer.pb`` / ``_frozen_training.pb``: the same two, frozen: clean / BN002 on every layer;
- ``_frozen_flag_default_false.pb`` / ``_true.pb``: frozen with ``is_training`` a
  ``placeholder_with_default`` (each layer a cond of two ops): clean / BN002 + BN004 on every layer.
"""
import json, os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "fixtures"))
from builders.tf1 import _freeze, _import_slim, v1, tf
v1.disable_eager_execution()
slim = _import_slim()
from tf_slim.nets import inception_v1, inception_v2, inception_v3, resnet_v1, resnet_v2

NETS = {
    "inception_v1": (inception_v1.inception_v1_arg_scope, inception_v1.inception_v1, 224),  # its final 7x7 pool
    "inception_v2": (inception_v2.inception_v2_arg_scope, inception_v2.inception_v2, 96),
    "inception_v3": (inception_v3.inception_v3_arg_scope, inception_v3.inception_v3, 107),
    "resnet_v1_50": (resnet_v1.resnet_arg_scope, resnet_v1.resnet_v1_50, 96),
    "resnet_v2_50": (resnet_v2.resnet_arg_scope, resnet_v2.resnet_v2_50, 96),
}
MODES = ("create_train_op", "minimize", "minimize_update_ops", "infer", "infer_training", "frozen_infer",
         "frozen_training", "frozen_flag_default_false", "frozen_flag_default_true")


def build(which: str, training):
    """``training``: a bool, or a ``placeholder_with_default`` flag (tf-slim then conds each layer)."""
    arg_scope, net, side = NETS[which]
    x = v1.placeholder(tf.float32, [None, side, side, 3], name="images")
    with slim.arg_scope(arg_scope()):
        if which.startswith("resnet"):
            logits, ends = net(x, num_classes=2, is_training=training, global_pool=True)
            logits = tf.squeeze(logits, [1, 2])
        else:
            logits, ends = net(x, num_classes=2, is_training=training)
    return x, tf.identity(logits, name="logits_out"), ends.get("AuxLogits")


def save(out: str, which: str, mode: str) -> list[str]:
    with tf.Graph().as_default():
        if mode.startswith("frozen_flag"):
            training = v1.placeholder_with_default(mode.endswith("true"), [], name="is_training")
        else:
            training = mode not in ("infer", "frozen_infer")
        x, logits, aux_logits = build(which, training=training)
        bn = sorted(v.op.name.rpartition("/")[0] for v in v1.global_variables()
                    if v.op.name.endswith("/moving_mean"))
        if mode.startswith(("infer", "frozen")):
            # the layers serving runs: inception_v3's auxiliary head is a training-only branch
            # (named by the beta variable each FusedBatchNorm op it runs reads: in training mode they read
            # no moving average, and inception's op scopes repeat the net's name)
            served = v1.graph_util.extract_sub_graph(v1.get_default_graph().as_graph_def(), ["logits_out"])
            by_name = {n.name: n for n in served.node}

            def variable(text):
                node = by_name[text.partition(":")[0]]
                return variable(node.input[0]) if node.op in ("Identity", "ReadVariableOp") else node.name

            bn = sorted({variable(n.input[2]).rpartition("/")[0] for n in served.node
                         if n.op.startswith("FusedBatchNorm")})
            with v1.Session() as sess:
                sess.run(v1.global_variables_initializer())
                if mode.startswith("infer"):
                    v1.saved_model.simple_save(sess, f"{out}/{which}_{mode}", {"images": x}, {"logits": logits})
                else:
                    with open(f"{out}/{which}_{mode}.pb", "wb") as f:
                        f.write(_freeze(sess, ["logits_out"]).SerializeToString())
            return bn
        y = v1.placeholder(tf.int32, [None], name="labels")
        v1.losses.sparse_softmax_cross_entropy(y, logits)
        if aux_logits is not None:  # as tf-slim's train_image_classifier.py trains inception_v3
            v1.losses.sparse_softmax_cross_entropy(y, aux_logits, weights=0.4)
        loss = v1.losses.get_total_loss()
        optimizer = v1.train.MomentumOptimizer(0.1, 0.9)
        if mode == "create_train_op":
            slim.learning.create_train_op(loss, optimizer)
        elif mode == "minimize":
            optimizer.minimize(loss)
        else:
            with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
                optimizer.minimize(loss)
        v1.train.export_meta_graph(filename=f"{out}/{which}_{mode}.meta")
        return bn


if __name__ == "__main__":
    out, names = sys.argv[1], sys.argv[2:] or list(NETS)
    os.makedirs(out, exist_ok=True)
    for which in names:
        held = {mode: save(out, which, mode) for mode in MODES}
        for mode in ("frozen_flag_default_false", "frozen_flag_default_true"):
            # the layers' ops are in the bodies of the conds' If functions, where extract_sub_graph
            # does not look: serving runs what it runs without the flag
            held[mode] = held["frozen_infer"]
        for mode, layers in held.items():
            with open(f"{out}/{which}_{mode}.bn.json", "w") as f:
                json.dump(layers, f)
        print(which, "ok")
