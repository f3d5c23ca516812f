"""Expected verdicts on the artefacts keras_apps.py (Keras 3 or --tf-keras) and slim_nets.py wrote.

    python tools/real_models/verdicts.py OUT

Keras: export, SavedModel, .keras and .h5 clean; the serving function with training=True BN002+BN003
on exactly the model's BN layers. tf-slim: create_train_op, minimize under UPDATE_OPS and the
inference SavedModel and frozen graph clean; minimize without UPDATE_OPS BN001 on every BN layer;
served or frozen with is_training=True BN002 on every BN layer, and frozen with an is_training flag
that defaults to True BN002 + BN004 on every layer (to False: clean). A reported layer matches a BN name
equal to it or ending it after a '/' (Keras 3 puts name scopes in variable paths, and tf-keras
names such as DenseNet's 'conv1/bn' hold a '/'). Exits 1 if any artefact is BAD.
"""
import glob, json, os, sys
os.environ["BNCHECK_IN_PROCESS"] = "1"
from bncheck.engine import check_paths

KERAS = {  # artefact suffix -> the rule codes that must fire, each on every BN layer of NAME.bn.json
    "_export": (), "_saved": (), ".keras": (), ".h5": (), "_serving_training_true": ("BN002", "BN003"),
    "_frozen.pb": (),
}
# a frozen graph's layers are named by op scope (Keras 3: ``model_1/bn_1`` of the traced call), so
# there the number of layers bncheck finds must equal the model's, besides no finding
COUNTED = ("_frozen.pb",)
SLIM = {  # NET_MODE.bn.json: the artefact NET_MODE[.meta|.pb], by mode
    "_create_train_op": (), "_minimize": ("BN001",), "_minimize_update_ops": (), "_infer": (),
    "_infer_training": ("BN002",), "_frozen_infer": (), "_frozen_training": ("BN002",),
    "_frozen_flag_default_false": (), "_frozen_flag_default_true": ("BN002", "BN004"),
}


def artefacts(stem: str):
    """(artefact path, expected codes) for one .bn.json stem."""
    for suffix, fires in KERAS.items():
        if os.path.exists(stem + suffix):
            yield stem + suffix, fires
    mode = max((m for m in SLIM if stem.endswith(m)), key=len, default=None)  # _frozen_infer, not _infer
    for ext in ("", ".meta", ".pb") if mode else ():
        if os.path.exists(stem + ext):
            yield stem + ext, SLIM[mode]


bad = 0
for bnfile in sorted(glob.glob(os.path.join(sys.argv[1], "*.bn.json"))):
    bn = set(json.load(open(bnfile)))
    for p, fires in artefacts(bnfile[:-len(".bn.json")]):
        r = check_paths([p], jobs=0, isolate=False)
        codes = {}
        for f in r:
            match = [b for b in bn if f.layer == b or f.layer.endswith("/" + b)]
            codes.setdefault(f.code, set()).add(max(match, key=len) if match else f.layer)
        expect = {code: bn for code in fires} if bn else {}
        ok = codes == expect and not r.errors
        found = None
        if p.endswith(COUNTED):
            from bncheck.loaders import discover, load
            from bncheck.rules.context import Context
            found = sum(len(Context(model).layers) for model in load(discover(p)[0]))
            ok = ok and found == len(bn)
        bad += not ok
        extra_notes = [n[:90] for _, n in r.notes if not n.startswith("BN005:")]
        print(f"{'OK ' if ok else 'BAD'} {os.path.basename(p)}: bn={len(bn)} "
              + " ".join(f"{c}={len(v)}" for c, v in sorted(codes.items()))
              + (f" layers found={found}" if found is not None else "")
              + (f" missing={ {c: sorted(bn - codes.get(c, set()))[:3] for c in expect} }" if not ok and expect else "")
              + (f" extra={ {c: sorted(v)[:2] for c, v in codes.items() if c not in expect} }" if not ok else "")
              + (f" errors={r.errors}" if r.errors else "") + (f" notes={extra_notes}" if extra_notes else ""))
sys.exit(1 if bad else 0)
