"""Train the tag GPT.

    /usr/bin/python3 training/train.py --data ../shared/data/posts-danbooru2020-general.tsv \
        --out training/runs/default

Every epoch sees every post's tags in a new random order (dumps list tags alphabetically;
a model trained only on that order fails when a user writes tags in another order).
Validation = a fixed ~10 % of posts chosen by post id. AdamW, linear warmup, cosine decay,
seeded; checkpoints every epoch (`last.pt`, resumed with --resume) and keeps the best by
validation loss (`best.pt`); stops early when validation loss stops improving.

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
import sys
import time
from typing import Iterator, List, Sequence

# Passive OpenMP waiting: on a busy shared machine spinning threads make training ~10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT, GPTConfig  # noqa: E402
from tags import EOS_ID, PAD_ID, Post, TagTokenizer, build_vocab, read_posts, split_posts  # noqa: E402


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="tag dataset: one post a line, [id<TAB>]tag, tag, ...")
    p.add_argument("--out", required=True, help="run directory (checkpoints, log, tokenizer)")
    p.add_argument("--min-count", type=int, default=2, help="vocabulary: tags seen at least this often")
    p.add_argument("--val-percent", type=int, default=10)
    p.add_argument("--n-layer", type=int, default=3)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=192)
    p.add_argument("--n-positions", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--max-tags", type=int, default=128, help="longer posts are cut to this many tags (after shuffling)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--patience", type=int, default=2, help="early stop after this many epochs without a better val loss")
    p.add_argument("--loss", choices=["set", "next", "mix"], default="set")
    p.add_argument("--distill-weight", type=float, default=0.0,
                   help="weight of a soft target from EASE related-tag scores (0 = off; see related.py)")
    p.add_argument("--distill-temperature", type=float, default=0.1)
    p.add_argument("--distill-lambda", type=float, default=200.0, help="EASE regularisation of the teacher")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many optimizer steps; 0 = no limit")
    p.add_argument("--max-minutes", type=float, default=0, help="stop (and keep the best) after this long; 0 = no limit")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--log-every", type=int, default=50)
    return p.parse_args(argv)


def epoch_sequences(posts: Sequence[Post], tokenizer: TagTokenizer, seed: int, epoch: int, max_tags: int) -> List[List[int]]:
    """Each post's tags in a new random order for this epoch (deterministic in seed and epoch)."""
    rng = random.Random(seed * 1_000_003 + epoch)
    sequences = []
    for post in posts:
        tags = [t for t in post.tags if tokenizer.tag_id(t) is not None]
        rng.shuffle(tags)
        sequences.append(tokenizer.encode_post(tags[:max_tags]))
    return sequences


def make_batches(sequences: List[List[int]], batch_size: int, rng: random.Random) -> Iterator[torch.Tensor]:
    """Batches of similar length (less padding), in random order; padded with <|pad|>."""
    order = list(range(len(sequences)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(sequences[i]))
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    for batch in batches:
        width = max(len(sequences[i]) for i in batch)
        rows = [sequences[i] + [PAD_ID] * (width - len(sequences[i])) for i in batch]
        yield torch.tensor(rows, dtype=torch.long)


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


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    posts = read_posts(args.data)
    train_posts, val_posts = split_posts(posts, args.val_percent)
    tokenizer_path = os.path.join(args.out, "tokenizer.json")
    if args.resume and os.path.exists(tokenizer_path):
        tokenizer = TagTokenizer.load(tokenizer_path)
    else:
        tokenizer = TagTokenizer(build_vocab(train_posts, args.min_count))
        tokenizer.save(args.out, args.n_positions)
    config = GPTConfig(
        vocab_size=len(tokenizer),
        n_positions=args.n_positions,
        n_embd=args.n_embd,
        n_layer=args.n_layer,
        n_head=args.n_head,
        dropout=args.dropout,
    )
    model = GPT(config).to(args.device)
    teacher = None
    if args.distill_weight > 0:
        from related import ease_weights

        teacher = ease_weights(train_posts, tokenizer, args.distill_lambda).to(args.device)
    optimizer = make_optimizer(model, args)
    val_sequences = epoch_sequences(val_posts, tokenizer, args.seed, 0, args.max_tags)
    steps_per_epoch = math.ceil(len(train_posts) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    if args.max_steps:
        total_steps = min(total_steps, args.max_steps)

    start_epoch, step, best_val, bad_epochs, elapsed_before = 0, 0, float("inf"), 0, 0.0
    last_path, best_path = os.path.join(args.out, "last.pt"), os.path.join(args.out, "best.pt")
    if args.resume and os.path.exists(last_path):
        ckpt = torch.load(last_path, map_location=args.device)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start_epoch, step = ckpt["epoch"] + 1, ckpt["step"]
        best_val, bad_epochs, elapsed_before = ckpt["best_val"], ckpt["bad_epochs"], ckpt["elapsed_s"]
        torch.set_rng_state(ckpt["torch_rng"])
        print(f"resumed from {last_path} at epoch {start_epoch}, step {step}", flush=True)

    print(
        f"posts: {len(train_posts)} train, {len(val_posts)} validation; vocabulary {len(tokenizer)}; "
        f"parameters {model.num_parameters():,}; loss {args.loss}",
        flush=True,
    )
    log_path = os.path.join(args.out, "log.jsonl")
    started = time.time()
    stop_reason = "epochs done"
    model.train()
    for epoch in range(start_epoch, args.epochs):
        if bad_epochs >= args.patience:
            stop_reason = "early stop"
            break
        sequences = epoch_sequences(train_posts, tokenizer, args.seed, epoch + 1, args.max_tags)
        tokens, window_start, window_tokens = 0, time.time(), 0
        for batch in make_batches(sequences, args.batch_size, random.Random(args.seed + epoch)):
            batch = batch.to(args.device)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, args)
            loss = compute_loss(model, batch, args.loss, teacher, args.distill_weight, args.distill_temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            n_tokens = int((batch[:, 1:] != PAD_ID).sum())
            tokens += n_tokens
            window_tokens += n_tokens
            if step % args.log_every == 0:
                rate = window_tokens / max(time.time() - window_start, 1e-9)
                print(f"epoch {epoch + 1} step {step} loss {loss.item():.4f} lr {lr_at(step, total_steps, args):.2e} {rate:,.0f} tok/s", flush=True)
                window_start, window_tokens = time.time(), 0
            if args.max_minutes and (elapsed_before + time.time() - started) / 60 > args.max_minutes:
                break
            if args.max_steps and step >= args.max_steps:
                break
        val = validation_losses(model, val_sequences, args.batch_size, args.device)
        elapsed = elapsed_before + time.time() - started
        improved = val[args.loss if args.loss != "mix" else "set"] < best_val
        if improved:
            best_val, bad_epochs = val[args.loss if args.loss != "mix" else "set"], 0
            save_checkpoint(best_path, {"model": model.state_dict(), "config": config.to_dict(), "epoch": epoch, "val": val, "args": vars(args)})
        else:
            bad_epochs += 1
        record = {"epoch": epoch + 1, "step": step, "val_set_loss": val["set"], "val_next_loss": val["next"], "elapsed_s": round(elapsed, 1), "best": improved}
        print(json.dumps(record), flush=True)
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        save_checkpoint(
            last_path,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "config": config.to_dict(),
                "epoch": epoch,
                "step": step,
                "best_val": best_val,
                "bad_epochs": bad_epochs,
                "elapsed_s": elapsed,
                "torch_rng": torch.get_rng_state(),
                "args": vars(args),
            },
        )
        if args.max_minutes and elapsed / 60 > args.max_minutes:
            stop_reason = "time limit"
            break
        if args.max_steps and step >= args.max_steps:
            stop_reason = "step limit"
            break
    print(f"done ({stop_reason}); best validation loss {best_val:.4f}; checkpoint {best_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
