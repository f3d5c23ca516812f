"""tf-slim nets (not written for bncheck) as training MetaGraphs and inference SavedModels.

    python tools/real_models/slim_nets.py OUT inception_v3|inception_v2|resnet_v2_50 create_train_op|minimize|infer

Expected: create_train_op and infer clean, minimize BN001 on every batch norm (tf-slim fix).
"""
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "fixtures"))
from builders.tf1 import _import_slim, v1, tf
out, which, mode = sys.argv[1], sys.argv[2], sys.argv[3]
v1.disable_eager_execution()
slim = _import_slim()
from tf_slim.nets import inception_v1, inception_v2, inception_v3, resnet_v2
x = v1.placeholder(tf.float32, [None, 96, 96, 3], name="images")
y = v1.placeholder(tf.int32, [None], name="labels")
training = mode != "infer"
if which == "inception_v3":
    with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
        logits, _ = inception_v3.inception_v3(tf.image.resize(x, [107, 107]), num_classes=2, is_training=training)
elif which == "inception_v2":
    with slim.arg_scope(inception_v2.inception_v2_arg_scope()):
        logits, _ = inception_v2.inception_v2(x, num_classes=2, is_training=training)
elif which == "inception_v1":
    with slim.arg_scope(inception_v1.inception_v1_arg_scope()):
        logits, _ = inception_v1.inception_v1(x, num_classes=2, is_training=training)
elif which == "resnet_v2_50":
    with slim.arg_scope(resnet_v2.resnet_arg_scope()):
        logits, _ = resnet_v2.resnet_v2_50(x, num_classes=2, is_training=training, global_pool=True)
        logits = tf.squeeze(logits, [1, 2])
if mode == "infer":
    with v1.Session() as sess:
        sess.run(v1.global_variables_initializer())
        v1.saved_model.simple_save(sess, f"{out}/{which}_infer", {"images": x}, {"logits": logits})
else:
    loss = v1.losses.sparse_softmax_cross_entropy(y, logits)
    if mode == "create_train_op":
        slim.learning.create_train_op(loss, v1.train.MomentumOptimizer(0.1, 0.9))
    else:
        v1.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
    v1.train.export_meta_graph(filename=f"{out}/{which}_{mode}.meta")
print(which, mode, "ok")
