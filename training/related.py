"""Related-tag weights (EASE, Steck 2019), shipped beside the model as `related.json`.

    /usr/bin/python3 training/related.py --data ../shared/data/posts-danbooru2020-general.tsv \
        --run training/runs/default

EASE is a linear item-to-item model fitted in closed form on the training posts:
B = I - P / diag(P) with P = (X^T X + lambda I)^-1, X the post x tag matrix, diag(B) = 0.
The score of a candidate tag c after the context tags t is sum_t B[t][c]. It is full rank
where the GPT's tied softmax is rank n_embd, so the two complement each other in the ranking
(see ranking.json). Each row keeps only its `k` largest positive weights (a few MB).

related.json: {"version": 1, "lambda", "k", "rows": [[[id, weight], ...] for each token id]}
where ids are the tokenizer's ids; rows of special tokens are empty.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Sequence

# Passive OpenMP waiting: on a busy shared machine spinning threads make this much slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tags import SPECIAL_TOKENS, Post, TagTokenizer, read_posts, split_posts, write_json_atomic  # noqa: E402


def ease_weights(posts: Sequence[Post], tokenizer: TagTokenizer, lam: float) -> torch.Tensor:
    """Dense EASE matrix [vocab, vocab] over the tokenizer's ids (special rows/columns 0)."""
    v = len(tokenizer)
    x = torch.zeros(len(posts), v)
    for row, post in enumerate(posts):
        ids = [i for i in (tokenizer.tag_id(t) for t in post.tags) if i is not None]
        x[row, ids] = 1.0
    x[:, : len(SPECIAL_TOKENS)] = 0.0
    gram = (x.T @ x).double()
    p = torch.linalg.inv(gram + lam * torch.eye(v, dtype=torch.float64))
    b = (-p / torch.diag(p)).float()
    b.fill_diagonal_(0.0)
    b[: len(SPECIAL_TOKENS)] = 0.0
    b[:, : len(SPECIAL_TOKENS)] = 0.0
    return b


def sparsify(b: torch.Tensor, k: int) -> List[List[List[float]]]:
    """Each row's k largest positive weights as [[id, weight], ...], weights rounded to 5 places."""
    values, ids = b.topk(min(k, b.size(1)), dim=1)
    rows = []
    for vals, idx in zip(values.tolist(), ids.tolist()):
        rows.append([[int(i), round(float(w), 5)] for w, i in zip(vals, idx) if w > 0])
    return rows


class Related:
    """Scores from a related.json: sum over context ids of their rows."""

    def __init__(self, rows: List[List[List[float]]]):
        self.rows = rows

    @classmethod
    def load(cls, path: str) -> "Related":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if data.get("version") != 1 or not isinstance(data.get("rows"), list):
            raise ValueError(f"{path}: expected a related.json of version 1 with rows")
        return cls(data["rows"])

    def scores(self, context_ids: Sequence[int], vocab_size: int) -> np.ndarray:
        out = np.zeros(vocab_size, dtype=np.float64)
        for i in dict.fromkeys(context_ids):  # each context tag once
            for j, w in self.rows[i]:
                out[int(j)] += w
        return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--run", required=True, help="training run directory (tokenizer.json); writes RUN/related.json")
    p.add_argument("--lambda", dest="lam", type=float, default=15.0,
                   help="L2 regularisation of EASE (15 was best of 15/40/80/200/500 on validation cases)")
    p.add_argument("--k", type=int, default=64, help="weights kept per tag")
    p.add_argument("--val-percent", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    tokenizer = TagTokenizer.load(os.path.join(args.run, "tokenizer.json"))
    train, _ = split_posts(read_posts(args.data), args.val_percent)
    rows = sparsify(ease_weights(train, tokenizer, args.lam), args.k)
    out = os.path.join(args.run, "related.json")
    write_json_atomic(out, {"version": 1, "method": "EASE", "lambda": args.lam, "k": args.k, "rows": rows}, indent=None)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB, {sum(len(r) for r in rows):,} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
