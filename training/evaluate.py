"""Evaluate tag ranking on the validation split: popularity, co-occurrence and the model.

    /usr/bin/python3 training/evaluate.py --data ../shared/data/posts-danbooru2020-general.tsv \
        --dictionary ../shared/data/danbooru-tags.csv --run training/runs/default \
        --ranking models/default/ranking.json --out models/default/eval.json

Protocol (the hidden benchmark's): for a validation post, take k of its tags in random order
as the context (k uniform in 1..n-1) and another of its tags as the target; the target is
drawn from the post's tags that are general tags of the dictionary (others can never be
ranked). The user has typed the first P = 0, 1, 2 letters of the target; candidates are the
dictionary's general tags starting with those letters, context tags excluded. Metrics:
acc@1, hit@5, MRR@10 and, at P = 0, precision@10 (share of the top 10 that are tags of the
post). Ties are broken by dictionary order (post count, descending).

Rankers:
  popularity     log(1 + post_count)
  cooccurrence   mean over context tags t of P(candidate | t), counted on the training split
  model          ranking.json: model_weight * log p(candidate | context) + prior_weight * log(1 + post_count)
                 + related_weight * related(candidate) for candidates in the model's vocabulary,
                 oov_offset + (prior_weight + oov_prior_weight) * log(1 + post_count) for the others
                 (log p = log-softmax over the whole vocabulary; related = sum over context tags of their
                 related.json weights). With oov_prior_weight 1 the others are scored as a backed-off
                 unigram model: log(post_count) shifted by oov_offset.
  model-only     the same with related_weight = 0 (the GPT and the prior alone)
--tune searches the weights on tuning cases (another seed, same validation posts) and writes ranking.json.
Settings that score as well as the best (mean MRR@10 equal to rounding) are tied: the validation
posts hold few out-of-vocabulary targets (~1.5 %) and never the tags the training data lacks
entirely (1girl, 1boy: the posts were filtered for several characters), so many settings for
those tags score the same. Among tied settings the one that keeps most of the dictionary's post
counts for them wins: the largest oov_prior_weight, then the highest oov_offset. It is the most
the dictionary's counts can be trusted without a loss on the tuning cases.
"""
from __future__ import annotations

import argparse
import bisect
import csv
import io
import json
import math
import os
import random
import sys
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
# Passive OpenMP waiting: on a busy shared machine spinning threads make training ~10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tags import (  # noqa: E402
    BOS_ID, DEFAULT_VAL_PERCENT, DataError, Post, TagTokenizer, check_run_vocabulary, count_pairs, parse_categories, read_posts, read_run_settings, resolve_split, split_posts,
    check_output_path, normalize_text, note_other_data, vocabulary_sha256, write_json_atomic, HelpFormatter,
)

PREFIX_LENGTHS = (0, 1, 2)
TIE_TOLERANCE = 1e-9  # in mean MRR@10: float rounding only
RANKING_FORMULA = (
    "in vocabulary: model_weight * logp + prior_weight * log(1 + post_count) + related_weight * related; "
    "out of vocabulary: oov_offset + (prior_weight + oov_prior_weight) * log(1 + post_count); "
    "logp = log-softmax of the model's last logits over the whole vocabulary, "
    "context = <|bos|> + context tags in the vocabulary (written order); "
    "related = sum over the distinct context tags in the vocabulary of their weight for the candidate "
    "in related.json (rows[context_id] = [[candidate_id, weight], ...], absent = 0); higher is better"
)


@dataclass
class Dictionary:
    """General (category 0) tags of the dictionary, most posts first."""

    names: List[str]
    counts: np.ndarray
    index: Dict[str, int]

    @property
    def log_prior(self) -> np.ndarray:
        return np.log1p(self.counts)


def _is_number(field: str) -> bool:
    try:
        float(field)
        return True
    except ValueError:
        return False


def read_dictionary(path: str) -> Dictionary:
    rows: List[Tuple[str, int]] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        try:
            text = f.read()
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 ({err.reason} at byte {err.start})") from None
        # Read as the runtime reads it (src/model/dictionary-csv.ts): blank lines and a header row
        # skipped, names in dictionary form (`long hair` is long_hair), the first entry of a name kept.
        seen = set()
        for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or all(not field.strip() for field in row):
                continue
            if len(row) < 3:
                raise DataError(f"{path}:{line_no}: expected name,category,post_count[,aliases]")
            try:
                category, count = int(row[1]), int(row[2])
            except ValueError:
                if not seen and not rows and not _is_number(row[1]) and not _is_number(row[2]):
                    continue  # a header: name,category,post_count,aliases
                raise DataError(f"{path}:{line_no}: category and post_count must be integers") from None
            name = normalize_text(row[0])
            if not name or name in seen:
                continue
            seen.add(name)
            if category == 0:
                rows.append((name, count))
    rows.sort(key=lambda r: (-r[1], r[0]))
    names = [r[0] for r in rows]
    return Dictionary(names, np.array([r[1] for r in rows], dtype=np.float64), {n: i for i, n in enumerate(names)})


@dataclass
class Case:
    post: int
    context: List[str]
    target: str
    post_tags: List[str]


def make_cases(posts: Sequence[Post], dictionary: Dictionary, seed: int, per_post: int = 1, limit: int = 0) -> List[Case]:
    """Cases in post order; with a limit, the first `limit` of them (the same as drawing all and
    keeping the head: later draws do not change earlier ones)."""
    rng = random.Random(seed)
    cases: List[Case] = []
    for i, post in enumerate(posts):
        for _ in range(per_post):
            if limit and len(cases) >= limit:
                return cases
            if len(post.tags) < 2:
                continue
            tags = list(post.tags)
            rng.shuffle(tags)
            targets = [t for t in tags if t in dictionary.index]
            if not targets:
                continue
            target = rng.choice(targets)
            rest = [t for t in tags if t != target]
            k = rng.randint(1, len(rest))
            cases.append(Case(i, rest[:k], target, post.tags))
    return cases


class Cooccurrence:
    """P(b | a) over the training posts for the dictionary's general tags, from a dense matrix of
    pair counts over the max_tags tags most frequent in the training posts (0 = all of them).

    Memory is max_tags^2 counts whatever the number of posts: each count fits the smallest
    unsigned type that holds the largest tag count (2 bytes below 65,536 training posts, else 4),
    so 16,384 tags take 0.5 or 1 GiB. Tags past the cap get no co-occurrence (score 0, left to
    the popularity tie-break). Under the cap the scores are exactly those of counting every pair.
    """

    def __init__(self, posts: Sequence[Post], dictionary: Dictionary, max_tags: int = 16384):
        n = len(dictionary.names)
        index = dictionary.index
        tag_counts = np.zeros(n, dtype=np.float64)
        for post in posts:
            idx = list({index[t] for t in post.tags if t in index})
            if idx:
                tag_counts[idx] += 1
        seen = np.flatnonzero(tag_counts)
        # Most training posts first, ties by dictionary order (post count); the cap keeps the head.
        kept = seen[np.lexsort((seen, -tag_counts[seen]))]
        if max_tags:
            kept = kept[:max_tags]
        m = kept.size
        dense_of = np.full(n, -1, dtype=np.int64)
        dense_of[kept] = np.arange(m)
        dtype = np.min_scalar_type(int(tag_counts.max()) if n else 0)  # a pair is never counted more than a tag
        id_sets = ({int(dense_of[index[t]]) for t in post.tags if t in index} - {-1} for post in posts)
        self.matrix = count_pairs(id_sets, m, dtype, diagonal=False)
        self.dense_of = dense_of
        self.kept = kept
        self.tag_counts = tag_counts
        self.n = n
        self.capped = seen.size - m

    def scores(self, context: Sequence[str], dictionary: Dictionary) -> np.ndarray:
        dense = np.zeros(self.matrix.shape[0], dtype=np.float64)
        for t in context:
            i = dictionary.index.get(t)
            if i is None or self.tag_counts[i] == 0 or self.dense_of[i] < 0:
                continue
            # Adding the row's zeros (0 / count) leaves the sums as counting only the pairs seen.
            dense += self.matrix[self.dense_of[i]] / self.tag_counts[i]
        out = np.zeros(self.n, dtype=np.float64)
        out[self.kept] = dense
        return out / max(len(context), 1)


class ModelScorer:
    """log p(tag | context) from the PyTorch model, mapped onto dictionary indices."""

    def __init__(self, checkpoint: str, tokenizer_path: str, dictionary: Dictionary, related_path: Optional[str] = None):
        from export import load_model
        from related import Related

        self.related = Related.load(related_path) if related_path and os.path.exists(related_path) else None

        self.model = load_model(checkpoint, tokenizer_path)
        self.tokenizer = TagTokenizer.load(tokenizer_path)
        if self.related is not None and self.related.vocabulary_sha256 not in (None, vocabulary_sha256(self.tokenizer.vocab)):
            raise DataError(f"{related_path}: made for another vocabulary than {tokenizer_path} (run related.py again)")
        dict_idx, vocab_idx = [], []
        for tok_id, tok in enumerate(self.tokenizer.vocab):
            if tok in dictionary.index:
                dict_idx.append(dictionary.index[tok])
                vocab_idx.append(tok_id)
        self.dict_idx = np.array(dict_idx, dtype=np.int64)
        self.vocab_idx = torch.tensor(vocab_idx, dtype=torch.long)
        self.in_vocab = np.zeros(len(dictionary.names), dtype=bool)
        self.in_vocab[self.dict_idx] = True
        self.n = len(dictionary.names)

    @torch.no_grad()
    def logp(self, context: Sequence[str]) -> np.ndarray:
        """log p over dictionary indices (-inf where the tag is not in the vocabulary)."""
        ids = [i for i in (self.tokenizer.tag_id(t) for t in context) if i is not None]
        # As the runtime (contextTokens): <|bos|> and the latest tags that fit the context length.
        ids = [BOS_ID] + ids[max(0, len(ids) - (self.model.config.n_positions - 1)):]
        x = torch.tensor([ids])
        logits, _ = self.model(x)
        logp = torch.log_softmax(logits[0, -1].float(), dim=-1)
        out = np.full(self.n, -np.inf)
        out[self.dict_idx] = logp[self.vocab_idx].double().numpy()
        return out

    def related_scores(self, context: Sequence[str]) -> np.ndarray:
        """related(candidate) over dictionary indices (0 without related.json)."""
        out = np.zeros(self.n)
        if self.related is not None:
            ids = [i for i in (self.tokenizer.tag_id(t) for t in context) if i is not None]
            by_vocab = self.related.scores(ids, len(self.tokenizer))
            out[self.dict_idx] = by_vocab[self.vocab_idx.numpy()]
        return out


def blend(logp: np.ndarray, in_vocab: np.ndarray, log_prior: np.ndarray, ranking: dict, related: Optional[np.ndarray] = None) -> np.ndarray:
    in_vocab_score = ranking["model_weight"] * np.where(in_vocab, logp, 0.0)
    if related is not None:
        in_vocab_score = in_vocab_score + ranking.get("related_weight", 0.0) * related
    oov_score = ranking["oov_offset"] + ranking.get("oov_prior_weight", 0.0) * log_prior
    return np.where(in_vocab, in_vocab_score, oov_score) + ranking["prior_weight"] * log_prior


def rank_metrics(scores: np.ndarray, case: Case, dictionary: Dictionary, prefix_len: int) -> Dict[str, float]:
    """Metrics for one case: candidates = general tags starting with the target's first letters."""
    target = dictionary.index[case.target]
    prefix = case.target[:prefix_len]
    candidates = dictionary.prefix_mask(prefix).copy()
    for t in case.context:
        i = dictionary.index.get(t)
        if i is not None:
            candidates[i] = False
    s = np.where(candidates, scores, -np.inf)
    st = s[target]
    rank = 1 + int(np.count_nonzero(s > st)) + int(np.count_nonzero((s[:target] == st) & candidates[:target]))
    result = {"acc@1": float(rank == 1), "hit@5": float(rank <= 5), "mrr@10": 1.0 / rank if rank <= 10 else 0.0}
    if prefix_len == 0:
        top = top_indices(s, 10)
        post = set(case.post_tags) - set(case.context)
        result["precision@10"] = sum(1 for i in top if candidates[i] and dictionary.names[i] in post) / 10
    return result


def top_indices(s: np.ndarray, k: int) -> np.ndarray:
    """The k best in score order, ties by dictionary order (the head of a stable sort of -s), as a
    set: the scores above the k-th best and then its ties by index. A partition, not a full sort:
    the sort was most of the time of the tuning's thousands of rankings a case."""
    if s.size <= k:
        return np.argsort(-s, kind="stable")
    kth = np.partition(s, s.size - k)[s.size - k]
    above = np.flatnonzero(s > kth)
    return np.concatenate([above, np.flatnonzero(s == kth)[: k - above.size]])


def _prefix_mask(self: Dictionary, prefix: str) -> np.ndarray:
    cache = self.__dict__.setdefault("_prefix_cache", {})
    if prefix not in cache:
        # The names starting with a prefix are one run of the names in sorted order: a scan of that
        # run, not of all names, for each of the hundreds of 1- and 2-letter prefixes.
        # Sorted once: setdefault would build (sort) its default again for every new prefix.
        if "_by_name" not in self.__dict__:
            self.__dict__["_by_name"] = sorted(range(len(self.names)), key=self.names.__getitem__)
            self.__dict__["_sorted_names"] = [self.names[i] for i in self.__dict__["_by_name"]]
        by_name, sorted_names = self.__dict__["_by_name"], self.__dict__["_sorted_names"]
        lo = hi = bisect.bisect_left(sorted_names, prefix)
        while hi < len(sorted_names) and sorted_names[hi].startswith(prefix):
            hi += 1
        mask = np.zeros(len(self.names), dtype=bool)
        mask[by_name[lo:hi]] = True
        cache[prefix] = mask
    return cache[prefix]


Dictionary.prefix_mask = _prefix_mask  # type: ignore[attr-defined]


def evaluate(case_scores: Iterable[Tuple[Case, Dict[str, np.ndarray]]], dictionary: Dictionary) -> Dict[str, Dict[str, Dict[str, float]]]:
    """{ranker: {"P=0": {metric: mean}}}; case_scores may be a generator, so that the scores of one
    case at a time are held (each ranker's are a float per dictionary tag)."""
    sums: Dict[str, Dict[str, Dict[str, float]]] = {}
    for case, by_ranker in case_scores:
        for ranker, scores in by_ranker.items():
            for p in PREFIX_LENGTHS:
                if len(case.target) < p:
                    continue
                m = rank_metrics(scores, case, dictionary, p)
                bucket = sums.setdefault(ranker, {}).setdefault(f"P={p}", {"cases": 0.0})
                bucket["cases"] += 1
                for k, v in m.items():
                    bucket[k] = bucket.get(k, 0.0) + v
    for ranker in sums.values():
        for bucket in ranker.values():
            n = bucket["cases"]
            for k in list(bucket):
                if k != "cases":
                    bucket[k] = round(bucket[k] / n, 4)
            bucket["cases"] = int(n)
    return sums


def format_table(results: Dict[str, Dict[str, Dict[str, float]]]) -> str:
    lines = ["| ranker | P | acc@1 | hit@5 | MRR@10 | precision@10 |", "| --- | --- | --- | --- | --- | --- |"]
    for ranker, by_p in results.items():
        for p, m in by_p.items():
            prec = f"{m['precision@10']:.4f}" if "precision@10" in m else ""
            lines.append(f"| {ranker} | {p[2:]} | {m['acc@1']:.4f} | {m['hit@5']:.4f} | {m['mrr@10']:.4f} | {prec} |")
    return "\n".join(lines)


class GridSearch:
    """Mean MRR@10 over P = 0, 1, 2 of each blend setting, fed one case at a time: the tuning holds
    a total per setting, not every case's scores."""

    def __init__(self, grid: List[dict]):
        self.grid = grid
        self.totals = [0.0] * len(grid)
        self.count = 0

    def add(self, case: Case, logp: np.ndarray, related: Optional[np.ndarray], in_vocab: np.ndarray, dictionary: Dictionary) -> None:
        for g, ranking in enumerate(self.grid):
            s = blend(logp, in_vocab, dictionary.log_prior, ranking, related)
            for p in PREFIX_LENGTHS:
                self.totals[g] += rank_metrics(s, case, dictionary, p)["mrr@10"]
        self.count += len(PREFIX_LENGTHS)

    def best(self) -> dict:
        results = [(total / max(self.count, 1), ranking) for total, ranking in zip(self.totals, self.grid)]
        best = max(mrr for mrr, _ in results)
        tied = [(mrr, ranking) for mrr, ranking in results if mrr >= best - TIE_TOLERANCE]
        # Among tied settings: the most weight on post counts outside the vocabulary (see above), then
        # the best MRR; max() keeps the first in grid order on a full tie.
        return max(tied, key=lambda entry: (entry[1].get("oov_prior_weight", 0.0), entry[1]["oov_offset"], entry[0]))[1]


# oov_prior_weight with the offsets searched for it: with weight 1, log(1 + post_count) is 0–16.
OOV_GRID = ((0.0, (-30.0, -16.0, -12.0, -8.0)), (0.5, (-24.0, -20.0, -16.0)), (1.0, (-30.0, -27.0, -24.0, -21.0, -18.0)))


def tune(cases: List[Case], scorer: ModelScorer, dictionary: Dictionary) -> Tuple[dict, Optional[dict]]:
    """Grid search for the mean MRR@10 over P = 0, 1, 2: the model with the prior alone
    (related_weight 0) and, with related.json, all weights together; one model call per case."""
    model_only = GridSearch([
        {"model_weight": 1.0, "prior_weight": pw, "oov_offset": oov, "oov_prior_weight": opw, "related_weight": 0.0}
        for pw in (0.0, 0.05, 0.1, 0.2, 0.3)
        for opw, offsets in OOV_GRID
        for oov in offsets
    ])
    with_related = None if scorer.related is None else GridSearch([
        {"model_weight": 1.0, "prior_weight": pw, "oov_offset": oov, "oov_prior_weight": opw, "related_weight": rw}
        for rw in (4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
        for pw in (0.0, 0.05, 0.1)
        for opw, offsets in OOV_GRID
        for oov in offsets
    ])
    for case in cases:
        logp = scorer.logp(case.context)
        model_only.add(case, logp, None, scorer.in_vocab, dictionary)
        if with_related is not None:
            with_related.add(case, logp, scorer.related_scores(case.context), scorer.in_vocab, dictionary)
    return model_only.best(), None if with_related is None else with_related.best()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--dictionary", required=True)
    p.add_argument("--run", help="training run directory (best.pt, tokenizer.json); omit for baselines only")
    p.add_argument("--checkpoint", help="default: RUN/best.pt")
    p.add_argument("--ranking", help="ranking.json to read (or, with --tune, to write)")
    p.add_argument("--related", help="related.json (default: RUN/related.json when it exists)")
    p.add_argument("--tune", action="store_true", help="tune the blend on tuning cases (seed + 1) and write --ranking")
    p.add_argument("--val-percent", type=int, default=None, help=f"default: the run's (RUN/run.json), else {DEFAULT_VAL_PERCENT}")
    p.add_argument("--categories", default=None, help="JSON lines input: tag categories (default: the run's, else general)")
    p.add_argument("--seed", type=int, default=7, help="the evaluation cases (tuning takes seed + 1)")
    p.add_argument("--limit", type=int, default=0,
                   help="evaluate (and tune on) at most this many cases, the first validation posts' (0 = all)")
    p.add_argument("--max-tags", type=int, default=16384,
                   help="co-occurrence over the this many tags most frequent in the training posts; the others "
                        "get none (memory N^2 x 2 or 4 bytes: 16384 tags take 0.5 or 1 GiB; 0 = all)")
    p.add_argument("--out", help="write metrics JSON here")
    args = p.parse_args(argv)
    if args.limit < 0 or args.max_tags < 0:
        p.error("--limit and --max-tags take 0 (no limit) or a positive number")
    torch.set_num_threads(2)
    try:
        return run(args)
    except (DataError, OSError) as err:
        print(f"evaluate: {err}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    # Now, not after the evaluation's minutes.
    check_output_path("--out", args.out)
    if args.tune and not args.run:
        # (It was silently skipped: the weights blend the model's scores, which need a run.)
        raise DataError("--tune needs --run RUN: it tunes how the run's model scores are blended, and writes RUN/ranking.json")
    if args.tune:
        check_output_path("--ranking", args.ranking)
    dictionary = read_dictionary(args.dictionary)
    settings = read_run_settings(args.run) if args.run else {}
    args.val_percent = resolve_split(args.val_percent, settings, args.run, "evaluate.py")
    if args.run:  # before the slow counting, and before ModelScorer would blame related.json for it
        check_run_vocabulary(args.run, settings, TagTokenizer.load(os.path.join(args.run, "tokenizer.json")))
    categories = parse_categories(args.categories) if args.categories else settings.get("categories", ["general"])
    posts = read_posts(args.data, categories)
    if args.run:
        note_other_data(args.data, settings, args.run, "evaluate.py", posts=posts)
    train, val = split_posts(posts, args.val_percent)
    cooc = Cooccurrence(train, dictionary, args.max_tags)
    if cooc.capped:
        print(f"note: --max-tags {args.max_tags}: the {cooc.capped:,} tags rarer in the training posts get no co-occurrence counts")
    cases = make_cases(val, dictionary, args.seed, limit=args.limit)

    scorer = None
    ranking = None
    if args.run:
        scorer = ModelScorer(
            args.checkpoint or os.path.join(args.run, "best.pt"),
            os.path.join(args.run, "tokenizer.json"),
            dictionary,
            args.related or os.path.join(args.run, "related.json"),
        )
        if args.tune:
            tune_cases = make_cases(val, dictionary, args.seed + 1, limit=args.limit)
            if not tune_cases:
                # Weights tuned on nothing would be arbitrary, and export would ship them.
                raise DataError(f"--tune: no validation cases to tune on ({len(val)} validation posts with --val-percent "
                                f"{args.val_percent}); nothing written, the model ranks with its current ranking.json")
            model_only, with_related = tune(tune_cases, scorer, dictionary)
            ranking = {"version": 1, "formula": RANKING_FORMULA, **(with_related or model_only)}
            if with_related is not None:
                ranking["related_file"] = "related.json"
                ranking["without_related"] = {k: model_only[k] for k in ("model_weight", "prior_weight", "oov_offset", "oov_prior_weight")}
            ranking["tuned_on"] = f"{len(tune_cases)} validation cases (seed {args.seed + 1}), mean MRR@10 over P = 0, 1, 2"
            # The ids in related.json (and so these weights) belong to this run's vocabulary.
            ranking["vocabulary_sha256"] = vocabulary_sha256(scorer.tokenizer.vocab)
            if args.ranking:
                write_json_atomic(args.ranking, ranking)
            print("tuned ranking:", json.dumps(ranking))
        elif args.ranking:
            with open(args.ranking, encoding="utf-8") as f:
                ranking = json.load(f)
        else:
            ranking = {"model_weight": 1.0, "prior_weight": 0.0, "oov_offset": -30.0, "related_weight": 0.0}

    log_prior = dictionary.log_prior
    tie_break = 1e-9 * log_prior  # co-occurrence ties (often 0) go to the more popular tag

    def case_scores():
        for case in cases:
            by_ranker = {"popularity": log_prior, "cooccurrence": cooc.scores(case.context, dictionary) + tie_break}
            if scorer is not None and ranking is not None:
                logp = scorer.logp(case.context)
                model_only = ranking.get("without_related", ranking)
                by_ranker["model-only"] = blend(logp, scorer.in_vocab, log_prior, {**model_only, "related_weight": 0.0})
                related = scorer.related_scores(case.context) if scorer.related is not None else None
                by_ranker["model"] = blend(logp, scorer.in_vocab, log_prior, ranking, related)
            yield case, by_ranker

    results = evaluate(case_scores(), dictionary)
    print(format_table(results))
    if args.out:
        write_json_atomic(
            args.out,
            {
                "protocol": "validation split (post id crc32 %% 100 < %d); one case per post: context = k random tags (k uniform 1..n-1), target = another general tag of the post; seed %d" % (args.val_percent, args.seed),
                "validation_posts": len(val),
                "cases": len(cases),
                "ranking": ranking,
                "results": results,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
