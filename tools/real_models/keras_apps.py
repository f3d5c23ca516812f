"""Keras applications (not written for bncheck) saved the ways users save them; each writes
NAME.bn.json with its BN layer names.

    python tools/real_models/keras_apps.py OUT [NAME ...]              # Keras 3
    python tools/real_models/keras_apps.py OUT --tf-keras [NAME ...]   # tf-keras
    python tools/real_models/verdicts.py OUT     # prints OK/BAD per artefact

Keras 3: ``model.export``, a serving tf.function with training=True, ``.keras``.
tf-keras: ``tf.saved_model.save``, a serving tf.function with training=True, ``.h5``.
Both: ``_frozen.pb``, ``model(x, training=False)`` frozen by ``convert_variables_to_constants_v2``.
"""
import os, sys, json
TF_KERAS = "--tf-keras" in sys.argv
ARGS = [a for a in sys.argv[1:] if a != "--tf-keras"]
os.environ["TF_USE_LEGACY_KERAS"] = "1" if TF_KERAS else "0"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
if TF_KERAS:
    import tf_keras as keras
else:
    import keras

SIZES = {"InceptionV3": 75, "Xception": 71}  # the smallest input each accepts; 32 for the others
DEFAULT = (["MobileNetV2", "ResNet50", "DenseNet121", "EfficientNetB0"] if TF_KERAS else
           ["DenseNet121", "EfficientNetB0", "ResNet50V2", "MobileNetV3Small", "NASNetMobile", "ConvNeXtTiny",
            "InceptionV3", "Xception"])
out, names = ARGS[0], ARGS[1:] or DEFAULT

for name in names:
    side = SIZES.get(name, 32)
    m = getattr(keras.applications, name)(input_shape=(side, side, 3), weights=None, classes=2)
    bn = [l.name for l in m.layers if isinstance(l, keras.layers.BatchNormalization)]
    spec = tf.TensorSpec([None, side, side, 3], tf.float32)
    if TF_KERAS:
        tf.saved_model.save(m, f"{out}/{name}_saved")
        m.save(f"{out}/{name}.h5")
    else:
        m.export(f"{out}/{name}_export", verbose=False)
        m.save(f"{out}/{name}.keras")
    mod = tf.Module(); mod.model = m
    mod.serve = tf.function(lambda x: m(x, training=True), input_signature=[spec])
    try:
        tf.saved_model.save(mod, f"{out}/{name}_serving_training_true", signatures={"serving_default": mod.serve})
    except Exception as e:
        print(name, "serving_training_true not exportable:", str(e)[:80])
    # frozen for serving, as TFLite / TF-TRT conversions start (variables become constants)
    infer = tf.function(lambda x: m(x, training=False), input_signature=[spec], autograph=False)
    frozen = convert_variables_to_constants_v2(infer.get_concrete_function())
    open(f"{out}/{name}_frozen.pb", "wb").write(frozen.graph.as_graph_def().SerializeToString())
    json.dump(bn, open(f"{out}/{name}.bn.json", "w"))
    print(name, len(bn), flush=True)
