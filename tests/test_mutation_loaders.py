"""Exact outcomes at the boundaries the loaders' surviving mutants showed (``tools/mutation.py
--loaders``): size limits, bracket counting, error messages, and small crafted files a damaged or
hostile input could be. Each test names what it pins down."""
from __future__ import annotations

import importlib
import json
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from bncheck.errors import InputError
from bncheck.loaders import safe_io
from bncheck.loaders.safe_io import load_json, nesting_depth, os_reason, read_bounded


def _error(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    return str(info.value)


# safe_io ---------------------------------------------------------------------------------------

def test_size_limits_are_read_from_the_environment_in_mib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BNCHECK_MAX_TENSOR_MB", "3")
    monkeypatch.setenv("BNCHECK_MAX_FILE_MB", "0")  # at least 1 MiB
    monkeypatch.setenv("BNCHECK_MAX_MEMBER_MB", "lots")  # not a number: the default
    monkeypatch.delenv("BNCHECK_MAX_CONFIG_MB", raising=False)
    monkeypatch.delenv("BNCHECK_MAX_TEXT_MB", raising=False)
    try:
        module = importlib.reload(safe_io)
        assert (module.MAX_TENSOR_BYTES, module.MAX_FILE_BYTES, module.MAX_MEMBER_BYTES,
                module.MAX_CONFIG_BYTES, module.MAX_TEXT_BYTES) == (3 << 20, 1 << 20, 512 << 20, 32 << 20, 32 << 20)
    finally:
        monkeypatch.undo()
        importlib.reload(safe_io)


def test_a_file_over_the_limit_is_named_a_file_by_default(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "big.pb"
    path.write_bytes(b"x" * ((1 << 20) + 1))
    assert _error(read_bounded, str(path), 1 << 20) == (
        f"{path}: file of 1048577 bytes is larger than the 1 MiB bncheck reads (raise BNCHECK_MAX_FILE_MB to allow it)")
    assert read_bounded(str(path), 2 << 20) == b"x" * ((1 << 20) + 1)
    assert _error(read_bounded, str(path), 1 << 20, "a baseline", raised_by=None) == (
        f"{path}: a baseline of 1048577 bytes is larger than the 1 MiB bncheck reads")
    path.write_bytes(b"x" * (1 << 20))  # exactly at the limit: read
    assert len(read_bounded(str(path), 1 << 20)) == 1 << 20


def test_os_reason_prefers_the_strerror_then_the_message_then_the_type() -> None:
    assert os_reason(FileNotFoundError(2, "No such file or directory", "model.pb")) == "No such file or directory"
    assert os_reason(OSError("disk went away")) == "disk went away"
    assert os_reason(PermissionError()) == "PermissionError"


@pytest.mark.parametrize("text, depth", [
    ("node { op: X }", 1),  # letters are no brackets
    ("a {X b { } }", 2),
    ("{{}}{{", 2),  # the depth goes down at each closing bracket
    ("}}}{", 0),  # a closing bracket first never makes a negative depth count
])
def test_text_nesting_depth_counts_only_braces_and_angles(text: str, depth: int) -> None:
    assert nesting_depth(text) == depth


@pytest.mark.parametrize("text, depth", [
    ("{" * 100 + "}" * 100 + "{" * 4000, 4000),  # over 4,096 brackets: counted in numpy
    ("}" * 5000, 0),
    ("{}" * 2049, 1),
    ("[" * 3000 + "{" * 2000, 5000),
])
def test_nesting_depth_of_large_texts(text: str, depth: int) -> None:
    assert nesting_depth(text, "[{", "]}") == depth
    assert nesting_depth(text.replace("[", "{").replace("]", "}")) == depth


def test_json_errors_name_the_source_and_what_was_read() -> None:
    assert _error(load_json, b"\xff{}", "model.keras", "config.json") == "model.keras: config.json is not UTF-8 text"
    assert _error(load_json, b'{"a": ', "model.h5", "model_config") == (
        "model.h5: model_config is not JSON (Expecting value: line 1 column 7 (char 6))")


def test_json_nesting_is_counted_outside_strings_only() -> None:
    deep = "[" * 101 + "]" * 101
    assert _error(load_json, deep, "m", "config") == "m: config nests JSON deeper than 100 levels"
    assert json.dumps(load_json("[" * 100 + "]" * 100, "m", "config")) == "[" * 100 + "]" * 100
    # JSON has no comments: a '#' hides no bracket
    assert _error(load_json, "#" + "[" * 101, "m", "config") == "m: config nests JSON deeper than 100 levels"
    # letters are no brackets
    assert _error(load_json, "X" * 101, "m", "config") == (
        "m: config is not JSON (Expecting value: line 1 column 1 (char 0))")
    assert _error(load_json, "[X" * 101, "m", "config") == "m: config nests JSON deeper than 100 levels"
    assert load_json('{"a": "[[[[#' + "{" * 200 + '"}', "m", "config") == {"a": "[[[[#" + "{" * 200}


def test_open_regular_refuses_folders_and_names_the_os_reason(tmp_path: pathlib.Path) -> None:
    from bncheck.loaders.safe_io import open_regular

    assert _error(open_regular, str(tmp_path)) == f"{tmp_path}: not a regular file"
    assert _error(open_regular, str(tmp_path / "missing.pb")) == f"{tmp_path / 'missing.pb'}: No such file or directory"
    assert _error(open_regular, str(tmp_path / "a\x00b")) == f"{tmp_path / 'a'}\x00b: embedded null byte"
    (tmp_path / "m.pb").write_bytes(b"abc")
    with open_regular(str(tmp_path / "m.pb")) as fh:
        assert fh.read() == b"abc"


def test_a_file_that_reads_longer_than_its_size_is_refused() -> None:
    # /proc files are regular files of size 0 that read as text
    assert _error(read_bounded, "/proc/self/status", what="state") == "/proc/self/status: state grew while being read"


def test_a_remote_placeholder_is_read_through_its_remote_file_by_ranges(tmp_path: pathlib.Path) -> None:
    import fsspec  # the remote extra, installed with the test extras

    from bncheck import remote

    fs = fsspec.filesystem("memory")
    fs.pipe("/bncheck-mutation-loaders/model.pb", b"remote bytes")
    fs.pipe("/bncheck-mutation-loaders/gone.pb", b"remote bytes")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        local = remote.fetch("memory://bncheck-mutation-loaders/model.pb", str(tmp_path / "a"))
        gone = remote.fetch("memory://bncheck-mutation-loaders/gone.pb", str(tmp_path / "b"))
        assert read_bounded(local) == b"remote bytes"
        # its size came from the remote file: the placeholder was never filled in
        assert pathlib.Path(local).read_bytes() == bytes(12)
        fs.rm("/bncheck-mutation-loaders/gone.pb")
        assert _error(read_bounded, gone) == f"{gone}: /bncheck-mutation-loaders/gone.pb"  # fsspec's FileNotFoundError
    finally:
        remote.forget(str(tmp_path / "a"))
        remote.forget(str(tmp_path / "b"))
        fs.rm("/bncheck-mutation-loaders", recursive=True)


# protobuf_io: which message a file holds ------------------------------------------------------

GRAPH_DEF, META_GRAPH_DEF, SAVED_MODEL = "tensorflow.GraphDef", "tensorflow.MetaGraphDef", "tensorflow.SavedModel"


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (payloads under 128 bytes)."""
    assert len(payload) < 128
    return bytes([tag, len(payload)]) + payload


# A NodeDef named "HA" of op "HA": its bytes also parse as a message with an unknown varint field
# (0x48 is field 9, varint), so one byte string can be a plausible GraphDef and MetaGraphDef at once.
_NODE = _field(0x0A, b"HA") + _field(0x12, b"HA")
_GRAPH = _field(0x0A, _NODE)


def _graph_def(names_and_ops: list[tuple[str, str]]) -> bytes:
    from bncheck.protos import message_class

    graph = message_class(GRAPH_DEF)()
    for name, op in names_and_ops:
        node = graph.node.add()
        node.name, node.op = name, op
    return bytes(graph.SerializeToString())


def test_a_file_both_a_graph_and_a_meta_graph_is_read_as_its_name_says() -> None:
    from bncheck.loaders.protobuf_io import parse_file

    both = _field(0x0A, _field(0x0A, b"v") + _field(0x12, b"HA")) + _field(0x12, _GRAPH)
    assert parse_file("model.meta", both)[0] == META_GRAPH_DEF
    assert parse_file("dir/model.pb", both)[0] == GRAPH_DEF


def test_a_file_starting_with_a_varint_is_tried_as_a_saved_model_first() -> None:
    from bncheck.loaders.protobuf_io import parse_file

    data = b"\x08\x01" + _field(0x0A, _NODE) + _field(0x12, _field(0x12, _GRAPH))
    assert parse_file("model.pb", data, (GRAPH_DEF,))[0] == GRAPH_DEF  # a plausible GraphDef too
    assert parse_file("model.pb", data)[0] == SAVED_MODEL


def test_graph_plausibility_looks_at_names_and_op_types() -> None:
    from bncheck.loaders.protobuf_io import parse_file

    unreadable = "m.pb: not a readable GraphDef: truncated, corrupt or another format"
    assert _error(parse_file, "m.pb", b"\x22\x02\x08\x01", (GRAPH_DEF,)) == unreadable  # no nodes
    assert _error(parse_file, "m.pb", _graph_def([("a", "1bad")]), (GRAPH_DEF,)) == unreadable
    assert _error(parse_file, "m.pb", _graph_def([("", "Const")]), (GRAPH_DEF,)) == unreadable
    # up to 128 nodes every node is looked at; beyond, the first and last 64
    nodes = [(f"n{i}", "Const") for i in range(150)]
    nodes[70] = ("", "Const")  # neither among the first nor the last 64
    assert parse_file("m.pb", _graph_def(nodes), (GRAPH_DEF,))[0] == GRAPH_DEF
    nodes = [(f"n{i}", "Const") for i in range(200)]
    nodes[-1] = ("last", "")
    assert _error(parse_file, "m.pb", _graph_def(nodes), (GRAPH_DEF,)) == unreadable
    nodes = [(f"n{i}", "Const") for i in range(128)]
    nodes[70] = ("", "Const")
    assert _error(parse_file, "m.pb", _graph_def(nodes), (GRAPH_DEF,)) == unreadable


def test_a_file_named_saved_model_is_tried_as_a_saved_model_first() -> None:
    from bncheck.loaders.protobuf_io import parse_file

    data = _field(0x0A, _NODE) + _field(0x12, _field(0x12, _GRAPH))  # no leading varint
    assert parse_file("export/saved_model.pb", data)[0] == SAVED_MODEL
    assert parse_file("export/model.pb", data)[0] == GRAPH_DEF


@pytest.mark.parametrize("path", ["a/b/saved_model.pb", "saved_model.pb", "a\\b\\saved_model.pb"])
def test_the_file_name_is_the_last_part_of_the_path(path: str) -> None:
    from bncheck.loaders.protobuf_io import parse_file

    data = _field(0x0A, _NODE) + _field(0x12, _field(0x12, _GRAPH))
    assert parse_file(path, data)[0] == SAVED_MODEL
    assert parse_file(path.replace("saved_model", "model"), data)[0] == GRAPH_DEF


@pytest.mark.parametrize("data", [b"", b" \n\t\r "])
def test_an_empty_or_blank_file_is_empty(data: bytes) -> None:
    from bncheck.loaders.protobuf_io import parse_file

    assert _error(parse_file, "dir/m.pbtxt", data) == "dir/m.pbtxt: file is empty"


def test_the_text_size_cap_looks_at_the_first_4096_bytes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from bncheck.loaders.protobuf_io import parse_file

    monkeypatch.setattr("bncheck.loaders.protobuf_io.MAX_TEXT_BYTES", 8192)
    node = "node { name: 'a' op: 'Const' }\n"
    refused = ("m.pbtxt: a text protobuf of {} bytes is larger than the 0 MiB bncheck parses as text (about 10 MiB "
               "of memory and 0.6 s a MB): convert it to a binary .pb, or raise BNCHECK_MAX_TEXT_MB")

    def padded(head: str, size: int) -> bytes:
        return (head + "#" + "x" * (size - len(head) - 1)).encode()

    assert parse_file("m.pbtxt", padded(node, 8192))[0] == GRAPH_DEF  # at the cap: parsed
    assert _error(parse_file, "m.pbtxt", padded(node, 8193)) == refused.format(8193)
    # a character cut at byte 4096 is no reason to give up on the lead
    cut = (node + "#" + "x" * (4095 - len(node) - 1) + "é\n").encode()
    assert cut[4095:4097] == "é".encode()
    assert _error(parse_file, "m.pbtxt", cut + b"#" * 5000) == refused.format(len(cut) + 5000)
    # the lead's ':' is the 4097th byte: not seen, so the text is parsed, not refused
    late = "#" + "x" * 4090 + "\nnode: { name: 'a' op: 'Const' }\n"
    assert late.index(":") == 4096
    assert parse_file("m.pbtxt", padded(late, 9000))[0] == GRAPH_DEF


@pytest.mark.parametrize("at", [4093, 4095])
def test_a_text_with_a_character_across_byte_4096_is_text(at: int) -> None:
    from bncheck.loaders.protobuf_io import parse_file

    node = "node { name: 'a' op: 'Const' }\n"
    char = "\N{GRINNING FACE}" if at == 4093 else "é"  # 4 bytes / 2 bytes, cut at byte 4096
    data = (node + "#" + "x" * (at - len(node) - 1) + char + "\n").encode()
    assert data[at:at + len(char.encode())] == char.encode()
    assert parse_file("m.pbtxt", data)[0] == GRAPH_DEF
    assert _error(parse_file, "m.pbtxt", data[:at] + b"\xff" + data[at + 1:]).startswith(
        "m.pbtxt: not a readable GraphDef or MetaGraphDef or SavedModel: truncated, corrupt or another format")


def test_text_protobuf_errors_name_the_kind_and_the_parser_reason() -> None:
    from bncheck.loaders.protobuf_io import parse_file

    expect = (GRAPH_DEF, META_GRAPH_DEF)
    assert _error(parse_file, "m.pbtxt", b"meta_graphs { }", expect) == (
        "m.pbtxt: holds a text SavedModel, not a GraphDef or MetaGraphDef")
    deep = "node {" + "{" * 99  # 100 levels: parsed (and wrong)
    assert _error(parse_file, "m.pbtxt", deep.encode(), (GRAPH_DEF,)) == (
        f"m.pbtxt: not a valid text GraphDef (1:7 : '{deep}': Expected identifier or number, got {{.)")
    assert _error(parse_file, "m.pbtxt", b"node {" + b"<" * 100, (GRAPH_DEF,)) == (
        "m.pbtxt: text GraphDef nests messages deeper than 100 levels")
    assert _error(parse_file, "m.pbtxt", b"node { name: 1 2 }") == (
        "m.pbtxt: not a valid text GraphDef (1:14 : 'node { name: 1 2 }': Expected string but found: '1')")
    long = ('1:8 : Message type "tensorflow.NodeDef" has no field named "' + "x" * 400 + '".')[:300]
    assert _error(parse_file, "m.pbtxt", b"node { " + b"x" * 400 + b": 1 }") == (
        f"m.pbtxt: not a valid text GraphDef ({long})")


def test_a_text_any_field_resolves_in_bncheck_s_own_descriptor_pool() -> None:
    from bncheck.loaders.protobuf_io import parse_file

    text = (b'meta_info_def { any_info { [type.googleapis.com/tensorflow.GraphDef] { node { name: "a" op: "B" } } } }'
            b' graph_def { node { name: "a" op: "B" } }')
    kind, meta = parse_file("m.pbtxt", text)
    assert kind == META_GRAPH_DEF
    assert meta.meta_info_def.any_info.type_url == "type.googleapis.com/tensorflow.GraphDef"


def test_binary_parse_errors_go_on_to_the_next_kind_and_the_first_is_named() -> None:
    from bncheck.loaders.protobuf_io import parse_file

    assert _error(parse_file, "m.pb", b"\xff\xff\xff", (GRAPH_DEF, META_GRAPH_DEF)) == (
        "m.pb: not a readable GraphDef or MetaGraphDef: truncated, corrupt or another format "
        "(Error parsing message with type 'tensorflow.GraphDef': Wire format was corrupt)")
    # field 1 of a MetaGraphDef holds an Any of non-UTF-8 bytes: no GraphDef (its nodes' inputs are strings)
    meta = _field(0x0A, _field(0x1A, _field(0x12, b"\xff"))) + _field(0x12, _GRAPH)
    assert _error(parse_file, "m.pb", meta, (GRAPH_DEF,)) == (
        "m.pb: not a readable GraphDef: truncated, corrupt or another format "
        "(Error parsing message with type 'tensorflow.GraphDef': String field had bad UTF-8)")
    assert parse_file("m.pb", meta)[0] == META_GRAPH_DEF


# graphs: GraphDefs and function bodies as Graphs -----------------------------------------------

def _graph_proto(*nodes: tuple[str, str, list[str]]) -> Any:
    from bncheck.protos import message_class

    graph = message_class(GRAPH_DEF)()
    for name, op, inputs in nodes:
        node = graph.node.add()
        node.name, node.op = name, op
        node.input.extend(inputs)
    return graph


def test_graph_inputs_read_their_output_index_and_nothing_else() -> None:
    from bncheck.graph.model import TensorRef
    from bncheck.loaders.graphs import graph_from_proto

    graph = graph_from_proto(_graph_proto(
        ("a", "Const", []),
        ("b", "AddN", ["a:123456789", "a:1234567890", "a:x", "a", "a:2", "^a"])))
    assert graph.nodes["b"].inputs == (TensorRef("a", 123456789), TensorRef("a", 0), TensorRef("a", 0),
                                       TensorRef("a", 0), TensorRef("a", 2))
    assert graph.nodes["b"].control_inputs == ("a",)
    assert graph.consumers["a"] == [("b", 0), ("b", 1), ("b", 2), ("b", 3), ("b", 4), ("b", None)]


def test_a_duplicate_node_name_keeps_the_last_node_and_its_consumers_only() -> None:
    from bncheck.loaders.graphs import graph_from_proto

    graph = graph_from_proto(_graph_proto(("a", "Const", []), ("b", "Identity", ["a"]), ("b", "Const", [])))
    assert graph.nodes["b"].op == "Const"
    assert graph.consumers.get("a", []) == []


def test_graph_errors_name_the_source_and_cut_the_op_type_at_80_characters() -> None:
    from bncheck.loaders.graphs import flat_graph, graph_from_proto

    op = "1" + "x" * 100
    assert _error(graph_from_proto, _graph_proto(("a", op, [])), "m.pb") == (
        f"m.pb: not a readable graph: node 'a' has op type {op[:80]!r}, not an op name (truncated or corrupt)")
    nameless = _graph_proto(("a", "Const", []), ("", "Const", []))
    assert _error(graph_from_proto, nameless) == "<graph>: not a readable graph: node #1 has no name (truncated or corrupt)"
    assert _error(flat_graph, nameless) == "<graph>: not a readable graph: node #1 has no name (truncated or corrupt)"


def _function(name: str = "f") -> Any:
    from bncheck.protos import message_class

    fdef = message_class("tensorflow.FunctionDef")()
    fdef.signature.name = name
    fdef.signature.input_arg.add().name = "x"
    for node_name, op, inputs in [("bn", "FusedBatchNormV3", ["x"]), ("sw", "Switch", ["x", "x"]),
                                  ("m", "Merge", ["x", "x"]), ("n", "Identity", ["x"])]:
        node = fdef.node_def.add()
        node.name, node.op = node_name, op
        node.input.extend(inputs)
    node = fdef.node_def.add()
    node.name, node.op = "use", "AddN"
    node.input.extend(["x", "bn:batch_mean:0", "bn:batch_variance:1", "sw:output_true:0", "m:value_index:0",
                       "n:output:3", "n:output:x", "n:output:1234567890", "n:output:123456789", "bn:y:0", "q:out",
                       "^n"])
    for out in ("y", "missing"):
        fdef.signature.output_arg.add().name = out
    fdef.ret["y"] = "bn:y:0"
    fdef.signature.control_output.extend(["done", "absent"])
    fdef.control_ret["done"] = "n"
    return fdef


def test_function_inputs_count_output_args_of_multi_output_ops() -> None:
    from bncheck.graph.model import TensorRef
    from bncheck.loaders.graphs import function_from_proto

    graph = function_from_proto(_function())
    assert graph.nodes["use"].inputs == (
        TensorRef("x", 0), TensorRef("bn", 1), TensorRef("bn", 3), TensorRef("sw", 1), TensorRef("m", 1),
        TensorRef("n", 3), TensorRef("n", 0), TensorRef("n", 0), TensorRef("n", 123456789), TensorRef("bn", 0),
        TensorRef("q", 0))
    assert graph.nodes["use"].control_inputs == ("n",)
    assert (graph.name, graph.args, graph.returns, graph.control_returns) == ("f", ("x",), (TensorRef("bn", 0), None), ("n",))
    arg = graph.nodes["x"]
    assert (arg.op, arg.inputs, arg.control_inputs, dict(arg.attrs)) == ("_Arg", (), (), {})


def test_a_function_library_converts_each_body_once_and_counts_nodes_and_arguments() -> None:
    from bncheck.loaders.graphs import FunctionLibrary

    graph_def = _graph_proto(("a", "Const", []))
    graph_def.library.function.append(_function("f"))
    graph_def.library.function.append(_function("g"))
    library = FunctionLibrary(graph_def)
    assert library["f"] is library["f"]
    assert library["g"].name == "g"
    assert library.node_count() == 2 * (5 + 1)
    assert sorted(library) == ["f", "g"] and len(library) == 2 and "f" in library and "h" not in library


def _meta_graph(*nodes: tuple[str, str, list[str]], function: str = "", tags: tuple[str, ...] = ()) -> Any:
    from bncheck.protos import message_class

    meta = message_class(META_GRAPH_DEF)()
    meta.graph_def.CopyFrom(_graph_proto(*nodes))
    meta.meta_info_def.tags.extend(tags)
    return meta


def test_models_are_labelled_by_their_kind_and_tags() -> None:
    from bncheck.loaders.graphs import (
        model_from_graph_def,
        model_from_meta_graph,
        models_from_saved_model,
    )
    from bncheck.protos import message_class

    graph = model_from_graph_def(_graph_proto(("a", "Const", [])), "m.pb")
    assert (graph.kind, graph.label, graph.source) == ("graphdef", "GraphDef", "m.pb")
    saved = message_class(SAVED_MODEL)()
    saved.meta_graphs.append(_meta_graph(("a", "Const", []), tags=("serve", "gpu")))
    saved.meta_graphs.append(_meta_graph(("a", "Const", [])))
    assert [(m.kind, m.label) for m in models_from_saved_model(saved, "s/saved_model.pb", [{}, {}])] == [
        ("saved_model", "MetaGraph [serve,gpu]"), ("saved_model", "MetaGraph [no tags]")]
    assert [m.label for m in models_from_saved_model(saved, "s/saved_model.pb")] == [
        "MetaGraph [serve,gpu]", "MetaGraph [no tags]"]  # captured names not known yet: found per MetaGraph
    meta = model_from_meta_graph(_meta_graph(("a", "Const", [])), "m.meta", "meta_graph", "MetaGraph")
    assert (meta.kind, meta.label) == ("meta_graph", "MetaGraph")
    assert _error(model_from_meta_graph, _meta_graph(("", "Const", [])), "m.meta", "meta_graph", "MetaGraph") == (
        "m.meta: not a readable graph: node #0 has no name (truncated or corrupt)")


def _saved_meta(calls: list[tuple[str, str, list[str]]], functions: dict[str, list[int]],
                variables: dict[int, str]) -> Any:
    """A MetaGraph whose object graph holds ``variables`` (node id -> TF name) and saved concrete
    functions binding object ids; ``calls``: (name, op, inputs), each calling the function named
    like the node's last input list (attr ``f`` = name with the ``call_`` prefix removed)."""
    meta = _meta_graph(*[(name, op, inputs) for name, op, inputs in calls])
    objects = meta.object_graph_def
    for node_id in range(1 + max(variables, default=0)):
        node = objects.nodes.add()
        if node_id in variables:
            node.variable.name = variables[node_id]
    for name, bound in functions.items():
        objects.concrete_functions[name].bound_inputs.extend(bound)
    for node in meta.graph_def.node:
        if node.name.startswith("call_"):
            node.attr["f"].func.name = node.name[len("call_"):].split(".")[0]
    return meta


def test_captured_variables_are_named_from_the_object_graph() -> None:
    from bncheck.loaders.graphs import variable_names

    meta = _saved_meta(
        [("call_unknown", "StatefulPartitionedCall", ["x", "h0"]),  # no saved function of that name
         ("call_f", "StatefulPartitionedCall", ["x", "h1", "h2:0", "^dep"]),  # object 1 is no variable
         ("call_g", "PartitionedCall", ["h4", "h3"]),  # object 2 bound again: the first binding wins
         ("call_k.x", "Identity", ["x", "h5"])],  # not a call op
        {"f": [1, 2], "g": [2, 3], "k": [4]}, {2: "dense/kernel:0", 3: "bn/moving_mean", 4: "other/v"})
    assert variable_names(meta) == {"h2": "dense/kernel", "h3": "bn/moving_mean"}
    assert variable_names(meta, {2: "k2", 3: "m3", 4: "o4"}) == {"h2": "k2", "h3": "m3"}


# keras_files ------------------------------------------------------------------------------------

@pytest.mark.parametrize("version, config, flavour", [
    ("3.1.0", {}, "keras3"), (" 2.15.0", {}, "tf_keras"), ("", [{"batch_shape": [None, 3]}], ""),  # a config that is no object tells nothing
    ("", {"module": "tf_keras.src.engine"}, "tf_keras"), ("", {"a": {"batch_input_shape": [None, 3]}}, "tf_keras"),
    ("", {"module": "keras.src.models.functional"}, "keras3"), ("", {"batch_shape": [None, 3]}, "keras3"),
    ("", {"module": "keras.layers", "batch_size": 3}, ""), ("1.2", {"module": "TF_KERAS.x"}, ""),
])
def test_the_keras_flavour_comes_from_the_version_else_the_modules_named(version: str, config: object,
                                                                          flavour: str) -> None:
    from bncheck.graph.keras_model import KERAS3, TF_KERAS
    from bncheck.loaders.keras_files import keras_flavour

    assert {KERAS3: "keras3", TF_KERAS: "tf_keras", "": ""}[keras_flavour(version, config)] == flavour
