"""Related-tag weights (EASE, Steck 2019), shipped beside the model as `related.json`.

    /usr/bin/python3 training/related.py --data ../shared/data/posts-danbooru2020-general.tsv \
        --run training/runs/default

EASE is a linear item-to-item model fitted in closed form on the training posts:
B = I - P / diag(P) with P = (X^T X + lambda I)^-1, X the post x tag matrix, diag(B) = 0.
The score of a candidate tag c after the context tags t is sum_t B[t][c]. It is full rank
where the GPT's tied softmax is rank n_embd, so the two complement each other in the ranking
(see ranking.json). Each row keeps only its `k` largest positive weights (a few MB).

related.json: {"version": 1, "lambda", "k", "vocabulary_sha256", "rows": [[[id, weight], ...] for each
token id]} where ids are the tokenizer's ids; rows of special tokens are empty, and so are the rows of
tags past --max-tags (the Gram matrix and its inverse are max-tags squared: 30k tags would need
~15 GB and hours on 2 cores). vocabulary_sha256 identifies the tokenizer the rows index: export.py
ships the file only beside that vocabulary.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import List, Optional, Sequence

# Passive OpenMP waiting: on a busy shared machine spinning threads make this much slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tags import (  # noqa: E402
    DEFAULT_VAL_PERCENT, SPECIAL_TOKENS, DataError, Post, TagTokenizer, check_run_vocabulary, count_pairs, read_posts, read_run_settings, resolve_split, split_posts,
    note_other_data, vocabulary_sha256, write_json_atomic, HelpFormatter,
)


def gram_matrix(posts: Sequence[Post], tokenizer: TagTokenizer, size: int) -> torch.Tensor:
    """X^T X over token ids < size (X the post x tag 0/1 matrix, special tokens 0), float64 (exact
    counts, as the inverse needs): the memory is the size x size result whatever the number of posts."""
    first = len(SPECIAL_TOKENS)
    id_sets = ({i for i in (tokenizer.tag_id(t) for t in post.tags) if i is not None and first <= i < size} for post in posts)
    return torch.from_numpy(count_pairs(id_sets, size, np.float64))


def ease_weights(posts: Sequence[Post], tokenizer: TagTokenizer, lam: float, max_tags: int = 0) -> torch.Tensor:
    """Dense EASE matrix over the first special tokens + max_tags token ids (all when 0): ids are
    in frequency order, so a cap keeps the most frequent tags. Special rows/columns are 0."""
    v = len(tokenizer) if not max_tags else min(len(tokenizer), len(SPECIAL_TOKENS) + max_tags)
    gram = gram_matrix(posts, tokenizer, v)
    gram.diagonal().add_(lam)  # in place: at the cap these are gigabytes each
    p = torch.linalg.inv(gram)
    del gram
    b = p.div_(torch.diag(p).clone()).neg_().float()
    del p
    b.fill_diagonal_(0.0)
    b[: len(SPECIAL_TOKENS)] = 0.0
    b[:, : len(SPECIAL_TOKENS)] = 0.0
    return b


def sparsify(b: torch.Tensor, k: int, vocab_size: int = 0) -> List[List[List[float]]]:
    """Each row's k largest positive weights as [[id, weight], ...], weights rounded to 5 places;
    empty rows for the ids past the matrix, up to vocab_size (tags beyond --max-tags)."""
    values, ids = b.topk(min(k, b.size(1)), dim=1)
    rows = []
    for vals, idx in zip(values.tolist(), ids.tolist()):
        rows.append([[int(i), round(float(w), 5)] for w, i in zip(vals, idx) if w > 0])
    return rows + [[] for _ in range(vocab_size - len(rows))]


class Related:
    """Scores from a related.json: sum over context ids of their rows."""

    def __init__(self, rows: List[List[List[float]]], vocabulary_sha256: Optional[str] = None):
        self.rows = rows
        self.vocabulary_sha256 = vocabulary_sha256

    @classmethod
    def load(cls, path: str) -> "Related":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if data.get("version") != 1 or not isinstance(data.get("rows"), list):
            raise ValueError(f"{path}: expected a related.json of version 1 with rows")
        return cls(data["rows"], data.get("vocabulary_sha256"))

    def scores(self, context_ids: Sequence[int], vocab_size: int) -> np.ndarray:
        out = np.zeros(vocab_size, dtype=np.float64)
        for i in dict.fromkeys(context_ids):  # each context tag once
            for j, w in self.rows[i]:
                out[int(j)] += w
        return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--run", required=True, help="training run directory (tokenizer.json); writes RUN/related.json")
    p.add_argument("--lambda", dest="lam", type=float, default=15.0,
                   help="L2 regularisation of EASE (15 was best of 15/40/80/200/500 on validation cases)")
    p.add_argument("--k", type=int, default=64, help="weights kept per tag")
    p.add_argument("--max-tags", type=int, default=16384,
                   help="fit the weights over the this many most frequent tags; the others get none "
                        "(memory ~ 16 x N^2 bytes, time ~ N^3: 16384 tags take about 5 GB; 0 = all)")
    p.add_argument("--val-percent", type=int, default=None, help=f"default: the run's (RUN/run.json), else {DEFAULT_VAL_PERCENT}")
    p.add_argument("--threads", type=int, default=2, help="PyTorch CPU threads")
    args = p.parse_args(argv)
    # (Each crashed deep in the fit with a traceback, or, --lambda below 0, wrote weights of no use.)
    if not (math.isfinite(args.lam) and args.lam > 0) or args.k < 1 or args.threads < 1 or args.max_tags < 0:
        print("related: --lambda must be above 0, --k and --threads at least 1, --max-tags at least 0 (0: all)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    try:
        tokenizer = TagTokenizer.load(os.path.join(args.run, "tokenizer.json"))
        settings = read_run_settings(args.run)
        check_run_vocabulary(args.run, settings, tokenizer)
        val_percent = resolve_split(args.val_percent, settings, args.run, "related.py")
        posts = read_posts(args.data, settings.get("categories", ["general"]))
        note_other_data(args.data, settings, args.run, "related.py", posts=posts)
    except (DataError, OSError) as err:
        print(f"related: {err}", file=sys.stderr)
        return 1
    train, _ = split_posts(posts, val_percent)
    rows = sparsify(ease_weights(train, tokenizer, args.lam, args.max_tags), args.k, len(tokenizer))
    covered = sum(1 for r in rows if r)
    if args.max_tags and len(tokenizer) - len(SPECIAL_TOKENS) > args.max_tags:
        print(f"note: --max-tags {args.max_tags}: the {len(tokenizer) - len(SPECIAL_TOKENS) - args.max_tags:,} rarest tags get no related weights")
    out = os.path.join(args.run, "related.json")
    write_json_atomic(out, {"version": 1, "method": "EASE", "lambda": args.lam, "k": args.k,
                            "vocabulary_sha256": vocabulary_sha256(tokenizer.vocab), "rows": rows}, indent=None)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB, {sum(len(r) for r in rows):,} weights, {covered:,} tags with weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
