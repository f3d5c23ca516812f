from __future__ import annotations

import fnmatch
import os
import pathlib
from collections.abc import Generator
from typing import Any

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # live tf.compat.v1.layers graphs need tf-keras
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


@pytest.fixture
def fixtures() -> pathlib.Path:
    return FIXTURES


class LazyModule:
    """A module imported (or the test skipped, as ``pytest.importorskip``) on first use, not at
    collection: importing TensorFlow costs every xdist worker seconds and makes each of its later
    forks (every isolated check) copy a far larger address space."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):  # pytest's collector probes module globals (`_pytestfixturefunction`)
            raise AttributeError(attribute)
        return getattr(pytest.importorskip(self._name), attribute)


try:  # property tests: random locally, a fixed example sequence in CI (a red CI is then reproducible)
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, deadline=None)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:  # hypothesis is a test extra
    pass


# The fast loop is `python -m pytest -n auto -m "not slow"`. A test is slow when it installs packages
# or builds environments, trains or runs TensorFlow/Jupyter/Dask for real, runs a fuzz campaign or a
# type checker, or measures a cost ratio on large inputs. One list, matched on node ids, with why.
SLOW = {
    "tests/test_output_formats.py::test_pre_commit_try_repo_runs_the_artefact_hook": "pre-commit builds its env",
    "tests/test_output_formats.py::test_the_declared_protobuf_floor_gives_the_same_findings": "pip download",
    "tests/test_output_formats.py::test_the_package_passes_mypy_strict": "mypy",
    "tests/test_ci_packaging.py::test_the_editable_install_is_visible_to_mypy_strict": "pip install + mypy",
    "tests/test_fuzz_quick.py::test_mutants_never_escape_as_bugs*": "200 mutants per format",
    "tests/test_fuzz_quick.py::test_coverage_guided_targets_run_from_the_fixture_seeds*": "atheris",
    "tests/test_fuzz_quick.py::test_regression_mutants*": "a fresh interpreter per mutant",
    "tests/test_fuzz_surfaces.py::*": "fuzz campaigns",
    "tests/test_keras_configs.py::test_live_models_get_their_own_flavours_semantics*": "live Keras models",
    "tests/test_tf2_keras.py::*": "live TensorFlow",
    "tests/test_live_graphs.py::*": "live TensorFlow",
    "tests/test_mutation_live.py::*": "live TensorFlow and Keras models",
    "tests/test_runtime_*.py::*": "trains real models",
    "tests/test_ci_notebook.py::*": "a real Jupyter kernel",
    "tests/test_isolation.py::test_check_path_in_a_real_jupyter_kernel*": "a real Jupyter kernel",
    # the pool under the spawn start method (Windows', macOS's): each worker is a new interpreter; the fast
    # loop keeps the same tests under fork, the Linux default
    "tests/test_isolation.py::*[[]spawn[]]": "spawned interpreters",
    "tests/test_isolation_batches.py::*[[]spawn[]]": "spawned interpreters",
    "tests/test_portability.py::*[[]spawn[]]": "spawned interpreters",
    "tests/test_portability.py::test_spawned_workers_as_windows_and_macos_run_them*": "spawned interpreters",
    "tests/test_prestart.py::*[[]spawn[]]": "spawned interpreters",
    # a threaded host's workers spawned, its __main__ read from stdin; the fast loop keeps `python -c`
    "tests/test_isolation.py::test_api_in_a_threaded_host_like_jupyter_spawns_workers[[]python - (stdin)[]]":
        "spawned interpreters",
    # an input that spins inside HDF5 until a 2 s deadline: the deadline's one-line error stays in the
    # fast loop, under fork, as test_isolation.py::test_cli_gives_up_on_a_hang_after_the_timeout_and_checks_the_rest
    "tests/test_hostile_files.py::test_a_hang_inside_hdf5_is_given_up_at_the_timeout_in_one_line":
        "spins in HDF5 until its deadline",
    "tests/test_fuzz_quick.py::test_a_hang_bncheck_gives_up_on_in_time_is_contained_not_past_the_budget":
        "spins in HDF5 until its deadline",
    "tests/test_fuzz_quick.py::test_campaign_re_runs_bncheck_on_a_mutant_its_worker_could_not_finish":
        "spins in HDF5 until its deadline",
    "tests/test_ci_executor.py::*": "a local Dask cluster",
    "tests/test_hostile_files.py::test_cost_of_a_chain_is_linear_in_its_length": "cost ratio, 160k nodes",
    "tests/test_hostile_files.py::test_chain_of_200k_nodes_is_checked": "200k nodes",
    "tests/test_hostile_files.py::test_diamond_function_library_is_not_expanded_exponentially": "deep library",
    "tests/test_exact_core.py::test_cost_is_linear_*": "cost ratio, 8,000 layers",
    "tests/test_exact_core.py::test_a_graph_without_batch_norm_is_a_note_not_a_clean_verdict": "live TensorFlow",
    "tests/test_exact_core.py::test_a_momentum_that_cannot_be_solved_is_a_note_never_a_number": "live TensorFlow",
    "tests/test_exact_core.py::test_a_keras_config_without_batch_norm_is_a_note": "live Keras model",
    "tests/test_checkpoint_bundle.py::test_every_tensor_matches_tensorflows_reader*": "TensorFlow's own reader",
    "tests/test_properties.py::test_index_tables_decode_to_exactly_their_entries": "many examples",
    "tests/test_no_tensorflow.py::test_checking_every_fixture_imports_no_tensorflow": "every fixture",
    "tests/test_source_libcst_oracle.py::*": "LibCST over every fixture",
    "tests/test_docs_examples.py::test_the_site_builds_in_strict_mode": "mkdocs build",
    "tests/test_robustness.py::*": "9 corrupt copies of every fixture: 1,359 isolated checks",
    "tests/test_remote.py::*": "its module fixture builds TF artefacts in a subprocess",
    "tests/test_source_program.py::test_cost_is_linear_*": "cost ratio, large scripts",
}


# Scheduling (`--dist loadfile --no-loadscope-reorder`, set in pyproject.toml): one worker runs a
# whole file, so a module-scoped fixture that trains or builds for tens of seconds runs once (and the
# in-memory filesystem of test_remote stays in one process). The runtime files train in pairs, one
# process per pair (test_runtime_harness.GROUPS): the first of a pair is in FIRST, the second comes
# in collection order, when the pair's results are long written. Files are handed out in this order:
# the longest first, so no worker starts a long file last; then the rest as collected; then the
# files that import TensorFlow into the worker itself (test_keras_configs: its live models, at the
# end of the file): from then on every fork that worker makes (each isolated check) copies
# TensorFlow's address space, several times the system time. Nothing else may import TensorFlow into
# a worker (a test that only needs to know whether it is installed asks importlib.util.find_spec),
# and no test may leave a Python thread running: with one alive, `can_fork()` is false and each later
# check in that worker spawns a fresh interpreter (~0.2 s of CPU) instead of forking.
FIRST = ("tests/test_runtime_keras3.py", "tests/test_fuzz_quick.py", "tests/test_output_formats.py",
         "tests/test_runtime_tf_keras.py", "tests/test_robustness.py", "tests/test_ci_formats.py",
         "tests/test_hostile_files.py", "tests/test_remote.py", "tests/test_isolation.py",
         "tests/test_ci_packaging.py", "tests/test_ci_executor.py", "tests/test_ci_notebook.py")
LAST = ("tests/test_keras_configs.py", "tests/test_exact_core.py", "tests/test_live_graphs.py",
        "tests/test_mutation_live.py", "tests/test_checkpoint_bundle.py", "tests/test_tf2_keras.py")


@pytest.hookimpl(wrapper=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> Generator[None, int, int]:
    """``-n auto``: one worker more than pytest-xdist counts cores (unless PYTEST_XDIST_AUTO_NUM_WORKERS
    says how many). Some tests wait without using a core (for the deadline of a hung input, for a
    spawned worker to start); the spare worker runs tests meanwhile."""
    cores = yield
    return cores if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") else cores + 1


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: installs, trains, fuzzes or measures (see SLOW in tests/conftest.py)")


def _matches(nodeid: str, patterns: dict[str, str]) -> bool:
    return any(fnmatch.fnmatchcase(nodeid, pattern) for pattern in patterns)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank: dict[str, tuple[int, int]] = {}
    for item in items:
        nodeid = item.nodeid if item.nodeid.startswith("tests/") else f"tests/{item.nodeid}"
        if _matches(nodeid, SLOW):
            item.add_marker(pytest.mark.slow)
        file = nodeid.split("::")[0]
        rank[item.nodeid] = (0, FIRST.index(file)) if file in FIRST else (2, LAST.index(file)) if file in LAST else (1, 0)
    items.sort(key=lambda item: rank[item.nodeid])  # stable: a file's tests keep their order
