"""Tag data and the one-token-per-tag tokenizer.

Input format (the converter's output): one post a line, comma-separated tags, optionally
preceded by `post_id<TAB>` (the shared Danbooru file has ids; a converter file may not, then
the line number is the id). Tags may use spaces or underscores and spaces after commas.

Sequence format the model is trained on (and the runtime must feed):
    <|bos|> tag tag ... tag <|eos|>
one token per tag, tags in random order, tags outside the vocabulary left out.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

BOS, EOS, PAD, UNK = "<|bos|>", "<|eos|>", "<|pad|>", "<|unk|>"
SPECIAL_TOKENS = [BOS, EOS, PAD, UNK]  # ids 0, 1, 2, 3
BOS_ID, EOS_ID, PAD_ID, UNK_ID = 0, 1, 2, 3

_COMMA_SPACES = re.compile(r"\s*,\s*")
_SPACES = re.compile(r" ")


@dataclass
class Post:
    post_id: str
    tags: List[str]


class DataError(ValueError):
    pass


def normalize_text(text: str) -> str:
    """The same normalisation as tokenizer.json: lower-case, no spaces around commas,
    trimmed, remaining spaces become underscores."""
    text = text.lower()
    text = _COMMA_SPACES.sub(",", text)
    text = text.strip()
    return _SPACES.sub("_", text)


def split_tags(text: str) -> List[str]:
    return [t for t in normalize_text(text).split(",") if t]


JSONL_CATEGORIES = ("general", "artist", "copyright", "character", "meta")


def read_posts(path: str, categories: Sequence[str] = ("general",)) -> List[Post]:
    """Reads a tag dataset; a malformed line raises DataError naming the file and line.

    Two layouts, told apart per file by its first non-blank character:
    - text: `[post_id<TAB>]tag, tag, ...` (the converter's default output, the shared TSV);
    - JSON lines (`{` first): the converter's `--format jsonl`,
      `{"id", "rating", "score", "tags": {"general": [...], "character": [...], ...}}`;
      the tags of `categories` are read, in that order.
    """
    posts: List[Post] = []
    jsonl: Optional[bool] = None
    without_categories = 0
    if os.path.isdir(path):
        raise DataError(f"{path}: is a folder; give the tag dataset the converter wrote from it "
                        f"(danbooru-gpt convert {path} -o posts.txt)")
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    # Bytes, decoded line by line: a UnicodeDecodeError from a text-mode file names no line. (A
    # gzip-compressed dataset, as dumps come, is read as it is.)
    with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
        for line_no, raw in enumerate(_gzip_lines(path, f) if gzipped else f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(f"{path}:{line_no}: not UTF-8 ({err.reason} at byte {err.start})") from None
            if line_no == 1:
                line = line.lstrip("\ufeff")  # a BOM would become part of the first tag
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            if jsonl is None:
                jsonl = line.lstrip().startswith("{")
                if not jsonl and list(categories) != ["general"]:
                    # A text line is one list of tags: asking for character tags there would train on
                    # them as if they were what was asked for.
                    raise DataError(f"{path}: a text dataset holds one list of tags per post, not categories; "
                                    f"--categories {','.join(categories)} needs the converter's --format jsonl")
            if jsonl:
                post_id, tags = _jsonl_post(path, line_no, line, categories)
            else:
                post_id, tags = _text_post(path, line_no, line)
            # Interned: a full dump repeats the same few thousand tag strings millions of times.
            tags = [sys.intern(t) for t in dict.fromkeys(tags)]  # drop repeats, keep order
            if not tags and jsonl:
                # A post of the converter's jsonl with tags of other categories only (a character
                # but no general tag, for `--categories general,character`): nothing to learn here.
                without_categories += 1
                continue
            if not tags:
                raise DataError(f"{path}:{line_no}: no tags on this line")
            posts.append(Post(post_id, tags))
    if without_categories:
        print(f"note: {path}: {without_categories} post{'s' if without_categories != 1 else ''} with no "
              f"{'/'.join(categories)} tag left out", file=sys.stderr, flush=True)
    if not posts:
        raise DataError(f"{path}: no posts" + (f" with {'/'.join(categories)} tags" if without_categories else ""))
    return posts


def _gzip_lines(path: str, f) -> Iterable[bytes]:
    """The lines of a gzip file; one cut short or damaged (a download stopped) is a DataError naming it."""
    line_no = 0
    try:
        for line_no, raw in enumerate(f, start=1):
            yield raw
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: a truncated or damaged gzip file, after line {line_no} ({err})") from None


def _text_post(path: str, line_no: int, line: str) -> Tuple[str, List[str]]:
    if "\t" in line:
        post_id, _, text = line.partition("\t")
        # `smile, long hair<TAB>`: a tab left at the end of a line of tags, not an id before them.
        if not text.strip() and not post_id.strip().isdigit():
            return content_id(split_tags(post_id)), split_tags(post_id)
        post_id = post_id.strip()
        if not post_id or "\t" in text:
            raise DataError(f"{path}:{line_no}: expected 'post_id<TAB>tag, tag, ...'")
        return post_id, split_tags(text)
    tags = split_tags(line)
    return content_id(tags), tags


def content_id(tags: Sequence[str]) -> str:
    """The id of a post written without one (the converter's default output): its set of tags. By line
    number, a dump converted again (a newer one, another filter) re-dealt the split: 1,385 of 1,555
    validation posts became training posts when 100 posts before them were left out. The same tags
    are then one post to the split too (no copy of a validation post is trained on)."""
    # A short hash, not the tags again: a copy of every post's tags took 61 % more memory on 500k posts.
    return "tags:" + hashlib.blake2b(",".join(sorted(set(tags))).encode("utf-8"), digest_size=8).hexdigest()


def _jsonl_post(path: str, line_no: int, line: str, categories: Sequence[str]) -> Tuple[str, List[str]]:
    try:
        obj = json.loads(line)
    except ValueError as err:
        raise DataError(f"{path}:{line_no}: invalid JSON: {err}") from None
    given = obj.get("tags") if isinstance(obj, dict) else None
    if isinstance(obj, dict) and ("tag_string_general" in obj or (isinstance(given, list) and given and isinstance(given[0], dict) and "name" in given[0])):
        raise DataError(f"{path}:{line_no}: Danbooru metadata (tag_string_general, or tags: [{{name, category}}]), "
                        f"not a tag dataset: convert it first (danbooru-gpt convert {path} -o posts.txt)")
    if not isinstance(obj, dict) or not isinstance(obj.get("tags"), dict):
        raise DataError(f'{path}:{line_no}: expected a JSON object with "tags": {{category: [tag, ...]}}')
    tags: List[str] = []
    for category in categories:
        names = obj["tags"].get(category, [])
        if not isinstance(names, list) or not all(isinstance(t, str) for t in names):
            raise DataError(f'{path}:{line_no}: "tags.{category}" must be a list of strings')
        tags.extend(t for name in names for t in split_tags(name))
    post_id = obj.get("id")
    return (str(line_no) if post_id is None else str(post_id)), tags


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help of the training scripts: the module's text as written, and each flag's default (a bare
    run's size and length were not to be found), unless its help says it already or it has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        # (By identity: 0 equals False, and `--max-steps`' 0 is a default to show.)
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def parse_categories(text: str) -> List[str]:
    """`general,character` -> ["general", "character"]; an unknown name raises DataError."""
    names = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in names if c not in JSONL_CATEGORIES]
    if not names or unknown:
        raise DataError(f"--categories: expected names from {', '.join(JSONL_CATEGORIES)}, got {text!r}")
    return names


# train.py's --val-percent default, and so the split of a run that records none (made before run.json).
DEFAULT_VAL_PERCENT = 10


def is_validation(post_id: str, percent: int = DEFAULT_VAL_PERCENT) -> bool:
    """Fixed split by post id: stable across runs, machines and file orders."""
    return zlib.crc32(post_id.encode("utf-8")) % 100 < percent


def split_posts(posts: Sequence[Post], percent: int = DEFAULT_VAL_PERCENT) -> Tuple[List[Post], List[Post]]:
    train = [p for p in posts if not is_validation(p.post_id, percent)]
    val = [p for p in posts if is_validation(p.post_id, percent)]
    return train, val


def build_vocab(posts: Iterable[Post], min_count: int) -> List[str]:
    """Special tokens, then tags seen at least min_count times, most frequent first."""
    counts: Counter = Counter()
    for p in posts:
        counts.update(p.tags)
    tags = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return SPECIAL_TOKENS + tags


def count_pairs(id_sets: Iterable[Iterable[int]], size: int, dtype, diagonal: bool = True) -> np.ndarray:
    """[size, size] counts of the sets holding both a and b (X^T X, X the set x id 0/1 matrix);
    the diagonal (sets holding a) is left 0 unless `diagonal`. Each set's ids are distinct and in
    0..size-1. Accumulated one set at a time: X itself is never built, so the memory is the result's
    whatever the number of sets. `dtype` must hold the largest count (exact: integers only)."""
    counts = np.zeros(size * size, dtype=dtype)
    one = counts.dtype.type(1)
    for ids in id_sets:
        a = np.fromiter(ids, dtype=np.int64)
        if a.size < (1 if diagonal else 2):
            continue
        keys = (a[:, None] * size + a[None, :]).reshape(-1)
        if not diagonal:
            keys = keys[keys % (size + 1) != 0]
        # Distinct ids, so distinct keys: one fancy += counts each pair once.
        counts[keys] += one
    return counts.reshape(size, size)


class TagTokenizer:
    def __init__(self, vocab: Sequence[str]):
        if list(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError("vocabulary must start with " + ", ".join(SPECIAL_TOKENS))
        self.vocab = list(vocab)
        self.ids: Dict[str, int] = {t: i for i, t in enumerate(self.vocab)}

    def __len__(self) -> int:
        return len(self.vocab)

    def tag_id(self, tag: str) -> Optional[int]:
        return self.ids.get(tag)

    def encode(self, text: str, add_bos: bool = True) -> List[int]:
        """Like tokenizer.json: unknown tags become <|unk|>, <|bos|> is prepended."""
        ids = [self.ids.get(t, UNK_ID) for t in split_tags(text)]
        return [BOS_ID] + ids if add_bos else ids

    def encode_post(self, tags: Sequence[str]) -> List[int]:
        """Training sequence: <|bos|> known tags <|eos|> (unknown tags left out)."""
        return [BOS_ID] + [self.ids[t] for t in tags if t in self.ids] + [EOS_ID]

    def decode(self, ids: Iterable[int]) -> List[str]:
        return [self.vocab[i] for i in ids if i >= len(SPECIAL_TOKENS)]

    @classmethod
    def load(cls, path: str) -> "TagTokenizer":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        vocab_map: Dict[str, int] = data["model"]["vocab"]
        vocab = [""] * len(vocab_map)
        for tok, i in vocab_map.items():
            vocab[i] = tok
        return cls(vocab)

    def to_hf_json(self) -> dict:
        """A Hugging Face tokenizers `tokenizer.json` (WordLevel) with the same behaviour as encode()."""
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {
                    "id": i,
                    "content": tok,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": True,
                }
                for i, tok in enumerate(SPECIAL_TOKENS)
            ],
            "normalizer": {
                "type": "Sequence",
                "normalizers": [
                    {"type": "Lowercase"},
                    {"type": "Replace", "pattern": {"Regex": r"\s*,\s*"}, "content": ","},
                    {"type": "Strip", "strip_left": True, "strip_right": True},
                    {"type": "Replace", "pattern": {"String": " "}, "content": "_"},
                ],
            },
            "pre_tokenizer": {
                "type": "Split",
                "pattern": {"Regex": ","},
                "behavior": "Removed",
                "invert": False,
            },
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": BOS, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                ],
                "pair": [
                    {"SpecialToken": {"id": BOS, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"Sequence": {"id": "B", "type_id": 1}},
                ],
                "special_tokens": {BOS: {"id": BOS, "ids": [BOS_ID], "tokens": [BOS]}},
            },
            "decoder": None,
            "model": {
                "type": "WordLevel",
                "vocab": {tok: i for i, tok in enumerate(self.vocab)},
                "unk_token": UNK,
            },
        }

    def save(self, directory: str, model_max_length: int) -> None:
        os.makedirs(directory, exist_ok=True)
        write_json_atomic(os.path.join(directory, "tokenizer.json"), self.to_hf_json())
        write_json_atomic(
            os.path.join(directory, "tokenizer_config.json"),
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": BOS,
                "eos_token": EOS,
                "pad_token": PAD,
                "unk_token": UNK,
                "model_max_length": model_max_length,
                "clean_up_tokenization_spaces": False,
            },
        )


def write_json_atomic(path: str, data: object, indent: Optional[int] = 2) -> None:
    """Writes beside the target, then renames, so a reader never sees half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=indent)
        f.write("\n")
    os.replace(tmp, path)


def vocabulary_sha256(vocab: Sequence[str]) -> str:
    """Identifies a vocabulary: run.json (the vocabulary the checkpoints were trained with) and the
    files indexed by token id (related.json, ranking.json) record it, so that a tokenizer or a file
    made for another vocabulary is never used or shipped beside this run's."""
    return hashlib.sha256("\n".join(vocab).encode("utf-8")).hexdigest()


RUN_SETTINGS = "run.json"


def read_run_settings(run: str) -> dict:
    """The data settings train.py recorded in RUN/run.json ({} for runs made before it did)."""
    path = os.path.join(run, RUN_SETTINGS)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def check_run_vocabulary(run: str, settings: dict, tokenizer: "TagTokenizer") -> None:
    """Refuses a RUN/tokenizer.json other than the one the run was trained with (run.json's hash;
    runs from before it was recorded are not checked): the checkpoints index tags by id, so another
    vocabulary of the same size would silently score, export or train the wrong tags."""
    recorded = settings.get("vocabulary_sha256")
    if recorded is not None and recorded != vocabulary_sha256(tokenizer.vocab):
        raise DataError(f"{os.path.join(run, 'tokenizer.json')}: not the vocabulary this run was trained with "
                        f"({os.path.join(run, RUN_SETTINGS)} records another vocabulary_sha256)")


def posts_sha256(posts: Iterable[Post]) -> str:
    """What a run records of its data (run.json): its posts, ids and tags, in order; a file changed at
    the same path (converted again) has another."""
    digest = hashlib.sha256()
    for post in posts:
        digest.update(f"{post.post_id}\t{','.join(post.tags)}\n".encode("utf-8"))
    return digest.hexdigest()


def split_changed_since(settings: dict, posts: Sequence[Post]) -> bool:
    """Whether `posts` (a dataset without ids) were split otherwise when the run started: runs from
    before run.json recorded data_sha256 took a post's line number for its id, now its tags."""
    return "data_sha256" not in settings and any(post.post_id.startswith("tags:") for post in posts)


def note_other_data(data: str, settings: dict, run: str, what: str, file=None, posts: Optional[Sequence[Post]] = None) -> None:
    """A --data other than the run's (run.json) is noted (on stderr, or `file`): a moved copy is fine,
    another dataset's posts would not be split as the run's were (its validation posts could be fitted on).
    With `posts`, a file that holds other posts than the run's (converted again at the same path) too."""
    recorded = settings.get("data")
    if recorded is not None and os.path.abspath(data) != recorded:
        print(f"note: {run} was trained on {recorded}; {what} reads {os.path.abspath(data)} "
              "(the same posts are expected: a post keeps its split by its id)", file=file or sys.stderr, flush=True)
    elif posts is not None and settings.get("data_sha256") not in (None, posts_sha256(posts)):
        print(f"note: {data} holds other posts than when {run} was trained ({settings.get('data_posts')} then, "
              f"{len(posts)} now): its validation posts are not all the run's", file=file or sys.stderr, flush=True)
    elif posts is not None and split_changed_since(settings, posts):
        print(f"note: {run} was trained when a post without an id was split by its line number, now by its tags: "
              "its validation posts are not all the run's", file=file or sys.stderr, flush=True)


def check_output_path(flag: str, path: Optional[str]) -> None:
    """An output file whose folder is missing (or that is a folder) fails before the work, not after."""
    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise DataError(f"{flag} {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise DataError(f"{flag} {path}: is a folder (a JSON file is written there)")


def recorded_split(settings: dict) -> int:
    """The --val-percent recorded in run.json settings (or an export's tag_model.training), else the default."""
    recorded = settings.get("val_percent")
    return DEFAULT_VAL_PERCENT if recorded is None else int(recorded)


def resolve_split(given: Optional[int], settings: dict, run: Optional[str], what: str) -> int:
    """--val-percent for a script that reads a run (settings: read_run_settings(run), {} without one):
    the run's split by default. Another split would count validation posts as training data (or the
    reverse), so a different one is refused."""
    recorded = settings.get("val_percent")
    if given is None:
        return recorded_split(settings)
    if recorded is not None and given != recorded:
        raise DataError(f"{os.path.join(run, RUN_SETTINGS)}: the run was trained with --val-percent {recorded}; "
                        f"{what} with --val-percent {given} would mix its training and validation posts")
    return given
