"""Mutation testing of the analysis core and the rules with mutmut, in a scratch copy of the repo.

    pip install -e ".[test]" mutmut && python tools/mutation.py [--core | --loaders | --live | --source | --only bncheck/graph/analysis.py ...] [--jobs 2]

Copies the committed tree (``git archive HEAD``) to a temporary folder, configures mutmut there
(by default mutants of ``bncheck/graph`` and ``bncheck/rules``, judged by the tests that read real
fixtures; ``--loaders``: the format loaders, ``--source``: the source analysis, each judged by its
own tests),
runs it, and prints every surviving mutant and the counts. The working tree is never touched.
``tools/mutation_probe.py`` then tells which fixture, if any, sees a survivor; the survivors judged
equivalent are listed with the reason in ``tools/mutation_equivalents.md``.
"""
from __future__ import annotations

import argparse
import io
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTS = ["tests/test_exact_core.py", "tests/test_findings_on_fixtures.py", "tests/test_rule_examples.py",
         "tests/test_golden_reports.py", "tests/test_tf2_keras.py", "tests/test_keras_configs.py",
         "tests/test_live_graphs.py", "tests/test_properties.py", "tests/test_layer_names.py",
         "tests/test_mutation_kills.py", "tests/test_mutation_folder.py", "tests/test_mutation_layers.py",
         "tests/test_mutation_rules.py", "tests/test_upstream_search.py"]
CORE = ["bncheck/graph/analysis.py", "bncheck/graph/batchnorm.py", "bncheck/rules/context.py",
        "bncheck/rules/bn001_update_not_run.py", "bncheck/rules/bn002_batch_stats_at_inference.py",
        "bncheck/rules/bn005_stats_never_updated.py", "bncheck/rules/bn007_momentum_out_of_range.py"]
LOADERS = ["bncheck/loaders/*"]
# Not the `slow` tests (live TensorFlow, 200k-node graphs, every clean fixture: too slow per mutant),
# nor the two that need a worker process to give up on a hang (mutants run with BNCHECK_IN_PROCESS=1),
# nor one that reads a file the work folder does not hold.
LOADER_TESTS = ["tests/test_protos.py", "tests/test_checkpoint_bundle.py", "tests/test_object_graph.py",
                "tests/test_keras_configs.py", "tests/test_findings_on_fixtures.py", "tests/test_special_files.py",
                "tests/test_hostile_files.py", "tests/test_hostile_sizes.py", "tests/test_golden_reports.py",
                "tests/test_properties.py", "tests/test_folder_search.py", "tests/test_mutation_loaders.py",
                "tests/test_mutation_keras_files.py", "tests/test_mutation_h5_heaps.py", "tests/test_mutation_checkpoints.py",
                "tests/test_hostile_messages.py",
                "-mnot slow",
                "--deselect=tests/test_hostile_files.py::test_a_hang_inside_hdf5_is_given_up_at_the_timeout_in_one_line",
                ("--deselect=tests/test_special_files.py::"
                 "test_mixed_folder_with_inputs_that_hang_gives_up_on_each_and_checks_the_rest"),
                "--deselect=tests/test_folder_search.py::test_the_artefact_hook_reports_a_checkpoint_once"]  # reads .pre-commit-hooks.yaml
# live.py reads objects TensorFlow and Keras build in the process: only the tests that build them (slow ones
# included) reach it, each importing TensorFlow once in mutmut's parent process
LIVE = ["bncheck/loaders/live.py"]
LIVE_TESTS = ["tests/test_live_graphs.py", "tests/test_exact_core.py", "tests/test_tf2_keras.py::test_live_keras_model_and_train_step",
              "tests/test_mutation_live.py"]
SOURCE = ["bncheck/source/*", "bncheck/source/rules/*"]
# the engine's deadline and memory-limit tests need worker processes, which mutation runs turn off; the
# linear-cost test times 3 x 4,000 layers (5 s) against every mutant and is a benchmark, not a judge of outcomes
SOURCE_TESTS = ["tests/test_source_rules.py", "tests/test_source_semantics.py", "tests/test_source_bias.py",
                "tests/test_source_program.py", "tests/test_source_names.py", "tests/test_source_notes.py",
                "tests/test_source_inputs.py", "tests/test_source_suppression.py", "tests/test_source_robustness.py",
                "tests/test_source_line_index.py", "tests/test_rule_examples.py", "tests/test_source_agreement.py",
                "tests/test_source_cli.py", "tests/test_source_libcst_oracle.py", "tests/test_engine_source_jobs.py",
                "--deselect=tests/test_engine_source_jobs.py::test_a_program_that_never_finishes_is_given_up_at_the_deadline",
                "--deselect=tests/test_engine_source_jobs.py::test_a_program_past_the_memory_limit_is_an_error_and_the_rest_is_checked",
                "--deselect=tests/test_source_program.py::test_cost_is_linear_in_the_layers_of_one_script",
                "tests/test_mutation_source.py"]
# the same, less its five slowest tests (23 of its 32 s: the LibCST oracle over every fixture script, the
# pre-commit hook and two numpy-import checks as subprocesses, the walk budget on a large program), plus the
# exact tests the earlier survivors led to: a surviving mutant runs every test that reaches it, so a run of
# the walker's 1,558 mutants takes about a third of the time
SOURCE_QUICK_TESTS = [t for t in SOURCE_TESTS if t != "tests/test_mutation_source.py"] + [
    "--deselect=tests/test_source_libcst_oracle.py::test_the_fixture_scripts_resolve_as_libcst_says",
    "--deselect=tests/test_source_cli.py::test_pre_commit_hook_runs_source_mode_on_python_files",
    "--deselect=tests/test_source_notes.py::test_the_walk_budget_is_a_note_not_a_silent_no",
    "--deselect=tests/test_engine_source_jobs.py::test_checking_py_files_never_imports_numpy_or_the_graph_analysis",
    "tests/test_mutation_source.py", "tests/test_mutation_source_modules.py", "tests/test_mutation_source_values.py",
    "tests/test_mutation_source_branches.py", "tests/test_mutation_source_classes.py", "tests/test_mutation_source_modes.py",
    "tests/test_mutation_source_following.py"]
CONFIG = """
[tool.mutmut]
source_paths = ["bncheck/"]
only_mutate = {only}
pytest_add_cli_args_test_selection = {tests}
pytest_add_cli_args = ["-x", "-q", "-p", "no:cacheprovider"]
also_copy = ["fixtures/", "fuzz/", ".pre-commit-hooks.yaml"]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*",
                        help="glob patterns of the files to mutate (default: bncheck/graph and bncheck/rules, "
                             "or the preset's files; with a preset, judged by the preset's tests)")
    parser.add_argument("--core", action="store_true",
                        help="mutate only the analysis core (the files the README's numbers are about)")
    parser.add_argument("--loaders", action="store_true", help="mutate the format loaders (bncheck/loaders)")
    parser.add_argument("--source", action="store_true", help="mutate the source analysis (bncheck/source)")
    parser.add_argument("--source-quick", action="store_true",
                        help="mutate the source analysis, judged by its tests less the five slowest, plus the "
                             "exact tests earlier survivors led to")
    parser.add_argument("--live", action="store_true",
                        help="mutate the live-object loader (bncheck/loaders/live.py), judged by the tests that build "
                             "graphs and models with TensorFlow")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--keep", help="work in this folder instead of a temporary one (reusable between runs)")
    parser.add_argument("--mutants", nargs="*", default=[],
                        help="only these mutant names (e.g. the survivors of an earlier run, from `mutmut results`)")
    args = parser.parse_args()
    only, tests = ["bncheck/graph/*", "bncheck/rules/*"], TESTS
    if args.core:
        only = CORE
    elif args.loaders:
        only, tests = LOADERS, LOADER_TESTS
    elif args.source:
        only, tests = SOURCE, SOURCE_TESTS
    elif args.source_quick:
        only, tests = SOURCE, SOURCE_QUICK_TESTS
    elif args.live:
        only, tests = LIVE, LIVE_TESTS
    args.only = args.only or only
    tests = [test for test in tests if test.startswith("-") or (ROOT / test.split("::")[0]).exists()]
    work = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="bncheck-mutation-"))
    if not (work / "pyproject.toml").exists():
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(work, filter="data")
        with open(work / "pyproject.toml", "a") as fh:
            fh.write(CONFIG.format(only=list(args.only), tests=tests).replace("'", '"'))
    env = {**os.environ, "BNCHECK_IN_PROCESS": "1"}  # workers would import the installed, unmutated bncheck
    subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(args.jobs), *args.mutants],
                   cwd=work, env=env)
    results = subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=work, capture_output=True, text=True)
    print(results.stdout)
    survived = [line for line in results.stdout.splitlines() if line.strip().endswith(": survived")]
    print(f"surviving mutants: {len(survived)} (work folder: {work})")


if __name__ == "__main__":
    main()
