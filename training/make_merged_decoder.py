"""Rewrite a GPT-2 ONNX export with a KV cache into the "merged decoder" layout of older optimum and
transformers.js exports (`onnx/decoder_model_merged.onnx`): one `If` on a `use_cache_branch` input,
its then-branch the graph with the past, its else-branch the graph that ignores the past.

    /usr/bin/python3 training/make_merged_decoder.py MODEL_DIR OUT_DIR

Copies MODEL_DIR's json files to OUT_DIR and writes OUT_DIR/onnx/decoder_model_merged.onnx (no
onnx/model.onnx). For the runtime's tests: the merged file must give the same logits as the source
when `use_cache_branch` is fed right (false on the first run, true once there is a past). The
else-branch reads the past cut to length 0, so a flag fed wrong after the first run changes the
logits (or fails on the mask's length) instead of passing unnoticed. A generated file, not a model.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys

import onnx
from onnx import TensorProto, helper


def branch(graph: onnx.GraphProto, prefix: str, past_inputs: list[str]) -> onnx.GraphProto:
    """The source graph's nodes as an `If` branch: values renamed with `prefix`, graph inputs and
    initializers read from the outer scope; `past_inputs` are read through a slice to length 0."""
    rename = {}
    for node in graph.node:
        for name in node.output:
            if name:
                rename[name] = prefix + name
    nodes = []
    for past in past_inputs:
        # past[:, :, 0:0, :]: the shape of an empty past, so the branch never sees cached values.
        empty = f"{prefix}{past}.empty"
        nodes.append(helper.make_node("Slice", [past, f"{prefix}zero", f"{prefix}zero", f"{prefix}axis2"], [empty]))
        rename[past] = empty
    if past_inputs:
        nodes.insert(0, helper.make_node("Constant", [], [f"{prefix}zero"], value=helper.make_tensor("v", TensorProto.INT64, [1], [0])))
        nodes.insert(1, helper.make_node("Constant", [], [f"{prefix}axis2"], value=helper.make_tensor("v", TensorProto.INT64, [1], [2])))
    for node in graph.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = prefix + node.name
        copy.input[:] = [rename.get(name, name) for name in node.input]
        copy.output[:] = [rename[name] if name else name for name in node.output]
        nodes.append(copy)
    outputs = []
    for value in graph.output:
        out = onnx.ValueInfoProto()
        out.CopyFrom(value)
        out.name = rename[value.name]
        outputs.append(out)
    return helper.make_graph(nodes, f"{prefix}branch", [], outputs)


def merge(source: onnx.ModelProto) -> onnx.ModelProto:
    graph = source.graph
    past_inputs = [value.name for value in graph.input if value.name.startswith("past_key_values.")]
    if not past_inputs:
        raise SystemExit("make_merged_decoder: the source graph has no past_key_values inputs")
    with_past = branch(graph, "with_past/", [])
    without_past = branch(graph, "without_past/", past_inputs)
    use_cache = helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])
    node = helper.make_node("If", ["use_cache_branch"], [value.name for value in graph.output], then_branch=with_past, else_branch=without_past)
    merged = helper.make_graph([node], "merged_decoder", list(graph.input) + [use_cache], list(graph.output), list(graph.initializer))
    model = helper.make_model(merged, opset_imports=source.opset_import, producer_name="danbooru-gpt make_merged_decoder.py (generated, for tests)")
    model.ir_version = source.ir_version
    onnx.checker.check_model(model)
    return model


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("out_dir")
    args = parser.parse_args(argv)
    source_path = os.path.join(args.model_dir, "onnx", "model.onnx")
    if not os.path.exists(source_path):
        source_path = os.path.join(args.model_dir, "model.onnx")
    model = merge(onnx.load(source_path))
    os.makedirs(os.path.join(args.out_dir, "onnx"), exist_ok=True)
    for name in os.listdir(args.model_dir):
        if name.endswith(".json"):
            shutil.copyfile(os.path.join(args.model_dir, name), os.path.join(args.out_dir, name))
    onnx.save(model, os.path.join(args.out_dir, "onnx", "decoder_model_merged.onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
