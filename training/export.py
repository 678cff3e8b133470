"""Export a trained checkpoint as a Hugging Face GPT-2 folder with an ONNX model (KV cache).

    /usr/bin/python3 training/export.py --run training/runs/default --out models/default

Writes config.json, generation_config.json, tokenizer.json, tokenizer_config.json and
onnx/model.onnx, named as Hugging Face optimum exports GPT-2 "with past":
  inputs  input_ids [batch, seq], attention_mask [batch, past+seq], position_ids [batch, seq],
          past_key_values.{i}.key|value [batch, heads, past, head_dim]
  outputs logits [batch, seq, vocab], present.{i}.key|value [batch, heads, past+seq, head_dim]
A first step passes past tensors with past = 0. The graph is written node by node
(training/onnx_graph.py: ~90 nodes, faster at run time); `--graph traced` uses
torch.onnx.export instead (~270 nodes, the shape of an optimum export).

related.json and ranking.json are copied from RUN when they record this run's vocabulary
(`vocabulary_sha256`); others are left out, and removed from OUT if an earlier export left them.

--parity FILE also writes PyTorch logits for a fixed tag sequence (whole sequence at once,
then the same sequence fed through the cache in steps) so another runtime can check that
its ONNX logits equal them.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import sys
import tempfile
from typing import List, Optional, Sequence

# Passive OpenMP waiting: on a busy shared machine spinning threads make training ~10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import GPT, GPTConfig, read_checkpoint  # noqa: E402
from tags import (  # noqa: E402
    BOS, BOS_ID, EOS, EOS_ID, PAD, PAD_ID, UNK, DataError, TagTokenizer, check_run_vocabulary, read_run_settings,
    check_output_path, vocabulary_sha256, write_json_atomic, HelpFormatter,
)

OPSET = 14
SEQUENCE_FORMAT = "<|bos|> tag tag ... <|eos|>: one token per tag, tags in random order, unknown tags left out"


class OnnxWrapper(torch.nn.Module):
    """Flat inputs/outputs for torch.onnx.export."""

    def __init__(self, model: GPT):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        flat: List[torch.Tensor] = [logits]
        for k, v in presents:
            flat.extend([k, v])
        return tuple(flat)


def load_model(checkpoint: str, tokenizer_path: Optional[str] = None) -> GPT:
    """The checkpoint's model; with `tokenizer_path`, refused when the checkpoint records another
    vocabulary (another run's best.pt given as --checkpoint: ids would map to the wrong tags)."""
    ckpt = read_checkpoint(checkpoint)
    recorded = ckpt.get("vocabulary_sha256")
    if tokenizer_path is not None and recorded is not None and recorded != vocabulary_sha256(TagTokenizer.load(tokenizer_path).vocab):
        raise DataError(f"{checkpoint}: trained with another vocabulary than {tokenizer_path} (another run's checkpoint?)")
    model = GPT(GPTConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model


def gpt2_architecture(config: GPTConfig, dropout: float) -> dict:
    """The config.json keys that describe the network as Hugging Face's GPT2LMHeadModel."""
    return {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "vocab_size": config.vocab_size,
        "n_positions": config.n_positions,
        "n_ctx": config.n_positions,
        "n_embd": config.n_embd,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": config.layer_norm_epsilon,
        "resid_pdrop": dropout,
        "embd_pdrop": dropout,
        "attn_pdrop": dropout,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "use_cache": True,
    }


def hf_config(config: GPTConfig, extra: dict) -> dict:
    return {
        **gpt2_architecture(config, config.dropout),
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "pad_token_id": PAD_ID,
        "tag_model": {
            "tokenizer": "one token per tag (WordLevel)",
            "sequence_format": SEQUENCE_FORMAT,
            "special_tokens": {"bos": BOS, "eos": EOS, "pad": PAD, "unk": UNK},
            **extra,
        },
    }


def export_onnx(model: GPT, path: str, graph: str = "lean") -> None:
    """Writes the ONNX model atomically: the hand-written lean graph, or torch's traced one."""
    if graph == "traced":
        export_traced_onnx(model, path)
        return
    from onnx_graph import save_graph  # needs the onnx package (Debian: python3-onnx)

    tmp = path + ".tmp"
    save_graph(model, tmp)
    os.replace(tmp, path)


def export_traced_onnx(model: GPT, path: str) -> None:
    cfg = model.config
    head_dim = cfg.n_embd // cfg.n_head
    batch, seq, past = 2, 3, 2  # traced with a non-empty past; past = 0 works at run time
    input_ids = torch.randint(4, cfg.vocab_size, (batch, seq))
    attention_mask = torch.ones(batch, past + seq, dtype=torch.long)
    position_ids = torch.arange(past, past + seq).unsqueeze(0).expand(batch, -1).contiguous()
    flat_past = []
    input_names = ["input_ids", "attention_mask", "position_ids"]
    output_names = ["logits"]
    dynamic_axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for i in range(cfg.n_layer):
        for kind in ("key", "value"):
            flat_past.append(torch.randn(batch, cfg.n_head, past, head_dim))
            name = f"past_key_values.{i}.{kind}"
            input_names.append(name)
            dynamic_axes[name] = {0: "batch_size", 2: "past_sequence_length"}
            out = f"present.{i}.{kind}"
            output_names.append(out)
            dynamic_axes[out] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter: same graph on old and new PyTorch
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(
            OnnxWrapper(model).eval(),
            (input_ids, attention_mask, position_ids, *flat_past),
            tmp,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=False,  # keeps one copy of the tied embedding
            **kwargs,
        )
    model.eval()  # the exporter restores the wrapper's mode recursively; stay in eval
    os.replace(tmp, path)


@torch.no_grad()
def parity_record(model: GPT, ids: List[int], split: int, columns: int = 0) -> dict:
    """PyTorch logits for `ids` at once, and the same ids through the cache: a first step of
    ids[:split] with an empty past, then one id a step. With columns > 0 only that many evenly
    spaced vocabulary ids are kept (a small reference file for a large vocabulary)."""
    vocab = model.config.vocab_size
    kept = list(range(0, vocab, max(1, vocab // columns)))[:columns] if columns else list(range(vocab))
    x = torch.tensor([ids])
    full, _ = model(x, torch.ones_like(x))
    full = full[:, :, kept]
    steps = []
    past = None
    chunks = [ids[:split]] + [[i] for i in ids[split:]]
    pos = 0
    for chunk in chunks:
        inp = torch.tensor([chunk])
        position_ids = torch.arange(pos, pos + len(chunk)).unsqueeze(0)
        mask = torch.ones(1, pos + len(chunk), dtype=torch.long)
        logits, past = model(inp, mask, position_ids, past)
        steps.append({"input_ids": chunk, "logits": logits[0, :, kept].tolist()})
        pos += len(chunk)
    record = {"input_ids": ids, "logits": full[0].tolist(), "steps": steps}
    if columns:
        record["columns"] = kept
    return record


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--run", required=True, help="training run directory (best.pt, tokenizer.json)")
    p.add_argument("--checkpoint", help="default: RUN/best.pt")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--graph", choices=["lean", "traced"], default="lean", help="ONNX graph: written node by node (default) or traced by torch.onnx.export")
    p.add_argument("--parity", help="also write PyTorch reference logits to this JSON file")
    p.add_argument("--parity-columns", type=int, default=0, help="keep only this many evenly spaced vocabulary ids in --parity")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    try:
        return export(args)
    except (ExportError, DataError) as err:
        print(f"export: {err}", file=sys.stderr)
        return 1


class ExportError(Exception):
    pass


def matching_extras(run: str, vocab_hash: str) -> List[str]:
    """related.json and ranking.json of the run that were made for its vocabulary. Both index
    tokens by id: a file from an earlier run in the same folder would score the wrong tags."""
    kept = {}
    for extra in ("related.json", "ranking.json"):
        path = os.path.join(run, extra)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            content = json.load(f)
        recorded = content.get("vocabulary_sha256")
        if recorded == vocab_hash:
            kept[extra] = content
        else:
            why = "records no vocabulary" if recorded is None else "was made for another vocabulary"
            print(f"export: left out {path}: it {why} (run related.py / evaluate.py --tune again)", file=sys.stderr)
    if "ranking.json" in kept and "related.json" not in kept and kept["ranking.json"].get("related_file"):
        print(f"export: left out {os.path.join(run, 'ranking.json')}: it was tuned with a related.json that is left out", file=sys.stderr)
        del kept["ranking.json"]
    return list(kept)


def move_into(staging: str, out: str, stale: Sequence[str]) -> None:
    """Moves every file of `staging` into `out` (same names, renames on one file system), after
    removing `stale` files of an earlier export there that this one does not write (ranking files
    for another vocabulary). Other files of `out` (a README, eval.json) are kept."""
    for name in stale:
        target = os.path.join(out, name)
        if os.path.exists(target):
            os.remove(target)
    for folder, _, files in os.walk(staging):
        target_folder = os.path.join(out, os.path.relpath(folder, staging))
        os.makedirs(target_folder, exist_ok=True)
        for name in files:
            os.replace(os.path.join(folder, name), os.path.join(target_folder, name))


def export(args: argparse.Namespace) -> int:
    # Checked before anything is written, so a bad path leaves no half-written model folder.
    checkpoint = args.checkpoint or os.path.join(args.run, "best.pt")
    for path in (checkpoint, os.path.join(args.run, "tokenizer.json")):
        if not os.path.isfile(path):
            raise ExportError(f"{path}: no such file (train.py --out {args.run} writes it)")
    check_output_path("--parity", args.parity)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ExportError(f"--out {args.out}: not a folder (the model folder to write)")
    tokenizer = TagTokenizer.load(os.path.join(args.run, "tokenizer.json"))
    settings = read_run_settings(args.run)
    # The run's own tokenizer first (run.json), then the checkpoint's (another run's --checkpoint).
    check_run_vocabulary(args.run, settings, tokenizer)
    model = load_model(checkpoint, os.path.join(args.run, "tokenizer.json"))
    if len(tokenizer) != model.config.vocab_size:
        raise ExportError(f"{args.run}: tokenizer has {len(tokenizer)} tokens, model {model.config.vocab_size}")
    extras = matching_extras(args.run, vocabulary_sha256(tokenizer.vocab))
    # Every file is written into a folder beside --out first and moved in once all are there: an export
    # stopped halfway (Ctrl-C, a full disk) left a new config.json beside the old graph, which the
    # runtime refuses; and --out equal to --run removed the run's ranking files before copying them.
    parent = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(args.out))}.export-", dir=parent)
    try:
        tokenizer.save(staging, model.config.n_positions)
        training = {k: settings[k] for k in ("val_percent", "categories") if k in settings}
        write_json_atomic(
            os.path.join(staging, "config.json"),
            hf_config(model.config, {"parameters": model.num_parameters(), **({"training": training} if training else {})}),
        )
        write_json_atomic(
            os.path.join(staging, "generation_config.json"),
            {"bos_token_id": BOS_ID, "eos_token_id": EOS_ID, "pad_token_id": PAD_ID, "do_sample": True, "max_length": model.config.n_positions},
        )
        os.makedirs(os.path.join(staging, "onnx"))
        export_onnx(model, os.path.join(staging, "onnx", "model.onnx"), args.graph)
        for extra in extras:  # ranking files the runtime reads, made for this vocabulary
            shutil.copyfile(os.path.join(args.run, extra), os.path.join(staging, extra))
        move_into(staging, args.out, stale=[extra for extra in ("related.json", "ranking.json") if extra not in extras])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if args.parity:
        # A fixed sequence of the most frequent tags (ids 4..), long enough to exercise the cache.
        ids = [BOS_ID] + list(range(4, min(4 + 7, model.config.vocab_size)))
        write_json_atomic(args.parity, parity_record(model, ids, split=3, columns=args.parity_columns), indent=None)
    size = os.path.getsize(os.path.join(args.out, "onnx", "model.onnx"))
    print(f"exported {args.out} (onnx {size / 1e6:.2f} MB, {model.num_parameters():,} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
