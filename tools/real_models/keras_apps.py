"""Keras applications (not written for bncheck) exported three ways: model.export, a serving
tf.function with training=True, and .keras; each writes NAME.bn.json with its BN layer names.

    python tools/real_models/keras_apps.py OUT [NAME ...]
    python tools/real_models/verdicts.py OUT     # prints OK/BAD per artefact
"""
import os, sys, json
os.environ["TF_USE_LEGACY_KERAS"] = "0"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf, keras
out = sys.argv[1]
apps = {
 "DenseNet121": lambda: keras.applications.DenseNet121(input_shape=(32,32,3), weights=None, classes=2),
 "EfficientNetB0": lambda: keras.applications.EfficientNetB0(input_shape=(32,32,3), weights=None, classes=2),
 "ResNet50V2": lambda: keras.applications.ResNet50V2(input_shape=(32,32,3), weights=None, classes=2),
 "MobileNetV3Small": lambda: keras.applications.MobileNetV3Small(input_shape=(32,32,3), weights=None, classes=2),
 "NASNetMobile": lambda: keras.applications.NASNetMobile(input_shape=(32,32,3), weights=None, classes=2),
 "ConvNeXtTiny": lambda: keras.applications.ConvNeXtTiny(input_shape=(32,32,3), weights=None, classes=2),
 "InceptionV3": lambda: keras.applications.InceptionV3(input_shape=(75,75,3), weights=None, classes=2),
 "Xception": lambda: keras.applications.Xception(input_shape=(71,71,3), weights=None, classes=2),
}
for name, make in apps.items():
    if len(sys.argv) > 2 and name not in sys.argv[2:]:
        continue
    m = make()
    bn = [l.name for l in m.layers if isinstance(l, keras.layers.BatchNormalization)]
    spec = tf.TensorSpec([None] + list(m.input_shape[1:]), tf.float32)
    m.export(f"{out}/{name}_export", verbose=False)
    mod = tf.Module(); mod.model = m
    mod.serve = tf.function(lambda x: m(x, training=True), input_signature=[spec])
    try:
        tf.saved_model.save(mod, f"{out}/{name}_serving_training_true", signatures={"serving_default": mod.serve})
    except Exception as e:
        print(name, "serving_training_true not exportable:", str(e)[:80])
    m.save(f"{out}/{name}.keras")
    json.dump(bn, open(f"{out}/{name}.bn.json", "w"))
    print(name, len(bn), flush=True)
