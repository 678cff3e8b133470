"""Train the tag GPT.

    /usr/bin/python3 training/train.py --data ../shared/data/posts-danbooru2020-general.tsv \
        --out training/runs/default

Every epoch sees every post's tags in a new random order (dumps list tags alphabetically;
a model trained only on that order fails when a user writes tags in another order).
Validation = a fixed ~10 % of posts chosen by post id. AdamW, linear warmup, cosine decay,
seeded; checkpoints after every epoch and every --checkpoint-minutes inside one (`last.pt`;
--resume continues at the batch where it stopped, so a stopped and resumed run trains exactly as an
uninterrupted one), and on Ctrl-C / SIGTERM (then exits 130 / 143); keeps the best by validation
loss (`best.pt`); stops early when validation loss stops improving. With no validation posts
(--val-percent 0) validation is off: best.pt is the last epoch's weights, no early stop.
Also writes OUT/run.json (data file and a hash of its posts, --val-percent, --categories, vocabulary hash): related.py,
evaluate.py and the export read the split from it, and they and --resume refuse a tokenizer.json
other than the one the run was trained with.

Loss: `set` (default) scores, at each position, the mean log-probability of all tags of the
post not yet written (ending with <|eos|>). In expectation over random orders this is the
same target as next-token prediction, with far less variance: it is what the model is
used for (any remaining tag of the post is a right answer).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import time
from typing import Iterator, List, Optional, Sequence

# Passive OpenMP waiting: on a busy shared machine spinning threads make training ~10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT, GPTConfig, read_checkpoint  # noqa: E402
from tags import (  # noqa: E402
    DEFAULT_VAL_PERCENT, EOS_ID, PAD_ID, RUN_SETTINGS, SPECIAL_TOKENS, DataError, Post, TagTokenizer, build_vocab,
    check_run_vocabulary, note_other_data, parse_categories, posts_sha256, read_posts, split_changed_since, read_run_settings, split_posts, vocabulary_sha256, write_json_atomic, HelpFormatter,
)


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--data", required=True,
                   help="tag dataset: one post a line, [id<TAB>]tag, tag, ... or the converter's --format jsonl")
    p.add_argument("--categories", default="general",
                   help="JSON lines input: tag categories to read, comma-separated")
    p.add_argument("--out", required=True, help="run directory (checkpoints, log, tokenizer)")
    p.add_argument("--min-count", type=int, default=2, help="vocabulary: tags seen at least this often")
    p.add_argument("--val-percent", type=int, default=DEFAULT_VAL_PERCENT,
                   help="validation split: posts whose id hash %% 100 is below this (0 = no validation, no early stop)")
    p.add_argument("--n-layer", type=int, default=3, help="model size: transformer blocks")
    p.add_argument("--n-head", type=int, default=4, help="model size: attention heads (--n-embd a multiple of it)")
    p.add_argument("--n-embd", type=int, default=192, help="model size: width")
    p.add_argument("--n-positions", type=int, default=256, help="context: <|bos|> and the tags a sequence holds")
    p.add_argument("--dropout", type=float, default=0.1, help="dropout while training")
    p.add_argument("--max-tags", type=int, default=128, help="longer posts are cut to this many tags (after shuffling)")
    p.add_argument("--batch-size", type=int, default=32, help="posts a step")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (AdamW, warmup then cosine)")
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="the cosine schedule ends at --lr times this")
    p.add_argument("--weight-decay", type=float, default=0.1, help="AdamW weight decay")
    p.add_argument("--warmup-steps", type=int, default=200, help="steps of linear warmup")
    p.add_argument("--epochs", type=int, default=12, help="passes over the training posts (fewer with early stopping)")
    p.add_argument("--patience", type=int, default=2, help="early stop after this many epochs without a better val loss")
    p.add_argument("--loss", choices=["set", "next", "mix"], default="set", help="set: every tag still to come at each position; next: the next one; mix: both")
    p.add_argument("--distill-weight", type=float, default=0.0,
                   help="weight of a soft target from EASE related-tag scores (0 = off; see related.py)")
    p.add_argument("--distill-temperature", type=float, default=0.1, help="temperature of the EASE teacher's soft target")
    p.add_argument("--distill-lambda", type=float, default=200.0, help="EASE regularisation of the teacher")
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop after this many optimizer steps in all (the schedule is fitted to it); 0 = no limit")
    p.add_argument("--max-minutes", type=float, default=0,
                   help="stop this session (and keep the best; --resume continues) after this long; 0 = no limit")
    p.add_argument("--seed", type=int, default=1234, help="weights, shuffles and dropout")
    p.add_argument("--threads", type=int, default=2, help="PyTorch CPU threads")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/last.pt, at the batch where it stopped (model size from the checkpoint)")
    p.add_argument("--checkpoint-minutes", type=float, default=10,
                   help="also save OUT/last.pt inside an epoch this often (0 = only after each epoch)")
    p.add_argument("--log-every", type=int, default=50, help="print the loss every this many steps")
    return p


PARSER = make_parser()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return PARSER.parse_args(argv)


def epoch_sequences(posts: Sequence[Post], tokenizer: TagTokenizer, seed: int, epoch: int, max_tags: int) -> List[List[int]]:
    """Each post's tags in a new random order for this epoch (deterministic in seed and epoch)."""
    rng = random.Random(seed * 1_000_003 + epoch)
    sequences = []
    for post in posts:
        tags = [t for t in post.tags if tokenizer.tag_id(t) is not None]
        rng.shuffle(tags)
        sequences.append(tokenizer.encode_post(tags[:max_tags]))
    return sequences


def batch_order(sequences: List[List[int]], batch_size: int, rng: random.Random) -> List[List[int]]:
    """Batches of similar length (less padding), in random order, as lists of sequence indices."""
    order = list(range(len(sequences)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(sequences[i]))
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def pad_batch(sequences: List[List[int]], batch: List[int]) -> torch.Tensor:
    width = max(len(sequences[i]) for i in batch)
    return torch.tensor([sequences[i] + [PAD_ID] * (width - len(sequences[i])) for i in batch], dtype=torch.long)


def make_batches(sequences: List[List[int]], batch_size: int, rng: random.Random) -> Iterator[torch.Tensor]:
    """The batches of batch_order, padded with <|pad|>."""
    for batch in batch_order(sequences, batch_size, rng):
        yield pad_batch(sequences, batch)


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD_ID)


def set_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over positions of the mean negative log-probability of every tag still to come.

    targets[b, j] is the token at position j + 1; at position i the remaining tags are
    targets[b, i:] that are tags; where targets[b, i] is <|eos|> the only answer is <|eos|>.
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    t = targets.size(1)
    # gathered[b, i, j] = log p_i(targets[b, j])
    gathered = logp.gather(2, targets.unsqueeze(1).expand(-1, t, -1))
    is_tag = (targets != PAD_ID) & (targets != EOS_ID)
    upper = torch.ones(t, t, dtype=torch.bool, device=targets.device).triu()
    mask = upper.unsqueeze(0) & is_tag.unsqueeze(1) & is_tag.unsqueeze(2)
    eye = torch.eye(t, dtype=torch.bool, device=targets.device).unsqueeze(0)
    mask = mask | (eye & (targets == EOS_ID).unsqueeze(2))
    per_position = (gathered * mask).sum(-1) / mask.sum(-1).clamp(min=1)
    valid = mask.any(-1)
    return -(per_position * valid).sum() / valid.sum().clamp(min=1)


def distill_loss(logits: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy against a teacher distribution over the tags not yet written: softmax of the
    summed EASE rows of the context so far / temperature. Only where the context has a tag and
    the next token is a tag (not <|eos|> or padding)."""
    scores = teacher[inputs].cumsum(1) / temperature  # [B, T, V]
    written = torch.zeros_like(scores, dtype=torch.bool).scatter_(2, inputs.unsqueeze(-1), True).cumsum(1) > 0
    written[:, :, :4] = True  # special tokens are never a teacher target
    q = torch.softmax(scores.masked_fill(written, float("-inf")), dim=-1)
    logp = F.log_softmax(logits.float(), dim=-1)
    per_position = -(q * logp.masked_fill(written, 0.0)).sum(-1)
    valid = (targets != PAD_ID) & (targets != EOS_ID)
    valid[:, 0] = False  # the first position has no context
    return (per_position * valid).sum() / valid.sum().clamp(min=1)


def compute_loss(model: GPT, batch: torch.Tensor, kind: str, teacher: torch.Tensor | None = None,
                 distill_weight: float = 0.0, temperature: float = 0.1) -> torch.Tensor:
    inputs, targets = batch[:, :-1], batch[:, 1:]
    attention_mask = (inputs != PAD_ID).long()
    logits, _ = model(inputs, attention_mask=attention_mask)
    if kind == "next":
        loss = next_token_loss(logits, targets)
    elif kind == "set":
        loss = set_loss(logits, targets)
    else:
        loss = 0.5 * set_loss(logits, targets) + 0.5 * next_token_loss(logits, targets)
    if teacher is not None and distill_weight > 0:
        loss = (1 - distill_weight) * loss + distill_weight * distill_loss(logits, inputs, targets, teacher, temperature)
    return loss


@torch.no_grad()
def validation_losses(model: GPT, sequences: List[List[int]], batch_size: int, device: str) -> dict:
    model.eval()
    totals = {"set": 0.0, "next": 0.0}
    n = 0
    for batch in make_batches(sequences, batch_size, random.Random(0)):
        batch = batch.to(device)
        inputs, targets = batch[:, :-1], batch[:, 1:]
        logits, _ = model(inputs, attention_mask=(inputs != PAD_ID).long())
        totals["set"] += set_loss(logits, targets).item() * batch.size(0)
        totals["next"] += next_token_loss(logits, targets).item() * batch.size(0)
        n += batch.size(0)
    model.train()
    return {k: v / max(n, 1) for k, v in totals.items()}


def lr_at(step: int, total_steps: int, args: argparse.Namespace) -> float:
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = min(1.0, (step - args.warmup_steps) / max(1, total_steps - args.warmup_steps))
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(model: GPT, args: argparse.Namespace) -> torch.optim.AdamW:
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.95),
    )


def save_checkpoint(path: str, state: dict) -> None:
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


class DivergedError(Exception):
    """The loss stopped being a number."""


class UsageError(Exception):
    """A bad command line or run folder: printed as one line, exit 1."""


MODEL_FLAGS = ("n_layer", "n_head", "n_embd", "n_positions", "dropout")
RUN_FILES = ("last.pt", "best.pt", "log.jsonl")  # files that say a folder holds a run
MODEL_FILES = ("config.json", os.path.join("onnx", "model.onnx"), "model.onnx")  # files that say a folder holds an exported model


def check_args(args: argparse.Namespace) -> None:
    if args.n_embd % args.n_head:
        raise UsageError(f"--n-embd {args.n_embd} must be a multiple of --n-head {args.n_head}")
    if args.n_positions < 3:
        raise UsageError(f"--n-positions {args.n_positions}: at least 3 (<|bos|>, a tag, <|eos|>)")
    if not 0 <= args.val_percent < 100:
        raise UsageError(f"--val-percent {args.val_percent}: expected 0..99")
    if args.min_count < 1 or args.max_tags < 1 or args.batch_size < 1 or args.epochs < 1:
        raise UsageError("--min-count, --max-tags, --batch-size and --epochs must be at least 1")
    # The rest of the flags, each checked here rather than failing deep in PyTorch with a traceback.
    if args.n_layer < 1 or args.n_head < 1 or args.threads < 1 or args.log_every < 1 or args.patience < 1:
        raise UsageError("--n-layer, --n-head, --threads, --log-every and --patience must be at least 1")
    if not args.lr > 0 or not 0 <= args.dropout < 1 or args.weight_decay < 0 or not 0 <= args.min_lr_ratio <= 1:
        raise UsageError("--lr must be above 0, --dropout in 0..1 (1 excluded), --weight-decay at least 0, --min-lr-ratio in 0..1")
    for flag, value in (("--lr", args.lr), ("--weight-decay", args.weight_decay), ("--dropout", args.dropout), ("--min-lr-ratio", args.min_lr_ratio),
                        ("--max-minutes", args.max_minutes), ("--checkpoint-minutes", args.checkpoint_minutes),
                        ("--distill-weight", args.distill_weight), ("--distill-temperature", args.distill_temperature), ("--distill-lambda", args.distill_lambda)):
        if not math.isfinite(value):
            raise UsageError(f"{flag} {value}: expected a finite number")
    if not 0 <= args.distill_weight <= 1 or not args.distill_temperature > 0 or not args.distill_lambda > 0:
        raise UsageError("--distill-weight must be in 0..1, --distill-temperature and --distill-lambda above 0")
    if args.max_minutes < 0 or args.max_steps < 0 or args.checkpoint_minutes < 0 or args.warmup_steps < 0:
        raise UsageError("--max-minutes, --max-steps, --checkpoint-minutes and --warmup-steps must be at least 0 (0: no limit)")
    if args.device != "cpu" and not args.device.startswith("cuda"):
        raise UsageError(f"--device {args.device}: expected cpu or cuda (cuda:N for another GPU)")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {args.device}: this PyTorch sees no CUDA GPU (torch.cuda.is_available() is False); train on cpu")


def check_resume(args: argparse.Namespace, settings: dict, categories: List[str], posts: List[Post]) -> None:
    """Refuses to resume a run with another split or other categories than it was trained with
    (run.json), or on other posts (the file converted again at the same path: its batches would be
    re-dealt, "batch 4 of 436" after "batch 3 of 439"): the same post would be training data in one
    session and validation data in another, or the posts would hold other tags. Another --data path
    is only noted (a moved file is fine)."""
    recorded = settings.get("val_percent")
    if recorded is not None and recorded != args.val_percent:
        raise UsageError(f"{args.out} was trained with --val-percent {recorded}; resuming with --val-percent "
                         f"{args.val_percent} would mix its training and validation posts (give --val-percent {recorded})")
    if settings.get("categories") is not None and list(settings["categories"]) != list(categories):
        raise UsageError(f"{args.out} was trained on the categories {','.join(settings['categories'])}; "
                         f"resume with --categories {','.join(settings['categories'])}")
    if split_changed_since(settings, posts):
        raise UsageError(f"{args.out} was started when a post without an id was split by its line number; now its tags "
                         "decide (a dump converted again keeps each post's split): resuming would mix its training and "
                         "validation posts; start a new run (another --out)")
    recorded_posts = settings.get("data_sha256")
    if recorded_posts is not None and recorded_posts != posts_sha256(posts):
        raise UsageError(f"{args.data} holds other posts than when {args.out} started ({settings.get('data_posts')} then, "
                         f"{len(posts)} now): resuming would re-deal its batches and split; start a new run (another --out), "
                         "or give the data it was trained on")
    note_other_data(args.data, settings, args.out, "resuming", file=sys.stdout)


# Flags that decide how an epoch is cut into batches and what is learnt: a resumed run with other
# values would skip or repeat posts (another batch size: "batch 61 of 29") or change its loss.
ORDER_FLAGS = ("batch_size", "seed", "loss", "max_tags")


def check_resume_checkpoint(args: argparse.Namespace, ckpt: dict, path: str, vocabulary: str) -> None:
    """Refuses to resume from a last.pt of another vocabulary (another run's, copied here) or with
    other ORDER_FLAGS than it was saved with."""
    recorded_vocabulary = ckpt.get("vocabulary_sha256")
    if recorded_vocabulary is not None and recorded_vocabulary != vocabulary:
        raise DataError(f"{path} was saved with another vocabulary than {args.out}'s tokenizer.json (another run's checkpoint?)")
    recorded = ckpt.get("args") or {}
    for name in ORDER_FLAGS:
        if name in recorded and recorded[name] != getattr(args, name):
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{path} was trained with {flag} {recorded[name]}; resuming with {flag} {getattr(args, name)} "
                             f"would cut its epochs otherwise (posts skipped or repeated): give {flag} {recorded[name]}")


def restore_rng(ckpt: dict, device: str) -> None:
    torch.set_rng_state(ckpt["torch_rng"].cpu())
    if device.startswith("cuda") and ckpt.get("cuda_rng") is not None:
        torch.cuda.set_rng_state_all([s.cpu() for s in ckpt["cuda_rng"]])


class Interrupted(Exception):
    """A signal before training began (reading the data, building the teacher): nothing to save."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class StopSignals:
    """Once `arm()`ed (training has begun), SIGINT/SIGTERM set a flag that the training loop checks
    after each step (it then saves a checkpoint and exits 130/143); a second signal acts as usual.
    Before, a signal stops at once (Interrupted): it waited for the data to load (minutes on a dump,
    with a teacher to build) and then trained a batch and left a run to --resume."""

    def __init__(self):
        self.received: int | None = None
        self.previous = {}
        self.armed = False

    def arm(self) -> None:
        self.armed = True

    def __enter__(self) -> "StopSignals":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if not self.armed:
            raise Interrupted(signum)
        self.received = signum
        signal.signal(signum, self.previous[signum])

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class RunProgress:
    """The run's position, best validation loss and patience count, and the files that keep them:
    last.pt (where to resume), best.pt and log.jsonl. One place for what the end of an epoch and a
    stop inside one (signal, --max-minutes, --max-steps) save, validate and log."""

    def __init__(self, args: argparse.Namespace, model: GPT, optimizer: torch.optim.Optimizer, config: GPTConfig,
                 val_sequences: List[List[int]], vocabulary: Optional[str] = None):
        self.args, self.model, self.optimizer, self.config = args, model, optimizer, config
        self.val_sequences = val_sequences
        # vocabulary_sha256 of the tokenizer: recorded in each checkpoint, so that one used with
        # another run's tokenizer (export/evaluate --checkpoint) is refused.
        self.vocabulary = vocabulary
        self.validate = bool(val_sequences)
        self.score_key = "set" if args.loss == "mix" else args.loss
        self.last_path, self.best_path = os.path.join(args.out, "last.pt"), os.path.join(args.out, "best.pt")
        self.log_path = os.path.join(args.out, "log.jsonl")
        self.step, self.best_val, self.bad_epochs, self.elapsed_before = 0, float("inf"), 0, 0.0
        self.started = self.last_save = time.time()

    def restore(self, ckpt: dict) -> None:
        self.step, self.best_val, self.bad_epochs = ckpt["step"], ckpt["best_val"], ckpt["bad_epochs"]
        self.elapsed_before = ckpt["elapsed_s"]

    def start_clock(self) -> None:
        self.started = self.last_save = time.time()

    def elapsed(self) -> float:
        return self.elapsed_before + time.time() - self.started

    def session_elapsed(self) -> float:
        """Since this command started (or resumed): what --max-minutes limits."""
        return time.time() - self.started

    def save_last(self, next_epoch: int, next_batch: int) -> None:
        """last.pt: the next batch to run (epoch 0-based, batch index within it) and all the state
        an uninterrupted run would have there."""
        save_checkpoint(self.last_path, {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "config": self.config.to_dict(),
            "next_epoch": next_epoch, "next_batch": next_batch, "step": self.step, "best_val": self.best_val,
            "bad_epochs": self.bad_epochs, "elapsed_s": self.elapsed(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.args.device.startswith("cuda") else None,
            "args": vars(self.args), "vocabulary_sha256": self.vocabulary,
        })
        self.last_save = time.time()

    def checkpoint_due(self) -> bool:
        return bool(self.args.checkpoint_minutes) and time.time() - self.last_save > self.args.checkpoint_minutes * 60

    def save_best(self, epoch: int, val: Optional[dict], partial: bool) -> None:
        state = {"model": self.model.state_dict(), "config": self.config.to_dict(), "epoch": epoch,
                 "vocabulary_sha256": self.vocabulary}
        if val is not None:
            state["val"] = val
        state["args"] = vars(self.args)
        if partial:
            state["partial"] = True
        save_checkpoint(self.best_path, state)

    def log(self, record: dict) -> None:
        print(json.dumps(record), flush=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def end_epoch(self, epoch: int, partial: bool = False) -> None:
        """Validates, saves best.pt when the weights are the best yet and logs the epoch. Without
        validation the last weights are the best. partial: a run stopped for good inside the epoch
        by its budget still gets its best weights, but best_val and the patience count are left
        alone so that a resumed run decides as an uninterrupted one (and with no validation an
        earlier whole epoch's best.pt is kept)."""
        if self.validate:
            val = validation_losses(self.model, self.val_sequences, self.args.batch_size, self.args.device)
            better = val[self.score_key] < self.best_val
            if not partial:
                if better:
                    self.best_val, self.bad_epochs = val[self.score_key], 0
                else:
                    self.bad_epochs += 1
        elif partial:
            if not os.path.exists(self.best_path):
                self.save_best(epoch, None, partial=True)
            return
        else:
            val, better = {"set": None, "next": None}, True
        if better:
            self.save_best(epoch, val, partial)
        self.log({"epoch": epoch + 1, **({"partial": True} if partial else {}), "step": self.step,
                  "val_set_loss": val["set"], "val_next_loss": val["next"], "elapsed_s": round(self.elapsed(), 1), "best": better})

    def interrupted(self, signum: int, where: str = "", after_epoch: int = 0) -> int:
        """The line saying where a signal stopped the run (inside an epoch: `where`), and the exit code."""
        name = signal.Signals(signum).name
        if where:
            print(f"interrupted ({name}): saved {self.last_path} at {where}; "
                  "run the same command with --resume to continue from there", flush=True)
        else:
            print(f"interrupted ({name}) after epoch {after_epoch}: saved {self.last_path}; "
                  "run the same command with --resume to continue", flush=True)
        return 128 + signum


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with StopSignals() as signals:
            return train(args, signals)
    except (DataError, UsageError, DivergedError, OSError) as err:
        print(f"train: {err}", file=sys.stderr)
        return 1
    except Interrupted as stop:
        print(f"train: {signal.Signals(stop.signum).name} before training began: nothing was saved (run the same command again)", file=sys.stderr)
        return 128 + stop.signum


def train(args: argparse.Namespace, signals: StopSignals) -> int:
    check_args(args)
    categories = parse_categories(args.categories)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    last_path, best_path = os.path.join(args.out, "last.pt"), os.path.join(args.out, "best.pt")
    resuming = args.resume and os.path.exists(last_path)
    held = [f for f in RUN_FILES if os.path.exists(os.path.join(args.out, f))]
    if args.resume and not resuming:
        # (A typo in --out would otherwise start a new run, silently.)
        what = f"it holds {', '.join(held)} but no last.pt" if held else "there is no run there"
        raise UsageError(f"--resume: nothing to resume in {args.out} ({what}); leave out --resume to start a new run")
    if held and not resuming:
        # A new run here would mix with the old one (its log, its best.pt) and its related/ranking files.
        raise UsageError(f"{args.out} already holds a training run ({', '.join(held)}): "
                         "continue it with --resume, or choose another --out (or delete the folder)")
    model_files = [f for f in MODEL_FILES if os.path.exists(os.path.join(args.out, f))]
    if model_files and not resuming:
        # Its tokenizer.json would be replaced by the run's, beside a graph of another vocabulary.
        raise UsageError(f"{args.out} is a model folder ({', '.join(model_files)}): train into a folder of its own "
                         f"and export into this one (export.py --run RUN --out {args.out})")

    posts = read_posts(args.data, categories)  # before creating --out: a bad --data leaves nothing behind
    train_posts, val_posts = split_posts(posts, args.val_percent)
    if not train_posts:
        raise DataError(f"{args.data}: no training posts (all {len(posts)} are in the --val-percent {args.val_percent} validation split)")
    os.makedirs(args.out, exist_ok=True)
    # On the CPU whatever --device is (read_checkpoint): the saved RNG state must stay a CPU ByteTensor
    # for torch.set_rng_state, and load_state_dict copies the weights onto the model's device.
    ckpt = read_checkpoint(last_path) if resuming else None
    tokenizer_path = os.path.join(args.out, "tokenizer.json")
    if resuming:
        tokenizer = TagTokenizer.load(tokenizer_path)
        settings = read_run_settings(args.out)
        check_run_vocabulary(args.out, settings, tokenizer)
        check_resume(args, settings, categories, posts)
        check_resume_checkpoint(args, ckpt, last_path, vocabulary_sha256(tokenizer.vocab))
        # The checkpoint's model size, whatever the command line says (the weights only fit it).
        config = GPTConfig(**ckpt["config"])
        for name in MODEL_FLAGS:
            if getattr(args, name) != getattr(config, name) and getattr(args, name) != PARSER.get_default(name):
                print(f"note: --{name.replace('_', '-')} {getattr(args, name)} ignored: resuming a run with {getattr(config, name)}", flush=True)
            setattr(args, name, getattr(config, name))
    else:
        tokenizer = TagTokenizer(build_vocab(train_posts, args.min_count))
        if len(tokenizer) == len(SPECIAL_TOKENS):
            raise DataError(f"{args.data}: no tag reaches --min-count {args.min_count} in the "
                            f"{len(train_posts)} training posts: nothing to train on")
        config = GPTConfig(vocab_size=len(tokenizer), n_positions=args.n_positions, n_embd=args.n_embd,
                           n_layer=args.n_layer, n_head=args.n_head, dropout=args.dropout)
        tokenizer.save(args.out, args.n_positions)
        write_json_atomic(os.path.join(args.out, RUN_SETTINGS), {
            "data": os.path.abspath(args.data), "categories": categories, "val_percent": args.val_percent,
            "min_count": args.min_count, "vocabulary_sha256": vocabulary_sha256(tokenizer.vocab),
            "data_posts": len(posts), "data_sha256": posts_sha256(posts),
        })
    # inputs are the sequence minus its last token: <|bos|> + max_tags tags must fit n_positions
    max_tags = min(args.max_tags, config.n_positions - 1)
    if max_tags < args.max_tags:
        print(f"note: posts cut to {max_tags} tags (--n-positions {config.n_positions})", flush=True)
    model = GPT(config).to(args.device)
    teacher = None
    if args.distill_weight > 0:
        from related import ease_weights

        teacher = ease_weights(train_posts, tokenizer, args.distill_lambda).to(args.device)
    optimizer = make_optimizer(model, args)
    val_sequences = epoch_sequences(val_posts, tokenizer, args.seed, 0, max_tags)
    steps_per_epoch = math.ceil(len(train_posts) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    if args.max_steps:
        total_steps = min(total_steps, args.max_steps)

    # Position = the next batch to run: epoch (0-based) and batch index within it.
    start_epoch, start_batch = 0, 0
    progress = RunProgress(args, model, optimizer, config, val_sequences, vocabulary_sha256(tokenizer.vocab))
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])  # moves its state onto the parameters' device
        if "next_epoch" in ckpt:
            start_epoch, start_batch = ckpt["next_epoch"], ckpt["next_batch"]
        else:  # checkpoints written before mid-epoch positions: saved after a whole epoch
            start_epoch = ckpt["epoch"] + 1
        progress.restore(ckpt)
        restore_rng(ckpt, args.device)
        print(f"resumed from {last_path}: epoch {start_epoch + 1}, batch {start_batch + 1} of {steps_per_epoch}, step {progress.step}", flush=True)
        del ckpt

    print(
        f"posts: {len(train_posts)} train, {len(val_posts)} validation; vocabulary {len(tokenizer)}; "
        f"parameters {model.num_parameters():,}; loss {args.loss}",
        flush=True,
    )
    if not progress.validate:
        print("note: no validation posts (--val-percent 0 or too few posts): validation is off, "
              "best.pt is the last epoch's weights and there is no early stopping", flush=True)

    progress.start_clock()
    signals.arm()
    stop_reason = "epochs done"
    model.train()
    for epoch in range(start_epoch, args.epochs):
        if progress.validate and progress.bad_epochs >= args.patience:
            stop_reason = "early stop"
            break
        if args.max_steps and progress.step >= args.max_steps:
            stop_reason = "step limit"
            break
        sequences = epoch_sequences(train_posts, tokenizer, args.seed, epoch + 1, max_tags)
        # The same order on resume: the batches come from the seed and the epoch only.
        batches = batch_order(sequences, args.batch_size, random.Random(args.seed + epoch))
        first = start_batch if epoch == start_epoch else 0
        window_start, window_tokens = time.time(), 0
        stop = None
        for index in range(first, len(batches)):
            batch = pad_batch(sequences, batches[index]).to(args.device)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(progress.step, total_steps, args)
            loss = compute_loss(model, batch, args.loss, teacher, args.distill_weight, args.distill_temperature)
            if not torch.isfinite(loss):
                # Every later step would be NaN too, and end "successfully" naming a best.pt never written.
                raise DivergedError(f"the loss is {loss.item()} at epoch {epoch + 1}, batch {index + 1} (step {progress.step + 1}): "
                                    f"training diverged; lower --lr (now {args.lr}) or check --weight-decay and the distillation settings. "
                                    f"{last_path} holds the last checkpoint before it, if any")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            progress.step += 1
            window_tokens += int((batch[:, 1:] != PAD_ID).sum())
            if progress.step % args.log_every == 0:
                rate = window_tokens / max(time.time() - window_start, 1e-9)
                lr = lr_at(progress.step, total_steps, args)
                print(f"epoch {epoch + 1} step {progress.step} loss {loss.item():.4f} lr {lr:.2e} {rate:,.0f} tok/s", flush=True)
                window_start, window_tokens = time.time(), 0
            if signals.received:
                stop = "signal"
            elif args.max_minutes and progress.session_elapsed() / 60 > args.max_minutes:
                stop = "time limit"
            elif args.max_steps and progress.step >= args.max_steps:
                stop = "step limit"
            if index + 1 == len(batches):
                break  # a whole epoch: validated and saved below
            if stop:
                progress.save_last(epoch, index + 1)
                where = f"epoch {epoch + 1}, batch {index + 1} of {len(batches)}, step {progress.step}"
                if stop == "signal":
                    return progress.interrupted(signals.received, where=where)
                progress.end_epoch(epoch, partial=True)
                # (The same command resumed would stop at once at the same --max-steps.)
                how = "--resume with a higher --max-steps continues there" if stop == "step limit" else "--resume continues there"
                print(f"stopped ({stop}) at {where}; saved {last_path} ({how})", flush=True)
                return 0
            if progress.checkpoint_due():
                progress.save_last(epoch, index + 1)
        progress.end_epoch(epoch)
        progress.save_last(epoch + 1, 0)
        if signals.received:
            return progress.interrupted(signals.received, after_epoch=epoch + 1)
        if stop:
            stop_reason = stop
            break
    if not progress.validate:
        best = "no validation"
    elif math.isfinite(progress.best_val):
        best = f"best validation loss {progress.best_val:.4f}"
    else:
        # (Only validations inside an epoch so far, which best.pt keeps but do not set the best: it read "inf".)
        best = "no whole epoch validated yet (best.pt holds the last validation inside one)"
    print(f"done ({stop_reason}); {best}; checkpoint {best_path}", flush=True)
    return 0

if __name__ == "__main__":
    sys.exit(main())
