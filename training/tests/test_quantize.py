import json
import os
import sys
import tempfile
import unittest

import numpy as np
import onnx
import torch
from onnx import TensorProto, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from model import GPT, GPTConfig  # noqa: E402
from onnx_graph import build_graph  # noqa: E402
from quantize import (QuantizeError, bos_token_id, calibration_model, calibration_sequences, calibration_texts,  # noqa: E402
                      inline_identity_initializers, quantize_columns, quantize_model, weight_matmuls)
from tags import is_validation  # noqa: E402
from tiny_run import run_main  # noqa: E402


def write_posts(folder: str, tags: str) -> tuple:
    """A posts file of 40 posts (ids 0-39) with the same tags; returns its path and the ids."""
    path, ids = os.path.join(folder, "posts.tsv"), [str(i) for i in range(40)]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{post_id}\t{tags}\n" for post_id in ids)
    return path, ids


class QuantizeTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.model = GPT(GPTConfig(vocab_size=50, n_positions=32, n_embd=16, n_layer=2, n_head=2)).eval()
        self.graph = build_graph(self.model)

    def test_column_quantization_is_symmetric_and_within_half_a_step(self):
        w = np.random.default_rng(1).normal(size=(16, 40)).astype(np.float32)
        w[:, 3] = 0  # an all-zero column keeps a usable scale
        q, scale = quantize_columns(w)
        self.assertEqual(q.dtype, np.int8)
        self.assertEqual(np.abs(q).max(axis=0)[0], 127)
        self.assertTrue(np.all(np.abs(q.astype(np.float32) * scale - w) <= scale / 2 + 1e-7))
        self.assertEqual(scale[3], 1.0)

    def test_every_weight_matmul_is_found_the_tied_head_included(self):
        found = weight_matmuls(self.graph)
        self.assertEqual(len(found), 4 * 2 + 1)  # qkv, attention out, mlp in, mlp out per layer + output
        self.assertEqual([m.weight for m in found if m.transposed is not None], ["transformer.wte.weight"])
        probe, names = calibration_model(self.graph)
        self.assertEqual(names, list(dict.fromkeys(m.activation for m in found)))
        self.assertTrue({"logits", *names} <= {o.name for o in probe.graph.output})
        self.assertNotIn(names[0], {o.name for o in self.graph.graph.output}, "the source model is left as it was")

    def test_rewrite_has_int8_weights_fixed_input_scales_and_one_copy_of_the_embedding(self):
        found = weight_matmuls(self.graph)
        ranges = {m.activation: 4.0 for m in found}
        model, count = quantize_model(self.graph, ranges)
        self.assertEqual(count, 9)
        ops = [n.op_type for n in model.graph.node]
        self.assertEqual(ops.count("MatMulIntegerToFloat"), 9)
        self.assertEqual(ops.count("QuantizeLinear"), 9)
        self.assertEqual(weight_matmuls(model), [], "no float weight MatMul left")
        inits = {t.name: t for t in model.graph.initializer}
        self.assertNotIn("transformer.wte.weight", inits, "the tied embedding is kept once, in int8")
        self.assertEqual(inits["transformer.wte.weight.int8"].data_type, TensorProto.INT8)
        scale = numpy_helper.to_array(next(t for n, t in inits.items() if n.endswith(".input_scale")))
        self.assertAlmostEqual(float(scale), 4.0 / 127, places=7)
        # Bias Adds after the projections are folded: the embedding sum, residuals and attention masks stay.
        self.assertEqual(ops.count("Add"), 1 + 2 * 2 + 2)
        with self.assertRaisesRegex(QuantizeError, "already quantized"):
            quantize_model(model, ranges)

    def test_a_gemm_with_transposed_weight_and_bias_becomes_one_int8_product(self):
        from onnx import helper

        rng = np.random.default_rng(2)
        w = rng.normal(size=(3, 4)).astype(np.float32)  # [N, K], used transposed
        bias = rng.normal(size=(3,)).astype(np.float32)
        graph = helper.make_graph(
            [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="proj", transB=1)],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
            initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "b")],
        )
        model, count = quantize_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), {"x": 2.0})
        self.assertEqual(count, 1)
        product = model.graph.node[-1]
        self.assertEqual(product.op_type, "MatMulIntegerToFloat")
        self.assertEqual((list(product.input)[5:], list(product.output)), (["", "b"], ["y"]))
        inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        np.testing.assert_array_equal(inits[product.input[1]], quantize_columns(w.T)[0])
        self.assertNotIn("w", inits)
        # A Gemm that scales its product is left alone.
        graph.node[0].attribute.append(helper.make_attribute("alpha", 0.5))
        with self.assertRaisesRegex(QuantizeError, "already quantized"):
            quantize_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), {"x": 2.0})

    def test_a_gemm_whose_bias_torch_wrote_once_through_identity_is_still_one_int8_product(self):
        from onnx import helper

        rng = np.random.default_rng(3)
        w1, w2 = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(3, 3)).astype(np.float32)
        zero = np.zeros(3, dtype=np.float32)
        # torch.onnx keeps one copy of equal parameters: the second bias reads the first through Identity.
        nodes = [
            helper.make_node("Identity", ["b1"], ["b2"], name="same_bias"),
            helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="first"),
            helper.make_node("Gemm", ["h", "w2", "b2"], ["y"], name="second"),
        ]
        graph = helper.make_graph(
            nodes, "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
            initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(zero, "b1")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        self.assertEqual(len(weight_matmuls(model)), 1, "without reading through Identity the second Gemm is missed")
        self.assertEqual(inline_identity_initializers(model), 1)
        self.assertEqual([n.op_type for n in model.graph.node], ["Gemm", "Gemm"])
        self.assertEqual(list(model.graph.node[1].input), ["h", "w2", "b1"])
        quantized, count = quantize_model(model, {"x": 2.0, "h": 3.0})
        self.assertEqual(count, 2)
        self.assertEqual([n.op_type for n in quantized.graph.node].count("MatMulIntegerToFloat"), 2)
        self.assertEqual(inline_identity_initializers(quantized), 0)
        # An Identity that an If branch reads from the outer scope stays: the branch would lose its input.
        then_branch = helper.make_graph([helper.make_node("MatMul", ["x", "w_copy"], ["t"])], "then", [],
                                        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2, 3])])
        else_branch = helper.make_graph([helper.make_node("MatMul", ["x", "w1"], ["e"])], "else", [],
                                        [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, 3])])
        branching = helper.make_graph(
            [helper.make_node("Identity", ["w1"], ["w_copy"]), helper.make_node("If", ["c"], ["y"], then_branch=then_branch, else_branch=else_branch)],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4]), helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
            initializer=[numpy_helper.from_array(w1, "w1")],
        )
        model = helper.make_model(branching, opset_imports=[helper.make_opsetid("", 17)])
        self.assertEqual(inline_identity_initializers(model), 0)
        onnx.checker.check_model(model, full_check=True)
        # Products only inside branches (an older export's merged decoder): said so, not "already quantized".
        with self.assertRaisesRegex(QuantizeError, "inside If/Loop branches .*merged decoder"):
            calibration_model(model)

    def test_calibration_of_a_bpe_model_writes_the_posts_as_the_runtime_writes_a_prompt(self):
        with tempfile.TemporaryDirectory() as d:
            posts, ids = write_posts(d, "long_hair,Smile,hair_ornament")
            tokenizer = os.path.join(d, "tokenizer.json")
            texts = calibration_texts(posts, {}, every=1, val_percent=10)
            self.assertEqual(len(texts), sum(not is_validation(i) for i in ids))
            self.assertEqual(texts[0], "long_hair, smile, hair_ornament,")
            written = {"tag_model": {"separator": ";", "between_tags": "", "tag_spaces": True}}
            self.assertEqual(calibration_texts(posts, written, every=1, val_percent=10)[0], "long hair;smile;hair ornament;")
            self.assertEqual(len(calibration_texts(posts, {}, every=4, val_percent=10)), len(texts[::4]))
            self.assertEqual(calibration_texts(posts, {}, every=4, val_percent=10, max_posts=2), texts[::4][:2])
            with open(tokenizer, "w", encoding="utf-8") as f:
                json.dump({"model": {"type": "BPE", "vocab": {"a": 0, "<|endoftext|>": 1}}}, f)
            self.assertEqual(bos_token_id({}, tokenizer), 1)
            self.assertEqual(bos_token_id({"bos_token_id": 0}, tokenizer), 0)
            with self.assertRaisesRegex(QuantizeError, "a BPE tokenizer; calibration_texts"):
                calibration_sequences(posts, tokenizer, positions=3, every=1, val_percent=10)
            with open(tokenizer, "w", encoding="utf-8") as f:
                json.dump({"model": {"type": "BPE", "vocab": {"a": 0}}}, f)
            with self.assertRaisesRegex(QuantizeError, "no bos_token_id in config.json and no <\\|endoftext\\|> token"):
                bos_token_id({}, tokenizer)

    def test_calibration_feeds_training_posts_one_token_per_tag(self):
        with tempfile.TemporaryDirectory() as d:
            posts, ids = write_posts(d, "long_hair,Smile,unknown_tag")
            tokenizer = os.path.join(d, "tokenizer.json")
            with open(tokenizer, "w", encoding="utf-8") as f:
                vocab = {"<|bos|>": 0, "<|eos|>": 1, "<|pad|>": 2, "<|unk|>": 3, "long_hair": 4, "smile": 5}
                json.dump({"model": {"type": "WordLevel", "vocab": vocab}}, f)
            sequences = calibration_sequences(posts, tokenizer, positions=3, every=1, val_percent=10)
            self.assertEqual(len(sequences), sum(not is_validation(i) for i in ids))
            self.assertTrue(0 < len(sequences) < len(ids), "validation posts are left out")
            self.assertEqual(sequences[0], [0, 4, 5])
            self.assertEqual(calibration_sequences(posts, tokenizer, positions=2, every=1, val_percent=10)[0], [0, 4])
            self.assertEqual(len(calibration_sequences(posts, tokenizer, positions=3, every=1, val_percent=10, max_posts=5)), 5)

    def test_a_missing_range_names_the_activation(self):
        ranges = {m.activation: 1.0 for m in weight_matmuls(self.graph)[1:]}
        with self.assertRaisesRegex(QuantizeError, "no calibration range for 'h0.ln_1'"):
            quantize_model(self.graph, ranges)

    def test_a_split_out_of_range_or_a_folder_as_target_is_refused_before_the_calibration(self):
        import quantize
        with tempfile.TemporaryDirectory() as folder:
            posts, _ = write_posts(folder, "a,b")
            source = os.path.join(folder, "model.onnx")
            onnx.save(self.graph, source)
            for extra, message in ((["--val-percent", "-50"], "--val-percent -50: expected 0..99"),
                                   (["--val-percent", "100"], "--val-percent 100: expected 0..99")):
                code, _, err = run_main(quantize.main, [source, os.path.join(folder, "int8.onnx"), "--posts", posts, *extra])
                self.assertEqual(code, 1)
                self.assertIn(message, err)
            with self.assertRaisesRegex(QuantizeError, "a folder; give the int8 model's file"):
                quantize.quantize_file(source, folder + os.sep, posts)


if __name__ == "__main__":
    unittest.main()
