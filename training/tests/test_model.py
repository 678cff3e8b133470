import os
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from model import GPT, GPTConfig  # noqa: E402


class ModelTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.model = GPT(GPTConfig(vocab_size=50, n_positions=32, n_embd=16, n_layer=2, n_head=2)).eval()

    def test_hugging_face_parameter_names_and_shapes(self):
        sd = self.model.state_dict()
        self.assertEqual(tuple(sd["transformer.h.0.attn.c_attn.weight"].shape), (16, 48))  # Conv1D: [in, out]
        self.assertEqual(tuple(sd["transformer.h.1.mlp.c_fc.weight"].shape), (16, 64))
        for name in ("transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight", "lm_head.weight"):
            self.assertIn(name, sd)
        self.assertIs(self.model.lm_head.weight, self.model.transformer.wte.weight)  # tied

    def test_cache_gives_the_same_logits_as_the_whole_sequence(self):
        ids = torch.tensor([[0, 5, 9, 11, 7, 3]])
        with torch.no_grad():
            full, _ = self.model(ids)
            first, past = self.model(ids[:, :2])
            steps = [first]
            for t in range(2, ids.size(1)):
                mask = torch.ones(1, t + 1, dtype=torch.long)
                logits, past = self.model(ids[:, t : t + 1], mask, torch.tensor([[t]]), past)
                steps.append(logits)
        self.assertLess((torch.cat(steps, 1) - full).abs().max().item(), 1e-5)

    def test_left_padding_is_masked(self):
        with torch.no_grad():
            alone, _ = self.model(torch.tensor([[0, 5, 9]]))
            padded, _ = self.model(
                torch.tensor([[2, 2, 0, 5, 9]]),
                torch.tensor([[0, 0, 1, 1, 1]]),
                torch.tensor([[0, 0, 0, 1, 2]]),
            )
        self.assertLess((padded[:, 2:] - alone).abs().max().item(), 1e-5)

    def test_export_writes_the_hugging_face_layout(self):
        from export import export_onnx, hf_config

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model.onnx")
            export_onnx(self.model, path)
            self.assertGreater(os.path.getsize(path), 10_000)
            self.assertFalse(self.model.training)
        cfg = hf_config(self.model.config, {})
        self.assertEqual((cfg["model_type"], cfg["n_layer"], cfg["n_head"], cfg["vocab_size"]), ("gpt2", 2, 2, 50))


if __name__ == "__main__":
    unittest.main()
