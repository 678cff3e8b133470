"""Int8 weights and activations for an exported GPT, calibrated on training posts.

    /usr/bin/python3 training/quantize.py models/default/onnx/model.onnx /tmp/model-int8.onnx \
        --posts ../shared/data/posts-danbooru2020-general.tsv

Every MatMul or Gemm by a constant weight matrix becomes QuantizeLinear + onnxruntime's
MatMulIntegerToFloat: weights in int8, symmetric, one scale per output column (max |w| / 127);
activations in uint8 (zero point 128) with one fixed scale per MatMul, max |activation| / 127
over calibration posts. A bias (Gemm's, or an Add right after a MatMul) is folded into the op.
Works on the graph of training/onnx_graph.py and on traced or optimum GPT-2 exports, of a tag
model (calibration feeds one token per tag) or of a byte-level BPE model such as an export of
mio/danbooru-gpt2 (calibration feeds the posts written as the runtime writes a prompt,
`<|endoftext|>t1, t2, t3,` per config.json's tag_model, tokenized by the runtime's own tokenizer
library in calibrate.mjs). The tied output
embedding (MatMul by Transpose(wte)) is quantized per row of wte, and the token lookup (Gather on
wte) reads the same int8 rows times their scales, so the file holds the embedding once. The
position embedding, layer norms and attention over the cache stay float32.

Why fixed activation scales: onnxruntime's DynamicQuantizeMatMul takes one scale for the whole
run, so a row's logits would depend on the other rows and positions in the same run (up to 0.2
apart on the shipped model: a cached step would not equal the whole sequence). With fixed scales
every position's logits depend on its own sequence only, as in float32. On the shipped model the
int8 graph scores the validation cases as the float32 one (`npm run bench:precision`) and samples
about twice as fast (docs/benchmarks.md, runs 49-54).

Calibration: the posts of the training split (post id crc32 % 100 >= --val-percent), every
--every-th, at most --max-posts of them (a dump of millions of posts would otherwise run for hours
through a GPT-2-sized graph), `<|bos|>` + tags in the vocabulary, run by onnxruntime-node itself
(training/calibrate.mjs) on a copy of the graph that exposes the MatMuls' inputs.
The folder of SOURCE (or its parent, for onnx/model.onnx) must hold config.json and
tokenizer.json. SOURCE is never modified; TARGET is written through a temporary file.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tags import DEFAULT_VAL_PERCENT, DataError, HelpFormatter, Post, TagTokenizer, read_posts, recorded_split, split_posts  # noqa: E402

MS_DOMAIN = "com.microsoft"
# The shipped model calibrated on 938 posts (every 15th of the training split); more adds little.
DEFAULT_MAX_POSTS = 2000
CALIBRATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calibrate.mjs")


class QuantizeError(ValueError):
    pass


@dataclass
class WeightMatMul:
    """A product by a constant matrix: `activation` @ weight. A MatMul by a [K, N] initializer or by
    the Transpose of a [N, K] one (a tied embedding), or a Gemm (traced and optimum exports) by a
    [K, N] initializer, or [N, K] with transB, plus an optional bias of N."""

    node: onnx.NodeProto
    activation: str
    weight: str  # the float initializer
    transposed: Optional[onnx.NodeProto] = None  # the Transpose node when the weight is tied (used as [N, K])
    gemm_transposed: bool = False  # a Gemm with transB = 1
    gemm_bias: str = ""  # a Gemm's C input, if any


def quantize_columns(weight: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per column of a [K, N] matrix: weight ~= q * scale[None, :]."""
    scale = np.abs(weight).max(axis=0) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
    return q, scale


def float_initializers(model: onnx.ModelProto) -> Dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer if t.data_type == TensorProto.FLOAT}


def inline_identity_initializers(model: onnx.ModelProto) -> int:
    """Reads through `Identity` nodes of initializers (torch.onnx writes one where two parameters are
    equal, e.g. the zero biases of a freshly initialized layer, keeping one copy): their consumers take
    the initializer itself, so that those MatMuls' weights and biases are seen as constants. Returns
    how many Identity nodes were removed."""
    graph = model.graph
    names = {t.name for t in graph.initializer}
    # Names a subgraph (an If or Loop body) reads from this scope are left as they are.
    kept_names = {o.name for o in graph.output} | names_read_in_subgraphs(graph)
    alias: Dict[str, str] = {}
    for node in graph.node:
        source = alias.get(node.input[0], node.input[0]) if node.input else ""
        if node.op_type == "Identity" and source in names and node.output[0] not in kept_names:
            alias[node.output[0]] = source
    if not alias:
        return 0
    kept = [node for node in graph.node if node.output[0] not in alias]
    for node in kept:
        for i, name in enumerate(node.input):
            if name in alias:
                node.input[i] = alias[name]
    del graph.node[:]
    graph.node.extend(kept)
    return len(alias)


def subgraphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """Every subgraph of `graph`'s nodes (If branches, Loop bodies), nested ones included."""
    for node in graph.node:
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else list(attribute.graphs):
                yield subgraph
                yield from subgraphs(subgraph)


def names_read_in_subgraphs(graph: onnx.GraphProto) -> set:
    """Every input name of the nodes of `graph`'s subgraphs, nested ones included."""
    return {name for subgraph in subgraphs(graph) for node in subgraph.node for name in node.input}


def no_weight_matmul_message(model: onnx.ModelProto) -> str:
    """Why a graph has nothing to quantize: already int8, or its products inside If/Loop branches."""
    if any(node.op_type in ("MatMul", "Gemm") for subgraph in subgraphs(model.graph) for node in subgraph.node):
        return ("the weight products are inside If/Loop branches (an older export's merged decoder, decoder_model_merged.onnx), "
                "which this tool does not rewrite: export the model again with a current optimum (onnx/model.onnx) and quantize that")
    return "no MatMul or Gemm by a float32 weight matrix (already quantized?)"


def weight_matmuls(model: onnx.ModelProto) -> List[WeightMatMul]:
    floats = float_initializers(model)
    producer = {out: node for node in model.graph.node for out in node.output}
    found = []
    for node in model.graph.node:
        if node.op_type == "Gemm":
            gemm = gemm_by_weight(node, floats)
            if gemm is not None:
                found.append(gemm)
            continue
        if node.op_type != "MatMul" or len(node.input) != 2:
            continue
        a, b = node.input
        if b in floats and floats[b].ndim == 2:
            found.append(WeightMatMul(node, a, b, None))
            continue
        transpose = producer.get(b)
        if transpose is not None and transpose.op_type == "Transpose" and transpose.input[0] in floats:
            perm = next((list(at.ints) for at in transpose.attribute if at.name == "perm"), [1, 0])
            if perm == [1, 0] and floats[transpose.input[0]].ndim == 2:
                found.append(WeightMatMul(node, a, transpose.input[0], transpose))
    return found


def gemm_by_weight(node: onnx.NodeProto, floats: Dict[str, np.ndarray]) -> Optional[WeightMatMul]:
    """A Gemm that is `A @ W (+ bias)`: alpha = beta = 1, A not transposed, W a 2-D float initializer,
    the bias absent or of one value per output column."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA", 0) != 0:
        return None
    weight = node.input[1]
    if weight not in floats or floats[weight].ndim != 2:
        return None
    transposed = attrs.get("transB", 0) == 1
    columns = floats[weight].shape[0 if transposed else 1]
    bias = node.input[2] if len(node.input) > 2 else ""
    if bias and not (bias in floats and floats[bias].shape == (columns,)):
        return None
    return WeightMatMul(node, node.input[0], weight, gemm_transposed=transposed, gemm_bias=bias)


def calibration_model(model: onnx.ModelProto) -> Tuple[onnx.ModelProto, List[str]]:
    """A copy of the model that also outputs the activations of its weight MatMuls."""
    matmuls = weight_matmuls(model)
    if not matmuls:
        raise QuantizeError(no_weight_matmul_message(model))
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    names = list(dict.fromkeys(m.activation for m in matmuls))
    existing = {o.name for o in copy.graph.output}
    for name in names:
        if name not in existing:
            copy.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    return copy, names


def quantize_model(model: onnx.ModelProto, ranges: Dict[str, float]) -> Tuple[onnx.ModelProto, int]:
    """Rewrites `model` in place with int8 MatMuls; `ranges` maps each MatMul's activation to its max |value|."""
    graph = model.graph
    floats = float_initializers(model)
    matmuls = weight_matmuls(model)
    if not matmuls:
        raise QuantizeError(no_weight_matmul_message(model))
    consumers: Dict[str, List[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    graph_outputs = {o.name for o in graph.output}
    initializers: Dict[str, onnx.TensorProto] = {}
    # Nodes are named by their first output (unique in a graph): protobuf wrappers need not keep their id().
    dropped: set = set()  # nodes folded into others
    replacement: Dict[str, List[onnx.NodeProto]] = {}
    tied: Dict[str, Tuple[str, str]] = {}  # embedding -> (its int8 rows [N, K], their scales [N, 1])

    def add(name: str, value: np.ndarray) -> str:
        initializers.setdefault(name, numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    for m in matmuls:
        limit = ranges.get(m.activation)
        if limit is None or not np.isfinite(limit) or limit <= 0:
            raise QuantizeError(f"no calibration range for {m.activation!r} (the input of {m.node.name or m.node.output[0]})")
        name = m.node.name or m.node.output[0]
        before: List[onnx.NodeProto] = []
        if m.transposed is None:
            matrix = floats[m.weight].T if m.gemm_transposed else floats[m.weight]
            stored = m.weight + (".transposed" if m.gemm_transposed else "")
            q, scale = quantize_columns(matrix)
            weight, weight_scale = add(stored + ".int8", q), add(stored + ".scale", scale)
            columns = q.shape[1]
        else:
            if m.weight not in tied:
                rows_q, row_scale = quantize_columns(floats[m.weight].T)  # per row of the [N, K] embedding
                tied[m.weight] = (add(m.weight + ".int8", rows_q.T), add(m.weight + ".row_scale", row_scale.reshape(-1, 1)))
                add(m.weight + ".scale", row_scale)
            weight, weight_scale = name + ".weight", m.weight + ".scale"
            # onnxruntime folds this Transpose of a constant once, at load.
            before.append(helper.make_node("Transpose", [tied[m.weight][0]], [weight], name=weight, perm=[1, 0]))
            if len(consumers[m.transposed.output[0]]) == 1:
                dropped.add(m.transposed.output[0])
            columns = floats[m.weight].shape[0]
        activation_scale = add(name + ".input_scale", np.array(limit / 127.0, dtype=np.float32))
        zero_point = add("uint8.128", np.array(128, dtype=np.uint8))
        quantized_input = name + ".input_uint8"
        before.append(helper.make_node("QuantizeLinear", [m.activation, activation_scale, zero_point], [quantized_input], name=quantized_input))
        inputs = [quantized_input, weight, activation_scale, weight_scale, zero_point]
        output = m.node.output[0]
        users = consumers[output]
        if m.gemm_bias:
            inputs += ["", m.gemm_bias]  # no zero point for the int8 weights
        elif len(users) == 1 and output not in graph_outputs and users[0].op_type == "Add":
            bias_add = users[0]
            bias = bias_add.input[1] if bias_add.input[0] == output else bias_add.input[0]
            if bias in floats and floats[bias].shape == (columns,):
                inputs += ["", bias]  # no zero point for the int8 weights
                output = bias_add.output[0]
                dropped.add(bias_add.output[0])
        replacement[m.node.output[0]] = before + [
            helper.make_node("MatMulIntegerToFloat", inputs, [output], name=name, domain=MS_DOMAIN)
        ]

    nodes: List[onnx.NodeProto] = []
    for node in graph.node:
        if node.output[0] in dropped:
            continue
        if node.output[0] in replacement:
            nodes += replacement[node.output[0]]
        elif node.op_type == "Gather" and node.input[0] in tied:
            # Token lookup in the tied embedding: its int8 rows times their scales.
            rows, scales = tied[node.input[0]]
            ids, out = node.input[1], node.output[0]
            nodes += [
                helper.make_node("Gather", [rows, ids], [out + ".int8"], name=out + ".int8"),
                helper.make_node("Cast", [out + ".int8"], [out + ".float"], name=out + ".float", to=TensorProto.FLOAT),
                helper.make_node("Gather", [scales, ids], [out + ".scale"], name=out + ".scale"),
                helper.make_node("Mul", [out + ".float", out + ".scale"], [out], name=out),
            ]
        else:
            nodes.append(node)

    used = {name for node in nodes for name in node.input}
    kept = [t for t in graph.initializer if t.name in used] + [t for n, t in initializers.items() if n in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(op.domain == MS_DOMAIN for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    onnx.checker.check_model(model)
    return model, len(matmuls)


def model_folder(source: str) -> str:
    folder = os.path.dirname(os.path.abspath(source))
    return os.path.dirname(folder) if os.path.basename(folder) == "onnx" else folder


def tokenizer_kind(tokenizer_file: str) -> str:
    with open(tokenizer_file, encoding="utf-8") as f:
        return json.load(f)["model"].get("type")


def calibration_posts(posts: str, every: int, val_percent: int, categories: Sequence[str], max_posts: int) -> List[Post]:
    """Every `every`-th training-split post, the first `max_posts` of them."""
    training, _ = split_posts(read_posts(posts, categories), val_percent)
    return training[::every][:max_posts]


def calibration_sequences(posts: str, tokenizer_file: str, positions: int, every: int, val_percent: int,
                          categories: Sequence[str] = ("general",), max_posts: int = DEFAULT_MAX_POSTS) -> List[List[int]]:
    """The inputs training feeds the model (`<|bos|>` + the post's tags in the vocabulary, without
    the `<|eos|>` that is only a target) for every `every`-th training-split post."""
    kind = tokenizer_kind(tokenizer_file)
    if kind != "WordLevel":
        raise QuantizeError(f"{tokenizer_file}: a {kind} tokenizer; calibration_texts() writes posts for it")
    tokenizer = TagTokenizer.load(tokenizer_file)
    sequences = [tokenizer.encode_post(post.tags)[:-1][:positions] for post in calibration_posts(posts, every, val_percent, categories, max_posts)]
    sequences = [ids for ids in sequences if len(ids) > 1]  # posts with no tag in the vocabulary give nothing
    if not sequences:
        raise QuantizeError(f"{posts}: no training-split post with a tag in the vocabulary")
    return sequences


def calibration_texts(posts: str, config: dict, every: int, val_percent: int,
                      categories: Sequence[str] = ("general",), max_posts: int = DEFAULT_MAX_POSTS) -> List[str]:
    """Every `every`-th training-split post as a BPE model reads a prompt (the runtime's
    BpeModelEngine.contextTokens, before `<|endoftext|>`): each tag followed by the separator, tags
    joined by between_tags, underscores as spaces where tag_spaces says so."""
    tag_model = config.get("tag_model") or {}
    separator = tag_model.get("separator") if isinstance(tag_model.get("separator"), str) and tag_model.get("separator") else ","
    between = tag_model.get("between_tags") if isinstance(tag_model.get("between_tags"), str) else " "
    spaces = tag_model.get("tag_spaces") is True
    texts = [between.join((tag.replace("_", " ") if spaces else tag) + separator for tag in post.tags)
             for post in calibration_posts(posts, every, val_percent, categories, max_posts)]
    texts = [text for text in texts if text]
    if not texts:
        raise QuantizeError(f"{posts}: no training-split post")
    return texts


def bos_token_id(config: dict, tokenizer_file: str) -> int:
    """The token the runtime starts every prompt with: config's bos_token_id, else `<|endoftext|>`."""
    if isinstance(config.get("bos_token_id"), int):
        return config["bos_token_id"]
    with open(tokenizer_file, encoding="utf-8") as f:
        vocab = json.load(f)["model"].get("vocab", {})
    if "<|endoftext|>" not in vocab:
        raise QuantizeError(f"{tokenizer_file}: no bos_token_id in config.json and no <|endoftext|> token")
    return vocab["<|endoftext|>"]


def calibrate(model: onnx.ModelProto, folder: str, posts: str, every: int, val_percent: Optional[int],
              max_posts: int = DEFAULT_MAX_POSTS) -> Dict[str, float]:
    """Max |activation| of every weight MatMul's input, measured by onnxruntime-node."""
    probe, names = calibration_model(model)
    for needed in ("config.json", "tokenizer.json"):
        if not os.path.isfile(os.path.join(folder, needed)):
            raise QuantizeError(f"{os.path.join(folder, needed)} is missing: calibration reads the model folder's config and tokenizer")
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    # The split and categories the model was trained with (export.py records them), unless given.
    training = config.get("tag_model", {}).get("training", {})
    if val_percent is None:
        val_percent = recorded_split(training)
    tokenizer_file = os.path.join(folder, "tokenizer.json")
    categories = training.get("categories", ["general"])
    calibration: Dict[str, object] = {"heads": config["n_head"], "headSize": config["n_embd"] // config["n_head"], "outputs": names}
    if tokenizer_kind(tokenizer_file) == "WordLevel":
        calibration["sequences"] = sequences = calibration_sequences(posts, tokenizer_file, config["n_positions"], every, val_percent, categories, max_posts)
    else:
        # Sub-word tokens: the runtime's tokenizer library splits the text, as it will at run time.
        sequences = calibration_texts(posts, config, every, val_percent, categories, max_posts)
        tokenizer_config = os.path.join(folder, "tokenizer_config.json")
        calibration.update(texts=sequences, tokenizer=tokenizer_file, bos=bos_token_id(config, tokenizer_file), positions=config["n_positions"],
                           tokenizerConfig=tokenizer_config if os.path.isfile(tokenizer_config) else None)
    with tempfile.TemporaryDirectory() as work:
        graph, request = os.path.join(work, "probe.onnx"), os.path.join(work, "request.json")
        onnx.save(probe, graph)
        with open(request, "w", encoding="utf-8") as f:
            json.dump(calibration, f)
        node = os.environ.get("DANBOORU_GPT_NODE", "node")
        result = subprocess.run([node, CALIBRATE, graph, request], capture_output=True, text=True)
        if result.returncode != 0:
            raise QuantizeError(f"calibration failed: {result.stderr.strip()}")
    ranges = json.loads(result.stdout)
    print(f"calibrated on {len(sequences)} posts: " + ", ".join(f"{n} {ranges[n]:.2f}" for n in names), file=sys.stderr)
    return ranges


def quantize_file(source: str, target: str, posts: str, every: int = 15, val_percent: Optional[int] = None,
                  max_posts: int = DEFAULT_MAX_POSTS) -> int:
    if os.path.abspath(source) == os.path.abspath(target):
        raise QuantizeError(f"{target}: write the int8 model to another file than its source")
    # Before the calibration's minutes, not after them.
    if os.path.isdir(target):
        raise QuantizeError(f"{target}: a folder; give the int8 model's file (FOLDER/onnx/model.onnx)")
    try:
        model = onnx.load(source)
    except Exception as err:  # a corrupt file raises DecodeError and others
        raise QuantizeError(f"{source}: not a readable ONNX model: {err}") from err
    inline_identity_initializers(model)
    try:
        ranges = calibrate(model, model_folder(source), posts, every, val_percent, max_posts)
        model, count = quantize_model(model, ranges)
    except QuantizeError as err:
        raise QuantizeError(f"{source}: {err}") from err
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    tmp = target + ".tmp"
    try:
        onnx.save(model, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return count


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("source", help="float32 ONNX model (in a model folder with config.json and tokenizer.json)")
    p.add_argument("target", help="int8 ONNX model to write")
    p.add_argument("--posts", required=True, help="posts, as train.py reads them (id<TAB>tag,tag,... or JSON lines): calibration data")
    p.add_argument("--every", type=int, default=15, help="calibrate on every N-th training-split post (default 15)")
    p.add_argument("--max-posts", type=int, default=DEFAULT_MAX_POSTS,
                   help=f"calibrate on at most this many posts, the first picked (default {DEFAULT_MAX_POSTS})")
    p.add_argument("--val-percent", type=int, default=None,
                   help="the training split's complement is calibrated on (default: config.json's tag_model.training, "
                        f"else {DEFAULT_VAL_PERCENT})")
    args = p.parse_args(argv)
    try:
        if args.every < 1 or args.max_posts < 1:
            raise QuantizeError("--every and --max-posts must be at least 1")
        if args.val_percent is not None and not 0 <= args.val_percent < 100:
            raise QuantizeError(f"--val-percent {args.val_percent}: expected 0..99")
        count = quantize_file(args.source, args.target, args.posts, args.every, args.val_percent, args.max_posts)
    except (QuantizeError, DataError, OSError, onnx.checker.ValidationError) as err:
        print(f"quantize: {err}", file=sys.stderr)
        return 1
    before, after = os.path.getsize(args.source), os.path.getsize(args.target)
    print(f"{args.target}: {count} MatMuls in int8, {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
