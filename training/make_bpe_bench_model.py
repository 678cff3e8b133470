"""Generate a GPT-2-small-shaped byte-level BPE model folder for the BPE runtime's benchmark: the size
of a user's Hugging Face export such as mio/danbooru-gpt2 (12 layers, 768 wide, 12 heads, 50,257
tokens), with RANDOM weights, so its predictions mean nothing; only its speed does.

    /usr/bin/python3 training/make_bpe_bench_model.py [--fixture test/fixtures/models/tiny-bpe]
        [--out bench/.data/bpe-gpt2-small] [--layers 12] [--width 768] [--heads 12] [--vocab 50257]

The tokenizer is the tiny-bpe fixture's (trained on the shared real posts), its vocabulary padded
with unreachable `<|unused_N|>` tokens to --vocab, so the output layer costs what GPT-2's does while
tags split into tokens as in the fixture (a little more finely than GPT-2's own 50k merges would).
~500 MB of float32 ONNX; bench/.data is not committed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import export_traced_onnx, gpt2_architecture  # noqa: E402
from model import GPT, GPTConfig  # noqa: E402
from tags import write_json_atomic  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixture", default="test/fixtures/models/tiny-bpe")
    parser.add_argument("--out", default="bench/.data/bpe-gpt2-small")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--vocab", type=int, default=50257)
    parser.add_argument("--positions", type=int, default=1024)
    args = parser.parse_args(argv)
    started = time.time()
    torch.manual_seed(0)

    with open(os.path.join(args.fixture, "tokenizer.json"), encoding="utf-8") as f:
        tokenizer = json.load(f)
    with open(os.path.join(args.fixture, "config.json"), encoding="utf-8") as f:
        fixture_config = json.load(f)
    vocab = tokenizer["model"]["vocab"]
    if args.vocab < len(vocab):
        raise SystemExit(f"--vocab {args.vocab} is smaller than the fixture's {len(vocab)} tokens")
    for token_id in range(len(vocab), args.vocab):
        vocab[f"<|unused_{token_id}|>"] = token_id

    config = GPTConfig(vocab_size=args.vocab, n_positions=args.positions, n_embd=args.width, n_layer=args.layers, n_head=args.heads, dropout=0.0)
    model = GPT(config).eval()
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    write_json_atomic(os.path.join(args.out, "tokenizer.json"), tokenizer, indent=None)
    shutil.copyfile(os.path.join(args.fixture, "tokenizer_config.json"), os.path.join(args.out, "tokenizer_config.json"))
    end_id = fixture_config["eos_token_id"]
    write_json_atomic(
        os.path.join(args.out, "config.json"),
        {
            **gpt2_architecture(config, 0.0),
            "bos_token_id": fixture_config["bos_token_id"],
            "eos_token_id": end_id,
            "tag_model": {
                **fixture_config["tag_model"],
                "generated": "training/make_bpe_bench_model.py: GPT-2-small-shaped, RANDOM weights, for speed measurements only",
                "parameters": model.num_parameters(),
            },
        },
    )
    write_json_atomic(os.path.join(args.out, "generation_config.json"), {"bos_token_id": end_id, "eos_token_id": end_id, "max_length": args.positions})
    export_traced_onnx(model, os.path.join(args.out, "onnx", "model.onnx"))
    print(f"{args.out}: {model.num_parameters():,} parameters, vocabulary {args.vocab} ({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
