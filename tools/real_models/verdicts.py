"""Expected verdicts on the artefacts keras_apps.py (Keras 3 or --tf-keras) wrote: export, SavedModel,
.keras and .h5 clean, the serving function with training=True BN002+BN003 on exactly the model's
BN layers (a reported layer matches a BN name equal to it or ending it after a '/': Keras 3 puts
name scopes in variable paths, and tf-keras names such as DenseNet's 'conv1/bn' hold a '/')."""
import json, os, sys, glob
os.environ["BNCHECK_IN_PROCESS"] = "1"
from bncheck.engine import check_paths
for bnfile in sorted(glob.glob(os.path.join(sys.argv[1], '*.bn.json'))):
    name = os.path.basename(bnfile)[:-8]
    bn = set(json.load(open(bnfile)))
    for suffix in ['_export', '_saved', '_serving_training_true', '.keras', '.h5']:
        p = os.path.join(sys.argv[1], name + suffix)
        if not os.path.exists(p):
            continue
        r = check_paths([p], jobs=0, isolate=False)
        codes = {}
        for f in r:
            match = [b for b in bn if f.layer == b or f.layer.endswith("/" + b)]
            codes.setdefault(f.code, set()).add(max(match, key=len) if match else f.layer)
        expect = {"BN002": bn, "BN003": bn} if suffix == "_serving_training_true" and bn else {}
        ok = codes == expect
        extra_notes = [n[:90] for _, n in r.notes if not n.startswith("BN005:")]
        print(f"{'OK ' if ok else 'BAD'} {name}{suffix}: bn={len(bn)} " + " ".join(f"{c}={len(v)}" for c, v in sorted(codes.items()))
              + (f" missing={sorted(bn - codes.get('BN002', set()))[:3]}" if not ok and expect else "")
              + (f" extra={ {c: sorted(v)[:2] for c, v in codes.items() if c not in expect} }" if not ok else "")
              + (f" errors={r.errors}" if r.errors else "") + (f" notes={extra_notes}" if extra_notes else ""))
