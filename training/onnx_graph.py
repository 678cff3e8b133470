"""The ONNX graph of the tag GPT, written node by node with onnx.helper.

Why not torch.onnx.export: tracing turns every `x.view(b, t, ...)` into a chain of
Shape/Gather/Unsqueeze/Concat nodes. That export had ~270 nodes for a 3-layer model, and at
this model size onnxruntime's per-node cost, not the matrix products, set the time of a
sampling step. Here reshapes use constant shapes (0 = keep that dimension), the attention scale
is folded into the query weights, GELU is onnxruntime's FastGelu with the bias fused, and the
attention mask is built once for all layers: about 80 nodes.

Inputs and outputs are those of Hugging Face optimum's GPT-2 "with past" export:
input_ids [B, T], attention_mask [B, P + T], position_ids [B, T],
past_key_values.{i}.key/value [B, H, P, D] -> logits [B, T, V], present.{i}.key/value
[B, H, P + T, D]. training/tests/test_onnx_graph.py and the Node parity test check the result
against the PyTorch model.
"""
from __future__ import annotations

import math
from typing import Dict, List

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from model import GPT

OPSET = 17  # LayerNormalization
MS_DOMAIN = "com.microsoft"  # FastGelu: an onnxruntime contrib op


class GraphBuilder:
    """Collects nodes and initializers; names every intermediate value after its node."""

    def __init__(self) -> None:
        self.nodes: List[onnx.NodeProto] = []
        self.initializers: List[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: List[str], name: str, domain: str = "", **attrs) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, domain=domain, **attrs))
        return name

    def ops(self, op_type: str, inputs: List[str], outputs: List[str], name: str, **attrs) -> List[str]:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=name, **attrs))
        return outputs


def weights(model: GPT) -> Dict[str, np.ndarray]:
    return {name: t.detach().cpu().numpy().astype(np.float32) for name, t in model.state_dict().items()}


def build_graph(model: GPT) -> onnx.ModelProto:
    cfg = model.config
    n_head, n_embd = cfg.n_head, cfg.n_embd
    head_dim = n_embd // n_head
    w = weights(model)
    g = GraphBuilder()
    eps = cfg.layer_norm_epsilon

    wte = g.const("transformer.wte.weight", w["transformer.wte.weight"])
    wpe = g.const("transformer.wpe.weight", w["transformer.wpe.weight"])
    split_heads_shape = g.const("shape.split_heads", np.array([0, 0, 3 * n_head, head_dim], dtype=np.int64))
    merge_heads_shape = g.const("shape.merge_heads", np.array([0, 0, n_embd], dtype=np.int64))
    qkv_split = g.const("split.qkv", np.array([n_head] * 3, dtype=np.int64))
    axis_1 = g.const("axes.1", np.array([1], dtype=np.int64))
    axes_1_2 = g.const("axes.1_2", np.array([1, 2], dtype=np.int64))
    one = g.const("int.1", np.array(1, dtype=np.int64))
    zero_f = g.const("float.0", np.array(0.0, dtype=np.float32))
    masked_f = g.const("float.min", np.array(np.finfo(np.float32).min, dtype=np.float32))

    # Embeddings.
    x = g.op("Add", [g.op("Gather", [wte, "input_ids"], "embed.tokens"), g.op("Gather", [wpe, "position_ids"], "embed.positions")], "embed")

    # Additive attention bias [B, 1, T, P + T], shared by the layers: key j is visible to query i
    # when j <= P + i (causal) and attention_mask[b, j] is set.
    total_len = g.op("Gather", [g.op("Shape", ["attention_mask"], "mask.shape"), one], "mask.total_len", axis=0)
    new_len = g.op("Gather", [g.op("Shape", ["input_ids"], "ids.shape"), one], "mask.new_len", axis=0)
    zero_i = g.const("int.0", np.array(0, dtype=np.int64))
    key_pos = g.op("Range", [zero_i, total_len, one], "mask.key_pos")
    query_pos = g.op("Range", [g.op("Sub", [total_len, new_len], "mask.past_len"), total_len, one], "mask.query_pos")
    causal = g.op("LessOrEqual", [key_pos, g.op("Unsqueeze", [query_pos, axis_1], "mask.query_col")], "mask.causal")  # [T, S]
    padding = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], "mask.bool", to=TensorProto.BOOL), axes_1_2], "mask.padding")  # [B,1,1,S]
    allowed = g.op("And", [causal, padding], "mask.allowed")  # [B, 1, T, S]
    bias = g.op("Where", [allowed, zero_f, masked_f], "mask.bias")

    def layer_norm(x: str, prefix: str, name: str) -> str:
        gain, shift = g.const(prefix + ".weight", w[prefix + ".weight"]), g.const(prefix + ".bias", w[prefix + ".bias"])
        return g.op("LayerNormalization", [x, gain, shift], name, axis=-1, epsilon=eps)

    def linear(x: str, prefix: str, matmul_name: str, name: str, weight=None, bias=None) -> str:
        """x @ weight + bias, a Conv1D of `prefix` ([in, out]); `weight`/`bias` replace its values."""
        product = g.op("MatMul", [x, g.const(prefix + ".weight", w[prefix + ".weight"] if weight is None else weight)], matmul_name)
        return g.op("Add", [product, g.const(prefix + ".bias", w[prefix + ".bias"] if bias is None else bias)], name)

    scale = 1.0 / math.sqrt(head_dim)
    for i in range(cfg.n_layer):
        p = f"transformer.h.{i}."
        ln1 = layer_norm(x, p + "ln_1", f"h{i}.ln_1")
        # Fold 1/sqrt(head_dim) into the query columns: one Mul fewer per layer.
        qkv_w = w[p + "attn.c_attn.weight"].copy()
        qkv_b = w[p + "attn.c_attn.bias"].copy()
        qkv_w[:, :n_embd] *= scale
        qkv_b[:n_embd] *= scale
        qkv = linear(ln1, p + "attn.c_attn", f"h{i}.qkv_matmul", f"h{i}.qkv", qkv_w, qkv_b)
        heads = g.op("Transpose", [g.op("Reshape", [qkv, split_heads_shape], f"h{i}.qkv_heads")], f"h{i}.qkv_bhtd", perm=[0, 2, 1, 3])
        q, k_new, v_new = g.ops("Split", [heads, qkv_split], [f"h{i}.q", f"h{i}.k_new", f"h{i}.v_new"], f"h{i}.split", axis=1)
        k = g.op("Concat", [f"past_key_values.{i}.key", k_new], f"present.{i}.key", axis=2)
        v = g.op("Concat", [f"past_key_values.{i}.value", v_new], f"present.{i}.value", axis=2)
        scores = g.op("MatMul", [q, g.op("Transpose", [k], f"h{i}.k_t", perm=[0, 1, 3, 2])], f"h{i}.scores")
        att = g.op("Softmax", [g.op("Add", [scores, bias], f"h{i}.scores_masked")], f"h{i}.att", axis=-1)
        y = g.op("MatMul", [att, v], f"h{i}.y_heads")
        y = g.op("Reshape", [g.op("Transpose", [y], f"h{i}.y_bthd", perm=[0, 2, 1, 3]), merge_heads_shape], f"h{i}.y")
        attn_out = linear(y, p + "attn.c_proj", f"h{i}.attn_proj", f"h{i}.attn_out")
        x = g.op("Add", [x, attn_out], f"h{i}.resid_1")
        ln2 = layer_norm(x, p + "ln_2", f"h{i}.ln_2")
        fc = g.op("MatMul", [ln2, g.const(p + "mlp.c_fc.weight", w[p + "mlp.c_fc.weight"])], f"h{i}.fc")
        act = g.op("FastGelu", [fc, g.const(p + "mlp.c_fc.bias", w[p + "mlp.c_fc.bias"])], f"h{i}.gelu", domain=MS_DOMAIN)
        mlp_out = linear(act, p + "mlp.c_proj", f"h{i}.mlp_proj", f"h{i}.mlp_out")
        x = g.op("Add", [x, mlp_out], f"h{i}.resid_2")

    ln_f = layer_norm(x, "transformer.ln_f", "ln_f")
    # Tied output embedding: the file keeps one copy of wte; onnxruntime folds the Transpose at load.
    g.op("MatMul", [ln_f, g.op("Transpose", [wte], "lm_head.weight", perm=[1, 0])], "logits")

    batch, seq, past, total = "batch_size", "sequence_length", "past_sequence_length", "past_sequence_length + sequence_length"
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, [batch, seq]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [batch, total]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, [batch, seq]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, seq, cfg.vocab_size])]
    for i in range(cfg.n_layer):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kind}", TensorProto.FLOAT, [batch, n_head, past, head_dim]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{kind}", TensorProto.FLOAT, [batch, n_head, total, head_dim]))
    graph = helper.make_graph(g.nodes, "tag_gpt", inputs, outputs, initializer=g.initializers)
    model_proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, 1)],
        producer_name="danbooru-gpt training/onnx_graph.py",
    )
    model_proto.ir_version = 8  # readable by onnxruntime 1.14+
    return model_proto


def save_graph(model: GPT, path: str) -> None:
    onnx.save(build_graph(model), path)
