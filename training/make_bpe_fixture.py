"""Generate test/fixtures/models/tiny-bpe: a tiny GPT-2 over comma-separated tag TEXT with a GPT-2
style byte-level BPE tokenizer (one tag spans several tokens), trained on the shared real posts.

    /usr/bin/python3 training/make_bpe_fixture.py [--data ../shared/data/posts-danbooru2020-general.tsv]
        [--out test/fixtures/models/tiny-bpe]

It stands in for a user's Hugging Face GPT-2 export (such as mio/danbooru-gpt2) in the runtime's
tests: the runtime must score a tag as the summed log-probability of its tokens followed by the
separator. It is generated, small and barely trained: its predictions are not for use.

Text format: `<|endoftext|>t1, t2, t3,<|endoftext|>`: every tag is followed by ",", tags after the
first are preceded by a space, tags keep their underscores, order shuffled per post and epoch.
No `tokenizers` pip package here, so the byte-level BPE is trained by a small trainer below; the
result is a standard Hugging Face tokenizer.json (ByteLevel pre-tokenizer/decoder, BPE model).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections import Counter
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import export_traced_onnx, gpt2_architecture  # noqa: E402
from model import GPT, GPTConfig  # noqa: E402
from tags import read_posts, split_posts, write_json_atomic  # noqa: E402

END = "<|endoftext|>"
# GPT-2's pre-tokenizer pattern with Python `re` classes: letters [^\W\d_], digits \d, and
# "other" = neither space nor letter nor digit (the underscore included, as in \p{...} terms).
PRETOKEN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable character map (space is 'Ġ')."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_CHARS = bytes_to_unicode()


def pretokens(text: str) -> List[str]:
    """Pre-tokens as byte-level symbol strings."""
    return ["".join(BYTE_CHARS[b] for b in piece.encode("utf-8")) for piece in PRETOKEN.findall(text)]


def tag_text(tags: Sequence[str]) -> str:
    return " ".join(t + "," for t in tags)


def train_bpe(texts: Sequence[str], vocab_size: int) -> Tuple[List[str], List[Tuple[str, str]]]:
    """Byte-level BPE: start from the 256 byte symbols, repeatedly merge the most frequent adjacent
    pair inside pre-tokens (ties broken by the pair itself, so the result is deterministic)."""
    word_counts: Counter = Counter()
    for text in texts:
        word_counts.update(pretokens(text))
    words = {tuple(w): c for w, c in word_counts.items()}
    vocab = [BYTE_CHARS[b] for b in range(256)]
    merges: List[Tuple[str, str]] = []
    while len(vocab) < vocab_size - 1:  # the last id is <|endoftext|>
        pairs: Counter = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merged = best[0] + best[1]
        merges.append(best)
        vocab.append(merged)
        new_words = {}
        for w, c in words.items():
            if len(w) > 1 and best[0] in w:
                out, i = [], 0
                while i < len(w):
                    if i + 1 < len(w) and w[i] == best[0] and w[i + 1] == best[1]:
                        out.append(merged)
                        i += 2
                    else:
                        out.append(w[i])
                        i += 1
                w = tuple(out)
            new_words[w] = new_words.get(w, 0) + c
        words = new_words
    return vocab, merges


class BpeEncoder:
    def __init__(self, vocab: List[str], merges: List[Tuple[str, str]]):
        self.ids = {tok: i for i, tok in enumerate(vocab)}
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.cache: Dict[str, List[int]] = {}

    def _word(self, word: str) -> List[int]:
        if word in self.cache:
            return self.cache[word]
        symbols = list(word)
        while len(symbols) > 1:
            ranked = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            rank, i = min(ranked)
            if rank == 1 << 30:
                break
            symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
        ids = [self.ids[s] for s in symbols]
        self.cache[word] = ids
        return ids

    def encode(self, text: str) -> List[int]:
        return [i for w in pretokens(text) for i in self._word(w)]


def tokenizer_json(vocab: List[str], merges: List[Tuple[str, str]], end_id: int) -> dict:
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": end_id, "content": END, "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": True}
        ],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": {**byte_level, "trim_offsets": False},
        "decoder": byte_level,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": {**{tok: i for i, tok in enumerate(vocab)}, END: end_id},
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


def batches(sequences: List[List[int]], batch_size: int, rng: random.Random):
    order = list(range(len(sequences)))
    rng.shuffle(order)
    for i in range(0, len(order) - batch_size + 1, batch_size):
        yield [sequences[j] for j in order[i : i + batch_size]]


def main(argv: Sequence[str] | None = None) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "posts-danbooru2020-general.tsv"))
    p.add_argument("--out", default=os.path.join(root, "test", "fixtures", "models", "tiny-bpe"))
    p.add_argument("--vocab-size", type=int, default=1024)
    p.add_argument("--bpe-posts", type=int, default=4000, help="posts the BPE merges are learned on")
    p.add_argument("--n-positions", type=int, default=256)
    p.add_argument("--n-embd", type=int, default=64)
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--n-head", type=int, default=2)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    started = time.time()

    posts = read_posts(args.data)
    train_posts, _ = split_posts(posts)
    bpe_texts = [tag_text(post.tags) for post in train_posts[: args.bpe_posts]]
    vocab, merges = train_bpe(bpe_texts, args.vocab_size)
    end_id = len(vocab)
    encoder = BpeEncoder(vocab, merges)
    print(f"BPE: {len(merges)} merges, vocabulary {end_id + 1} ({time.time() - started:.0f} s)", flush=True)

    def sequence(tags: List[str]) -> List[int]:
        tags = tags[:]
        rng.shuffle(tags)
        ids = [end_id] + encoder.encode(tag_text(tags)) + [end_id]
        return ids[: args.n_positions]

    config = GPTConfig(
        vocab_size=end_id + 1, n_positions=args.n_positions, n_embd=args.n_embd, n_layer=args.n_layer, n_head=args.n_head, dropout=0.0
    )
    model = GPT(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    model.train()
    step = 0
    while step < args.steps:
        for batch_posts in batches(train_posts, args.batch_size, rng):
            seqs = [sequence(post.tags) for post in batch_posts]
            width = max(len(s) for s in seqs)
            x = torch.full((len(seqs), width), end_id, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for i, s in enumerate(seqs):
                x[i, : len(s)] = torch.tensor(s)
                mask[i, : len(s)] = 1
            logits, _ = model(x[:, :-1], mask[:, :-1])
            target = x[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if step % 50 == 0:
                print(f"step {step} loss {loss.item():.3f} ({time.time() - started:.0f} s)", flush=True)
            if step >= args.steps:
                break
    model.eval()

    out = args.out
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    write_json_atomic(os.path.join(out, "tokenizer.json"), tokenizer_json(vocab, merges, end_id), indent=None)
    write_json_atomic(
        os.path.join(out, "tokenizer_config.json"),
        {
            "tokenizer_class": "GPT2Tokenizer",
            "bos_token": END,
            "eos_token": END,
            "unk_token": END,
            "add_prefix_space": False,
            "model_max_length": args.n_positions,
            "clean_up_tokenization_spaces": False,
        },
    )
    write_json_atomic(
        os.path.join(out, "config.json"),
        {
            **gpt2_architecture(config, 0.0),
            "bos_token_id": end_id,
            "eos_token_id": end_id,
            "tag_model": {
                "tokenizer": "byte-level BPE (GPT-2 style): a tag spans several tokens",
                "text_format": "<|endoftext|>t1, t2, t3,<|endoftext|>: every tag followed by ',', a space before each later tag, underscores kept",
                "separator": ",",
                "tag_spaces": False,
                "generated": "training/make_bpe_fixture.py: a tiny barely trained test model, not for use",
                "parameters": model.num_parameters(),
            },
        },
    )
    write_json_atomic(
        os.path.join(out, "generation_config.json"), {"bos_token_id": end_id, "eos_token_id": end_id, "max_length": args.n_positions}
    )
    # Traced by torch.onnx.export: the graph shape of a Hugging Face optimum export.
    export_traced_onnx(model, os.path.join(out, "onnx", "model.onnx"))

    # PyTorch reference for the runtime's tests: token ids of a context and candidate tags, and each
    # candidate's summed log-probability (its tokens, then the separator), from one full forward pass.
    context = ["multiple_girls", "2girls", "long_hair"]
    candidates = ["smile", "short_hair", "looking_at_viewer", "open_mouth", "hair_ornament", "skirt"]
    context_ids = [end_id] + encoder.encode(tag_text(context))
    reference = {"context": context, "context_ids": context_ids, "candidates": []}
    with torch.no_grad():
        for tag in candidates:
            cand_ids = encoder.encode(" " + tag + ",")
            ids = context_ids + cand_ids
            logits, _ = model(torch.tensor([ids]))
            logp = torch.log_softmax(logits[0].double(), dim=-1)
            total = sum(logp[len(context_ids) - 1 + j, t].item() for j, t in enumerate(cand_ids))
            reference["candidates"].append({"tag": tag, "ids": cand_ids, "logprob": total})
    write_json_atomic(os.path.join(out, "reference.json"), reference)
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(out) for f in fs)
    print(f"wrote {out} ({size / 1e6:.2f} MB, {model.num_parameters():,} parameters, {time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
