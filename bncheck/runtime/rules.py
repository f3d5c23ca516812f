"""The rule codes the runtime monitor proves, each with the runtime example of the mistake
(``bad``) and its fix (``good``), for the rule catalogue. TF-free: only text."""
from __future__ import annotations

from typing import ClassVar


class RuntimeRule:
    """One code the runtime proves: ``how`` says from what evidence."""

    code: ClassVar[str]
    how: ClassVar[str]
    bad: ClassVar[str]
    good: ClassVar[str]


class UpdateNotRunAtRuntime(RuntimeRule):
    code = "BN001"
    how = ("after N steps of the fetched train op, the moving statistics are bit-identical to their values before "
           "step one while gamma/beta moved, and the graph has update ops for them")
    bad = """
logits = model_fn(images, training=True)
train_op = optimizer.minimize(loss, global_step=step)          # UPDATE_OPS never run
with tf.compat.v1.train.MonitoredTrainingSession(hooks=[bncheck.runtime.BatchNormHook()]) as sess:
    while not sess.should_stop():
        sess.run(train_op)
"""
    good = """
logits = model_fn(images, training=True)
with tf.control_dependencies(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
    train_op = optimizer.minimize(loss, global_step=step)
with tf.compat.v1.train.MonitoredTrainingSession(hooks=[bncheck.runtime.BatchNormHook()]) as sess:
    while not sess.should_stop():
        sess.run(train_op)
"""


class BatchStatsAtInferenceAtRuntime(RuntimeRule):
    code = "BN002"
    how = "a Keras layer updated its moving statistics during evaluate: it ran in training mode, on batch statistics"
    bad = """
x = tf_keras.layers.BatchNormalization()(x, training=True)      # fixed in the model
model.evaluate(x_val, y_val, callbacks=[bncheck.runtime.BatchNormMonitor()])
"""
    good = """
x = tf_keras.layers.BatchNormalization()(x)                      # Keras passes the mode
model.evaluate(x_val, y_val, callbacks=[bncheck.runtime.BatchNormMonitor()])
"""


class InferenceUpdatesStatsAtRuntime(RuntimeRule):
    code = "BN003"
    how = "moving statistics changed during evaluate / validation, or during a session run that trains nothing"
    bad = """
class Net(keras.Model):
    def call(self, x, training=None):
        return self.head(self.bn(self.conv(x), training=True))   # updates at inference too
model.evaluate(x_val, y_val, callbacks=[bncheck.runtime.BatchNormMonitor()])
"""
    good = """
class Net(keras.Model):
    def call(self, x, training=None):
        return self.head(self.bn(self.conv(x), training=training))
model.evaluate(x_val, y_val, callbacks=[bncheck.runtime.BatchNormMonitor()])
"""


class StatsNeverUpdatedAtRuntime(RuntimeRule):
    code = "BN005"
    how = ("BN005 early (Keras monitors given sample=, a batch of training inputs): after N steps the moving "
           "statistics, debiased for warm-up ((moving - m**n * start) / (1 - m**n), for any count of updates from "
           "N/2 on), are more than one channel standard deviation (mean) or a factor 4 (variance) away from "
           "every statistic the sample's batches had while the model trained, on the median channel: something "
           "other than the training batches updates them, so inference normalises with the wrong statistics")
    bad = """
monitor = bncheck.runtime.watch(model, sample=next(iter(labelled))[0])
for (x, y), u in zip(labelled, unlabelled_raw):                  # u skipped the /255 of the pipeline
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True)) + entropy(model(u, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    monitor.step()
"""
    good = """
monitor = bncheck.runtime.watch(model, sample=next(iter(labelled))[0])
for (x, y), u in zip(labelled, unlabelled_raw):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True)) + entropy(model(u / 255.0, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    monitor.step()
"""


class MomentumOutOfRangeAtRuntime(RuntimeRule):
    code = "BN007"
    how = ("the momentum the graph's update ops apply (TF1) or the configured one (Keras), checked before step "
           "one; moving statistics that never moved under a momentum of 1; with measure_momentum=True the momentum "
           "measured on step 2 from the batch statistics the step folded in (TF1 sessions)")
    bad = """
x = tf.compat.v1.layers.batch_normalization(x, momentum=0.1, training=True)   # PyTorch's convention
hooks = [bncheck.runtime.BatchNormHook()]
"""
    good = """
x = tf.compat.v1.layers.batch_normalization(x, momentum=0.99, training=True)
hooks = [bncheck.runtime.BatchNormHook()]
"""


class BnFrozenInTrainStepAtRuntime(RuntimeRule):
    code = "BN009"
    how = ("after N training steps the moving statistics are still exactly 0 and 1 while gamma/beta moved: the "
           "train step runs the layer in inference mode (layers with trainable=False are named as frozen instead)")
    bad = """
monitor = bncheck.runtime.watch(model)
for x, y in dataset:
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))                               # inference mode
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    monitor.step()
"""
    good = """
monitor = bncheck.runtime.watch(model)
for x, y in dataset:
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    monitor.step()
"""


RUNTIME_RULES: tuple[type[RuntimeRule], ...] = (
    UpdateNotRunAtRuntime,
    BatchStatsAtInferenceAtRuntime,
    InferenceUpdatesStatsAtRuntime,
    StatsNeverUpdatedAtRuntime,
    MomentumOutOfRangeAtRuntime,
    BnFrozenInTrainStepAtRuntime,
)
