"""tf-keras applications (not written for bncheck) saved three ways: .h5, tf.saved_model.save, and a
serving tf.function with training=True; each writes NAME.bn.json with its BN layer names.

    python tools/real_models/tfkeras_apps.py OUT [NAME ...]
    python tools/real_models/verdicts.py OUT     # prints OK/BAD per artefact
"""
import os, sys, json
os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
import tf_keras as keras
out = sys.argv[1]
apps = {
 "MobileNetV2": lambda: keras.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=2),
 "ResNet50": lambda: keras.applications.ResNet50(input_shape=(32, 32, 3), weights=None, classes=2),
 "DenseNet121": lambda: keras.applications.DenseNet121(input_shape=(32, 32, 3), weights=None, classes=2),
 "EfficientNetB0": lambda: keras.applications.EfficientNetB0(input_shape=(32, 32, 3), weights=None, classes=2),
}


class Serving(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32)])
    def serve(self, images):
        return self.model(images, training=True)


for name in sys.argv[2:] or apps:
    model = apps[name]()
    bn = [layer.name for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    json.dump(bn, open(os.path.join(out, f"{name}.bn.json"), "w"))
    model.save(os.path.join(out, f"{name}.h5"))
    tf.saved_model.save(model, os.path.join(out, f"{name}_saved"))
    module = Serving(model)
    tf.saved_model.save(module, os.path.join(out, f"{name}_serving_training_true"),
                        signatures={"serving_default": module.serve})
    print(name, len(bn), flush=True)
