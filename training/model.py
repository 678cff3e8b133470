"""A GPT-2 over tags, in one file (nanoGPT style).

Parameter names and shapes match Hugging Face's GPT2LMHeadModel (Conv1D weights are
[in, out]), so `config.json` with `model_type: gpt2` describes the exported model truthfully
and `GPT2LMHeadModel.from_pretrained` could load `state_dict()` as it is.
Pre-LN blocks, learned positions, tied input/output embeddings, GELU (tanh) MLP.

`forward` takes and returns the KV cache in the layout Hugging Face optimum exports:
past/present key and value are [batch, heads, past_len, head_dim] per layer.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from tags import DataError

KeyValue = Tuple[torch.Tensor, torch.Tensor]


@dataclass
class GPTConfig:
    vocab_size: int
    n_positions: int = 256
    n_embd: int = 192
    n_layer: int = 3
    n_head: int = 4
    dropout: float = 0.1
    layer_norm_epsilon: float = 1e-5

    def to_dict(self) -> dict:
        return asdict(self)


class Conv1D(nn.Module):
    """A linear layer with its weight stored [in, out], as GPT-2 (and so Hugging Face) keeps it."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x.reshape(-1, x.size(-1)), self.weight).reshape(
            x.shape[:-1] + (self.weight.size(1),)
        )


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.c_attn = Conv1D(config.n_embd, 3 * config.n_embd)
        self.c_proj = Conv1D(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_head, self.head_dim).transpose(1, 2)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor, past: Optional[KeyValue]
    ) -> Tuple[torch.Tensor, KeyValue]:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        # Explicit attention (not a fused kernel) so the ONNX export is plain MatMul/Softmax.
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        att = att + bias
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, c)
        return self.resid_dropout(self.c_proj(y)), (k, v)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = Conv1D(config.n_embd, 4 * config.n_embd)
        self.c_proj = Conv1D(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor, past: Optional[KeyValue]
    ) -> Tuple[torch.Tensor, KeyValue]:
        attn_out, present = self.attn(self.ln_1(x), bias, past)
        x = x + attn_out
        x = x + self.mlp(self.ln_2(x))
        return x, present


class Transformer(nn.Module):
    """Holds the parameters under the names Hugging Face uses (`transformer.wte`, `transformer.h.0`, ...)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = Transformer(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied embeddings
        self.apply(self._init_weights)
        # GPT-2's scaled init of the residual projections.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        """Unique parameters (the tied embedding counted once)."""
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: Optional[torch.Tensor] = None,
        position_ids: Optional[torch.Tensor] = None,
        past_key_values: Optional[List[KeyValue]] = None,
    ) -> Tuple[torch.Tensor, List[KeyValue]]:
        """input_ids [B, T]; attention_mask [B, past_len + T] (1 = real token); returns
        logits [B, T, V] and the new cache (one (key, value) per layer)."""
        b, t = input_ids.shape
        past_len = past_key_values[0][0].size(2) if past_key_values is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + t, device=input_ids.device).unsqueeze(0)
        x = self.transformer.drop(self.transformer.wte(input_ids) + self.transformer.wpe(position_ids))

        # Additive attention bias [B, 1, T, past_len + T]: causal, plus padding from attention_mask.
        total = past_len + t
        key_pos = torch.arange(total, device=input_ids.device)
        query_pos = torch.arange(t, device=input_ids.device) + past_len
        allowed = key_pos.unsqueeze(0) <= query_pos.unsqueeze(1)  # [T, total]
        allowed = allowed.unsqueeze(0).unsqueeze(0)
        if attention_mask is not None:
            allowed = allowed & (attention_mask[:, None, None, :] > 0)
        bias = torch.zeros(allowed.shape, dtype=x.dtype, device=x.device).masked_fill(
            ~allowed, torch.finfo(x.dtype).min
        )

        presents: List[KeyValue] = []
        for i, block in enumerate(self.transformer.h):
            x, present = block(x, bias, past_key_values[i] if past_key_values is not None else None)
            presents.append(present)
        logits = self.lm_head(self.transformer.ln_f(x))
        return logits, presents


def read_checkpoint(path: str) -> dict:
    """A training checkpoint (last.pt, best.pt), read on the CPU. A file PyTorch cannot read (cut
    short, another file) or one that holds no model is a DataError naming it, not a traceback."""
    try:
        ckpt = torch.load(path, map_location="cpu")
    except Exception as err:  # torch raises whatever its unpickler meets (EOFError, RuntimeError, …)
        raise DataError(f"{path}: not a checkpoint PyTorch can read ({type(err).__name__}: {err}); "
                        "is it cut short or another file?") from err
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise DataError(f"{path}: not a training checkpoint (no model weights and config in it)")
    return ckpt
