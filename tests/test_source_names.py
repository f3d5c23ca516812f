"""Name resolution on source: every import style names the same API; shadowed or look-alike names do not."""
from __future__ import annotations

import textwrap

import pytest

from bncheck.source import check_files


def _check(tmp_path, code: str, name: str = "m.py"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(textwrap.dedent(code).lstrip())
    return sorted((f.code, f.loc.line, f.layer) for f in check_files([str(path)]).findings)


BN007_STYLES = {
    "tf.compat.v1.layers": ("import tensorflow as tf\n"
                            "h = tf.compat.v1.layers.batch_normalization(x, momentum=0.1, training=True, name='bn')\n", "bn"),
    "compat.v1 as tf": ("import tensorflow.compat.v1 as tf\n"
                        "h = tf.layers.batch_normalization(x, momentum=0.1, name='bn')\n", "bn"),
    "tf.layers": ("import tensorflow as tf\nh = tf.layers.batch_normalization(x, momentum=0.1, name='bn')\n", "bn"),
    "contrib slim": ("from tensorflow.contrib import slim\nh = slim.batch_norm(x, decay=0.1, scope='bn')\n", "bn"),
    "tf_slim": ("import tf_slim as slim\nh = slim.batch_norm(x, decay=0.1, scope='bn')\n", "bn"),
    "tf.contrib.layers": ("import tensorflow as tf\nh = tf.contrib.layers.batch_norm(x, decay=0.1, scope='bn')\n", "bn"),
    "from contrib.layers import as": ("from tensorflow.contrib.layers import batch_norm as bn\n"
                                      "h = bn(x, decay=0.1, scope='bn')\n", "bn"),
    "tf.keras.layers": ("import tensorflow as tf\nbn = tf.keras.layers.BatchNormalization(momentum=0.1, name='bn')\n",
                        "bn"),
    "keras.layers": ("import keras\nbn = keras.layers.BatchNormalization(momentum=0.1, name='bn')\n", "bn"),
    "from keras import layers": ("from keras import layers\nbn = layers.BatchNormalization(momentum=0.1, name='bn')\n",
                                 "bn"),
    "from tf.keras.layers import as": ("from tensorflow.keras.layers import BatchNormalization as BN\n"
                                       "bn = BN(momentum=0.1, name='bn')\n", "bn"),
    "tf_keras": ("import tf_keras\nbn = tf_keras.layers.BatchNormalization(momentum=0.1, name='bn')\n", "bn"),
    "module alias": ("import tensorflow as tf\nv1 = tf.compat.v1\nL = v1.layers\n"
                     "h = L.batch_normalization(x, momentum=0.1, name='bn')\n", "bn"),
}


@pytest.mark.parametrize("style", sorted(BN007_STYLES))
def test_every_import_style_resolves(tmp_path, style: str) -> None:  # type: ignore[no-untyped-def]
    code, layer = BN007_STYLES[style]
    line = code.count("\n")
    assert _check(tmp_path, code) == [("BN007", line, layer)]


NOT_BATCH_NORM = {
    "parameter shadows tf": """
        import tensorflow as tf
        def f(tf, x):
            return tf.layers.batch_normalization(x, momentum=0.1)
        """,
    "own class named BatchNormalization": """
        class BatchNormalization:
            def __init__(self, momentum):
                self.momentum = momentum
        bn = BatchNormalization(momentum=0.1)
        """,
    "optimizer momentum": """
        import tensorflow as tf
        opt = tf.compat.v1.train.MomentumOptimizer(0.1, momentum=0.1)
        """,
    "torch momentum": """
        import torch
        bn = torch.nn.BatchNorm2d(16, momentum=0.1)
        """,
    "momentum from an unknown place": """
        import tensorflow as tf
        import config
        bn = tf.keras.layers.BatchNormalization(momentum=config.MOMENTUM)
        """,
}


@pytest.mark.parametrize("case", sorted(NOT_BATCH_NORM))
def test_look_alikes_are_silent(tmp_path, case: str) -> None:  # type: ignore[no-untyped-def]
    assert _check(tmp_path, NOT_BATCH_NORM[case]) == []


UNSURE_IS_SILENT = {
    "deps from a parameter": """
        import tensorflow as tf
        def make_train_op(loss, deps):
            with tf.control_dependencies(deps):
                return tf.compat.v1.train.AdamOptimizer().minimize(loss)
        def model(x):
            return tf.compat.v1.layers.batch_normalization(x, training=True, name="bn")
        def main(x, deps):
            loss = tf.reduce_mean(model(x))
            return make_train_op(loss, deps)
        """,
    "tf.group of minimize and update ops": """
        import tensorflow.compat.v1 as tf
        def model_fn(features, labels, mode):
            h = tf.layers.batch_normalization(features, training=mode == "train", name="bn")
            loss = tf.reduce_mean(h)
            minimize_op = tf.train.AdamOptimizer().minimize(loss)
            update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
            train_op = tf.group(minimize_op, update_ops)
            return train_op
        """,
    "inference-mode layers only": """
        import tensorflow.compat.v1 as tf
        x = tf.placeholder(tf.float32, [None, 4])
        h = tf.layers.batch_normalization(x, training=False, name="bn")
        train_op = tf.train.AdamOptimizer().minimize(tf.reduce_mean(h))
        """,
    "tf2 keras loop with training=True": """
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.layers.Dense(4, use_bias=False), tf.keras.layers.BatchNormalization()])
        opt = tf.keras.optimizers.Adam()
        def step(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(model(x, training=True))
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        """,
    "fine-tuning a frozen base with training=False": """
        import keras
        base = keras.applications.MobileNetV2(include_top=False)
        base.trainable = False
        inputs = keras.Input((224, 224, 3))
        outputs = keras.layers.Dense(2)(base(inputs, training=False))
        model = keras.Model(inputs, outputs)
        opt = keras.optimizers.Adam()
        import tensorflow as tf
        def step(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(model(x))
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        """,
    "model loaded from a file": """
        import tensorflow as tf
        model = tf.keras.models.load_model("m.keras")
        opt = tf.keras.optimizers.Adam()
        def step(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(model(x))
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        """,
    "slim with in-place updates via arg_scope": """
        import tensorflow as tf
        import tf_slim as slim
        def net(x):
            with slim.arg_scope([slim.batch_norm], updates_collections=None, is_training=True):
                return slim.conv2d(x, 4, 3, normalizer_fn=slim.batch_norm, scope="conv1")
        loss = tf.reduce_mean(net(tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 3])))
        train_op = tf.compat.v1.train.AdamOptimizer().minimize(loss)
        """,
}


@pytest.mark.parametrize("case", sorted(UNSURE_IS_SILENT))
def test_unsure_is_silent(tmp_path, case: str) -> None:  # type: ignore[no-untyped-def]
    assert _check(tmp_path, UNSURE_IS_SILENT[case]) == []


def test_unsure_says_why_in_a_note(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _check(tmp_path, UNSURE_IS_SILENT["deps from a parameter"])
    notes = check_files([str(tmp_path / "m.py")]).notes
    assert notes == [(f"{tmp_path / 'm.py'}:4", "BN001 not judged for bn: the train op may run its update ops "
                                                "through something bncheck cannot follow (a control dependency, "
                                                "a tf.group, or a loss computed under control_dependencies)")]


def test_estimator_model_fn_without_updates_is_found(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = """
        import tensorflow.compat.v1 as tf
        def model_fn(features, labels, mode, params):
            is_training = mode == tf.estimator.ModeKeys.TRAIN
            h = tf.layers.batch_normalization(features, training=is_training, name="bn")
            loss = tf.losses.mean_squared_error(labels, tf.layers.dense(h, 1))
            train_op = tf.train.AdamOptimizer().minimize(loss, global_step=tf.train.get_global_step())
            return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
        estimator = tf.estimator.Estimator(model_fn=model_fn)
        """
    assert _check(tmp_path, code) == [("BN001", 6, "bn")]


def test_helper_in_another_file_wires_the_updates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "ops.py").write_text(textwrap.dedent("""
        import tensorflow.compat.v1 as tf
        def wired_minimize(optimizer, loss):
            with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
                return optimizer.minimize(loss)
        def bare_minimize(optimizer, loss):
            return optimizer.minimize(loss)
        """))
    (tmp_path / "train.py").write_text(textwrap.dedent("""
        import tensorflow.compat.v1 as tf
        from pkg.ops import wired_minimize, bare_minimize
        def main(wired):
            x = tf.placeholder(tf.float32, [None, 4])
            loss = tf.reduce_mean(tf.layers.batch_normalization(x, training=True, name="bn"))
            opt = tf.train.AdamOptimizer()
            return wired_minimize(opt, loss) if wired else None
        if __name__ == "__main__":
            main(True)
        """))
    paths = [str(tmp_path / "train.py"), str(tmp_path / "pkg" / "ops.py"), str(tmp_path / "pkg" / "__init__.py")]
    assert check_files(paths).findings == []
    (tmp_path / "train.py").write_text((tmp_path / "train.py").read_text().replace(
        "return wired_minimize(opt, loss) if wired else None", "return bare_minimize(opt, loss)"))
    found = [(f.code, f.loc.path.rsplit("/", 1)[-1], f.loc.line) for f in check_files(paths).findings]
    assert found == [("BN001", "ops.py", 7)]


MORE_SILENT = {
    "distillation teacher called without training": """
        import tensorflow as tf
        teacher = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="t_bn")])
        student = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="s_bn")])
        opt = tf.keras.optimizers.Adam()
        def step(x):
            with tf.GradientTape() as tape:
                soft = teacher(x)
                loss = tf.reduce_mean(student(x, training=True) - soft)
            grads = tape.gradient(loss, student.trainable_variables)
            opt.apply_gradients(zip(grads, student.trainable_variables))
        """,
    "weight EMA that is not a batch norm": """
        import tensorflow.compat.v1 as tf
        def smooth(avg, value, decay=0.1):
            return tf.assign(avg, avg * decay + value * (1 - decay))
        """,
    "keras eager loop in a file that mentions Session() in a comment": """
        # ported from the tf.Session() version
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.layers.BatchNormalization(name="bn")])
        opt = tf.keras.optimizers.Adam()
        def step(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
        """,
}


@pytest.mark.parametrize("case", sorted(MORE_SILENT))
def test_more_unsure_cases_are_silent(tmp_path, case: str) -> None:  # type: ignore[no-untyped-def]
    assert _check(tmp_path, MORE_SILENT[case]) == []


def test_nested_models_with_training_fixed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = """
        import keras
        from keras import layers
        def build():
            base = keras.applications.MobileNetV2(include_top=False, weights=None)
            inputs = keras.Input((224, 224, 3))
            x = base(inputs, training=True)
            return keras.Model(inputs, layers.Dense(2)(layers.GlobalAveragePooling2D()(x)))
        class Head(keras.Model):
            def __init__(self):
                super().__init__()
                self.backbone = keras.applications.ResNet50(include_top=False, weights=None)
            def call(self, x, training=None):
                return self.backbone(x, training=True)
        class Plain(keras.Model):
            def __init__(self):
                super().__init__()
                self.backbone = keras.applications.VGG16(include_top=False, weights=None)
            def call(self, x, training=None):
                return self.backbone(x, training=True)
        """
    assert _check(tmp_path, code) == [("BN008", 6, "MobileNetV2 batch norms"), ("BN008", 13, "ResNet50 batch norms")]


def test_loss_computed_after_the_update_ops_is_not_reported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = """
        import tensorflow.compat.v1 as tf
        tf.disable_eager_execution()
        x = tf.placeholder(tf.float32, [None, 4])
        h = tf.layers.batch_normalization(x, training=True, name="bn")
        loss = tf.reduce_mean(tf.layers.dense(h, 1, name="head"))
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            loss = tf.identity(loss)
        with tf.control_dependencies([tf.train.AdamOptimizer().minimize(loss)]):
            train_op = tf.identity(loss, name="train_op")
        """
    assert _check(tmp_path, code) == []


def test_absolute_imports_resolve_when_the_scan_starts_inside_the_package(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "utils.py").write_text(textwrap.dedent("""
        import tensorflow.compat.v1 as tf
        def batch_norm_updates():
            return tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        """))
    (pkg / "train.py").write_text(textwrap.dedent("""
        import tensorflow.compat.v1 as tf
        from mypkg.utils import batch_norm_updates
        def main():
            x = tf.placeholder(tf.float32, [None, 4])
            update_ops = batch_norm_updates()
            loss = tf.reduce_mean(tf.layers.batch_normalization(x, training=True, name="bn"))
            with tf.control_dependencies(update_ops):
                return tf.train.AdamOptimizer().minimize(loss)
        """))
    found = check_files([str(pkg / "train.py"), str(pkg / "utils.py")]).findings
    assert [(f.code, f.loc.path.rsplit("/", 1)[-1], f.loc.line, f.layer) for f in found] == [
        ("BN001", "train.py", 8, "bn")]
