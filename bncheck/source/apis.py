"""The TensorFlow/Keras names source mode recognises, after aliases are resolved.

Every dotted name is first made canonical (:func:`canonical`): ``tf.compat.v1.layers`` and
``tf.layers`` become ``tensorflow.layers``, ``tf.keras`` / ``tf_keras`` / ``keras`` become
``keras``, and ``tf.contrib.slim`` / ``tf.contrib.layers`` / ``tf_slim`` become ``slim``.
"""
from __future__ import annotations

import functools

_REWRITES: tuple[tuple[str, str], ...] = (
    ("tensorflow.compat.v1", "tensorflow"),
    ("tensorflow.compat.v2", "tensorflow"),
    ("tensorflow.python.keras", "keras"),
    ("tensorflow.keras", "keras"),
    ("tf_keras", "keras"),
    ("keras.api", "keras"),
    ("keras.src", "keras"),
    ("tensorflow.contrib.slim.python.slim", "slim"),
    ("tensorflow.contrib.slim", "slim"),
    ("tensorflow.contrib.layers.python.layers.layers", "slim"),
    ("tensorflow.contrib.layers.python.layers", "slim"),  # `from tensorflow.contrib.layers.python import layers`
    ("tensorflow.contrib.layers", "slim"),
    ("tensorflow.contrib.framework", "slim"),
    ("tf_slim.layers.layers", "slim"),
    ("tf_slim.layers", "slim"),
    ("tf_slim", "slim"),
    ("slim.layers", "slim"),
    ("keras.models.Sequential", "keras.Sequential"),
    ("keras.models.Model", "keras.Model"),
    ("keras.layers.experimental.SyncBatchNormalization", "keras.layers.SyncBatchNormalization"),
    ("keras.layers.normalization.batch_normalization", "keras.layers"),
    ("keras.layers.normalization", "keras.layers"),
    ("keras.layers.convolutional", "keras.layers"),  # Keras 2's submodules: keras.layers.convolutional.Conv2D
    ("keras.layers.core", "keras.layers"),
    ("keras.layers.merge", "keras.layers"),
    ("keras.layers.advanced_activations", "keras.layers"),
    ("tensorflow.python.ops.nn", "tensorflow.nn"),
    ("tensorflow.python.training", "tensorflow.train"),
    ("tensorflow.python.framework.graph_util", "tensorflow.graph_util"),
)


@functools.lru_cache(maxsize=4096)
def canonical(qual: str) -> str:
    """``tf.compat.v1.layers.batch_normalization`` -> ``tensorflow.layers.batch_normalization``."""
    for _ in range(len(_REWRITES)):
        for prefix, repl in _REWRITES:
            if (qual == prefix or qual.startswith(prefix + ".")) and prefix != repl:
                qual = repl + qual[len(prefix):]
                break
        else:
            return qual
    return qual


# ---- batch norm constructors ---------------------------------------------------------------
BN_FUNCTIONS = {  # canonical -> (api, training kwarg, default training, momentum kwarg, default momentum, name kwarg)
    "tensorflow.layers.batch_normalization": ("layers", "training", False, "momentum", 0.99, "name"),
    "slim.batch_norm": ("slim", "is_training", True, "decay", 0.999, "scope"),
}
BN_POSITIONAL = {  # positions of (training, momentum) when passed positionally
    "tensorflow.layers.batch_normalization": {"momentum": 2, "training": 10, "name": 13},
    "slim.batch_norm": {"decay": 1, "is_training": 7, "updates_collections": 5, "scope": 12},
}
BN_CLASSES = {
    "keras.layers.BatchNormalization": "keras",
    "keras.layers.SyncBatchNormalization": "keras",
    "tensorflow.layers.BatchNormalization": "layers",
}
SLIM_LAYERS = {  # slim layer functions that take normalizer_fn -> default scope
    "slim.conv2d": "Conv",
    "slim.convolution2d": "Conv",
    "slim.convolution": "Conv",
    "slim.conv2d_transpose": "Conv2d_transpose",
    "slim.convolution2d_transpose": "Conv2d_transpose",
    "slim.separable_conv2d": "SeparableConv2d",
    "slim.fully_connected": "fully_connected",
}
BIAS_LAYER_CLASSES = {
    "keras.layers.Conv1D", "keras.layers.Conv2D", "keras.layers.Conv3D", "keras.layers.Convolution2D",
    "keras.layers.Conv2DTranspose", "keras.layers.Conv3DTranspose", "keras.layers.SeparableConv2D",
    "keras.layers.DepthwiseConv2D", "keras.layers.Dense",
}
BIAS_LAYER_FUNCTIONS = {
    "tensorflow.layers.conv1d", "tensorflow.layers.conv2d", "tensorflow.layers.conv3d",
    "tensorflow.layers.conv2d_transpose", "tensorflow.layers.separable_conv2d", "tensorflow.layers.dense",
}
DROPOUT_CLASSES = {
    "keras.layers.Dropout", "keras.layers.SpatialDropout1D", "keras.layers.SpatialDropout2D",
    "keras.layers.SpatialDropout3D", "keras.layers.AlphaDropout", "keras.layers.GaussianDropout",
}
DROPOUT_FUNCTIONS = {"tensorflow.layers.dropout", "tensorflow.nn.dropout", "slim.dropout"}
# raw ops: linear maps whose output a bias is added to (tf.nn.bias_add, `+ b`) before batch norm
RAW_LINEAR_OPS = {
    "tensorflow.nn.conv1d", "tensorflow.nn.conv2d", "tensorflow.nn.conv3d", "tensorflow.nn.convolution",
    "tensorflow.nn.conv2d_transpose", "tensorflow.nn.conv3d_transpose", "tensorflow.nn.depthwise_conv2d",
    "tensorflow.nn.separable_conv2d", "tensorflow.nn.atrous_conv2d", "tensorflow.matmul", "tensorflow.linalg.matmul",
}
RAW_BIAS_ADD = {"tensorflow.nn.bias_add"}
# ops whose output is their input as it is, producer kept (reshape: only to a tensor's own shape)
SAME_TENSOR = {"tensorflow.identity", "tensorflow.reshape"}
IDENTITY_ACTIVATIONS = {"tensorflow.identity", "keras.activations.linear"}
RAW_ADD = {"tensorflow.add", "tensorflow.math.add"}
VARIABLES = {"tensorflow.get_variable", "tensorflow.Variable", "slim.variable", "slim.model_variable"}
SEQUENTIAL = {"keras.Sequential"}
FUNCTIONAL = {"keras.Model"}
# keras.applications without batch norm
APPLICATIONS_WITHOUT_BN = {"VGG16", "VGG19", "vgg16", "vgg19"}

# ---- collections, train ops, exports -----------------------------------------------------------
GET_COLLECTION = {"tensorflow.get_collection", "tensorflow.get_collection_ref"}
ADD_TO_COLLECTION = {"tensorflow.add_to_collection", "tensorflow.add_to_collections"}
UPDATE_OPS_NAMES = {"tensorflow.GraphKeys.UPDATE_OPS", "slim.GraphKeys.UPDATE_OPS", "tensorflow.ops.GraphKeys.UPDATE_OPS"}
CONTROL_DEPENDENCIES = {"tensorflow.control_dependencies", "tensorflow.Graph.control_dependencies"}
VARIABLE_SCOPES = {"tensorflow.variable_scope", "slim.variable_scope"}
ARG_SCOPE = {"slim.arg_scope"}
GROUP = {"tensorflow.group", "tensorflow.tuple"}
WIRED_TRAIN_OPS = {  # build a train op that runs UPDATE_OPS themselves
    "slim.learning.create_train_op", "slim.learning.train", "slim.optimize_loss",
    "slim.training.create_train_op", "slim.create_train_op",
}
TRAIN_METHODS = {"minimize", "apply_gradients"}
PLACEHOLDER_WITH_DEFAULT = {"tensorflow.placeholder_with_default"}
ASSIGN_FUNCTIONS = {"tensorflow.assign"}
SET_LEARNING_PHASE = {"keras.backend.set_learning_phase"}
SAVERS = {"tensorflow.train.Saver"}
INITIALIZERS = {  # ops that set variables' initial values: running one trains nothing
    "tensorflow.global_variables_initializer", "tensorflow.initialize_all_variables",
    "tensorflow.local_variables_initializer", "tensorflow.initialize_local_variables",
    "tensorflow.variables_initializer", "tensorflow.tables_initializer",
}
GRAPH_EXPORTS = {
    "tensorflow.saved_model.simple_save", "tensorflow.graph_util.convert_variables_to_constants",
    "tensorflow.io.write_graph", "tensorflow.train.write_graph", "tensorflow.train.export_meta_graph",
    "tensorflow.saved_model.builder.SavedModelBuilder", "tensorflow.saved_model.Builder",
}
TF2_EXPORTS = {"tensorflow.saved_model.save", "keras.models.save_model", "keras.saving.save_model"}
MODEL_EXPORT_METHODS = {"save", "export", "predict", "predict_on_batch", "save_weights"}
TF_FUNCTION = {"tensorflow.function"}
COND = {"tensorflow.cond"}  # both branch functions are traced into the graph
GRADIENT_TAPE = {"tensorflow.GradientTape", "tensorflow.contrib.eager.GradientTape"}
# `model.<attr>` read in a step that applies gradients: the model is the one being trained
# (`variables`: TF1 eager code passes model.variables to tape.gradient and apply_gradients)
TRAINED_ATTRS = ("trainable_variables", "trainable_weights", "variables", "weights")
GRAPH_MODE_SWITCHES = ("disable_eager_execution", "disable_v2_behavior", "Session(", "Graph().as_default(")
SERVING_NAMES = {"serve", "serving", "serving_fn", "serve_fn", "serving_default", "predict", "predict_fn",
                 "infer", "inference", "inference_fn", "call_serving"}

# words one of which a file must contain to be worth parsing (a cheap text filter)
RELEVANT_WORDS = ("batch_norm", "BatchNorm", "minimize", "apply_gradients", "UPDATE_OPS", "update_ops",
                  "training=", "is_training", "momentum", "decay", "placeholder_with_default",
                  "set_learning_phase", "GradientTape", "train_step", "Dropout", "dropout",
                  "conv1d", "conv2d", "conv3d", "convolution", "Conv1D", "Conv2D", "Conv3D",
                  "dense", "Dense", "fully_connected", "bias_add", "matmul",  # BN010: biases from helpers
                  "restore", "write_graph", "export_meta_graph",  # BN002: inference scripts and graph exports
                  "bncheck:")
# a top-level function or class is parsed when it mentions one of these (suppression comments alone do not count)
CHUNK_WORDS = tuple(w for w in RELEVANT_WORDS if w != "bncheck:")

