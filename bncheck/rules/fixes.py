"""Fixes, written for the API that built the layer (``BnLayer.api``)."""
from __future__ import annotations

API_NAMES = {
    "layers": "tf.compat.v1.layers.batch_normalization",
    "keras-graph": "a Keras BatchNormalization layer in graph mode",
    "keras": "a Keras BatchNormalization layer",
    "slim": "tf-slim batch_norm",
    "handwritten": "a hand-written batch norm (tf.nn.moments + assign)",
    "handwritten-ema": "a hand-written batch norm (tf.train.ExponentialMovingAverage)",
    "unknown": "an unrecognised batch-norm implementation",
}

def api_name(api: str) -> str:
    """How a finding names the API that built the layer."""
    return API_NAMES.get(api, api)


_UPDATES_NOT_RUN = {
    "layers": (
        "# after the whole model is built, before minimize():\n"
        "update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)\n"
        "with tf.control_dependencies(update_ops):\n"
        "    train_op = optimizer.minimize(loss, global_step=global_step)"
    ),
    "keras-graph": (
        "# Keras layers keep their updates on the model, not in UPDATE_OPS:\n"
        "with tf.control_dependencies(model.updates):\n"
        "    train_op = optimizer.minimize(loss)"
    ),
    "slim": (
        "train_op = slim.learning.create_train_op(loss, optimizer)  # runs UPDATE_OPS for you\n"
        "# or build the layers with slim.batch_norm(..., updates_collections=None)"
    ),
    "handwritten": (
        "# make the train op depend on the moving-average assignments:\n"
        "with tf.control_dependencies([update_mean, update_var]):\n"
        "    train_op = optimizer.minimize(loss)"
    ),
}
_UPDATES_NOT_RUN["keras"] = (
    "model.fit(...)  # runs BN in training mode and updates the moving statistics\n"
    "# in a custom loop: logits = model(x, training=True) inside the GradientTape"
)
_UPDATES_NOT_RUN["handwritten-ema"] = (
    "# run ema.apply([...]) with the train op:\n"
    "with tf.control_dependencies([ema_apply_op]):\n"
    "    train_op = optimizer.minimize(loss)"
)
_UPDATES_NOT_RUN["unknown"] = _UPDATES_NOT_RUN["handwritten"]

# updates built inside the training branch of a tf.cond: the train op cannot depend on them from
# outside the cond; the branch's outputs must
_UPDATES_IN_BRANCH = {
    "handwritten-ema": (
        "# ema.apply() is built inside the tf.cond training branch: return the branch's statistics under it\n"
        "def training_branch():\n"
        "    ema_apply_op = ema.apply([batch_mean, batch_var])\n"
        "    with tf.control_dependencies([ema_apply_op]):\n"
        "        return tf.identity(batch_mean), tf.identity(batch_var)"
    ),
    "handwritten": (
        "# the assignments are built inside a tf.cond branch: return the branch's statistics under them\n"
        "def training_branch():\n"
        "    ...\n"
        "    with tf.control_dependencies([update_mean, update_var]):\n"
        "        return tf.identity(batch_mean), tf.identity(batch_var)"
    ),
}

_INFERENCE_MODE = {
    "layers": "tf.compat.v1.layers.batch_normalization(x, training=False)  # or feed the training flag as False",
    "keras-graph": "outputs = model(x, training=False)",
    "slim": "slim.batch_norm(x, is_training=False)  # e.g. via arg_scope / resnet_arg_scope, or the net's is_training=False",
    "handwritten": "normalise with the moving averages at inference:\n"
                   "tf.nn.batch_normalization(x, pop_mean, pop_var, beta, scale, epsilon)",
}
_INFERENCE_MODE["handwritten-ema"] = _INFERENCE_MODE["handwritten"]
_INFERENCE_MODE["keras"] = (
    "serve = tf.function(lambda x: model(x, training=False), input_signature=[...])\n"
    "# or model.export(path): Keras serving endpoints run in inference mode"
)
_INFERENCE_MODE["unknown"] = "build the serving graph with training=False / is_training=False"

_MOMENTUM = {
    "layers": "tf.compat.v1.layers.batch_normalization(x, momentum=0.99)  # weight of the old value, not of the batch",
    "keras-graph": "BatchNormalization(momentum=0.99)  # Keras momentum = 1 - PyTorch momentum",
    "slim": "slim.batch_norm(x, decay=0.999)  # weight of the old value",
    "handwritten": "decay = 0.99  # new = decay * moving + (1 - decay) * batch",
}
_MOMENTUM["keras"] = _MOMENTUM["keras-graph"]
_MOMENTUM["handwritten-ema"] = "tf.train.ExponentialMovingAverage(decay=0.99)"
_MOMENTUM["unknown"] = _MOMENTUM["handwritten"]


def updates_not_run(api: str, in_branch: bool = False) -> str:
    """``in_branch``: every update not run is inside a ``tf.cond`` branch."""
    if in_branch and api in _UPDATES_IN_BRANCH:
        return _UPDATES_IN_BRANCH[api]
    return _UPDATES_NOT_RUN.get(api, _UPDATES_NOT_RUN["unknown"])


def inference_mode(api: str) -> str:
    return _INFERENCE_MODE.get(api, _INFERENCE_MODE["unknown"])


def inference_without_updates(api: str) -> str:
    if api == "slim":
        return "slim.batch_norm(x, is_training=False)  # inference mode creates no moving-average updates"
    if api == "keras":
        return inference_mode(api) + "\n# inference mode reads the moving statistics and assigns nothing"
    return inference_mode(api) + "\n# and do not make the outputs depend on the moving-average assignments"


def momentum(api: str) -> str:
    return _MOMENTUM.get(api, _MOMENTUM["unknown"])


def flag_default(flag: str) -> str:
    return (
        f"{flag} = tf.compat.v1.placeholder_with_default(False, [], name={flag.rsplit('/', 1)[-1]!r})\n"
        f"# and feed {{{flag}: True}} in the training loop only"
    )


def training_mode_in_train_step(api: str) -> str:
    if api in ("keras", "keras-graph"):
        return (
            "logits = model(x, training=True)  # in the train step, inside the GradientTape\n"
            "# to freeze BN on purpose instead: layer.trainable = False (since TF 2.0 this also runs it\n"
            "# in inference mode) so gamma/beta are not trained either"
        )
    if api in ("handwritten", "handwritten-ema"):
        return (
            "# in the train step, normalise with the batch statistics and run the moving-average updates:\n"
            "batch_mean, batch_var = tf.nn.moments(x, axes)\n"
            "with tf.control_dependencies([update_mean, update_var]):\n"
            "    y = tf.nn.batch_normalization(x, batch_mean, batch_var, beta, scale, epsilon)"
        )
    if api in _INFERENCE_MODE and api != "unknown":
        return inference_mode(api).replace("False", "True") + "  # in the train step"
    return "run the layer in training mode in the train step (training=True / is_training=True)"


def training_fixed_in_model(flavour: str, calls: tuple[str, ...], layer: str, frozen: bool) -> str:
    """BN008's fix, after the Keras transfer-learning guide: leave the mode to the caller, and call a
    frozen base with ``training=False`` so it stays in inference mode once it is unfrozen."""
    nested = [c.partition("(")[0] for c in calls if not c.startswith(layer + "(")]
    own = len(nested) < len(calls)
    lines = []
    if frozen:
        for callee in nested:
            lines.append(f"x = {callee.rpartition('/')[2]}(x, training=False)  # the transfer-learning guide: "
                         "BN stays in inference mode, also after unfreezing for fine-tuning")
        if own:
            lines.append("x = keras.layers.BatchNormalization()(x, training=False)  # the frozen layer stays in "
                         "inference mode, also after unfreezing for fine-tuning")
        return "\n".join(lines)
    if own:
        lines.append("x = keras.layers.BatchNormalization()(x)  # drop training=True: fit() trains, predict() infers")
    for callee in nested:
        lines.append(f"x = {callee.rpartition('/')[2]}(x)  # drop training=True on the nested model "
                     "(or training=False to keep its BN frozen, as the transfer-learning guide does)")
    if flavour != "tf-keras":
        lines.append("outputs = model(x, training=False)  # wherever the model is called directly at inference")
    return "\n".join(lines)
