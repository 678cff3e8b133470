import contextlib
import gzip
import io
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tags import (  # noqa: E402
    BOS_ID, DEFAULT_VAL_PERCENT, EOS_ID, UNK_ID, DataError, Post, TagTokenizer, build_vocab, is_validation, normalize_text,
    content_id, count_pairs, posts_sha256, read_posts, recorded_split, resolve_split, split_posts, split_tags,
)


class NormalizeTest(unittest.TestCase):
    def test_spaces_commas_and_case(self):
        self.assertEqual(split_tags("1girl, long hair,solo"), ["1girl", "long_hair", "solo"])
        self.assertEqual(split_tags("  Long Hair ,  blue_eyes ,, "), ["long_hair", "blue_eyes"])
        self.assertEqual(normalize_text("a ,b"), "a,b")


class TokenizerTest(unittest.TestCase):
    def setUp(self):
        posts = [Post("1", ["long_hair", "solo"]), Post("2", ["long_hair", "smile"]), Post("3", ["rare_tag"])]
        self.tok = TagTokenizer(build_vocab(posts, min_count=1))

    def test_vocab_order_specials_then_frequency(self):
        self.assertEqual(self.tok.vocab[:4], ["<|bos|>", "<|eos|>", "<|pad|>", "<|unk|>"])
        self.assertEqual(self.tok.vocab[4], "long_hair")  # most frequent first

    def test_round_trip_with_or_without_spaces(self):
        a = self.tok.encode("long_hair, smile, solo")
        b = self.tok.encode("long hair,smile ,solo")
        self.assertEqual(a, b)
        self.assertEqual(a[0], BOS_ID)
        self.assertEqual(self.tok.decode(a), ["long_hair", "smile", "solo"])

    def test_unknown_tag_is_unk_in_text_but_left_out_of_training_sequences(self):
        self.assertEqual(self.tok.encode("no_such_tag", add_bos=False), [UNK_ID])
        seq = self.tok.encode_post(["solo", "no_such_tag"])
        self.assertEqual(seq, [BOS_ID, self.tok.tag_id("solo"), EOS_ID])

    def test_saved_tokenizer_json_loads_back(self):
        with tempfile.TemporaryDirectory() as d:
            self.tok.save(d, 64)
            again = TagTokenizer.load(os.path.join(d, "tokenizer.json"))
            self.assertEqual(again.vocab, self.tok.vocab)
            self.assertTrue(os.path.exists(os.path.join(d, "tokenizer_config.json")))

    def test_hf_json_describes_word_level_comma_split(self):
        data = self.tok.to_hf_json()
        self.assertEqual(data["model"]["type"], "WordLevel")
        self.assertEqual(data["model"]["vocab"]["long_hair"], 4)
        self.assertEqual(data["pre_tokenizer"]["type"], "Split")


class PostsTest(unittest.TestCase):
    def test_reads_ids_and_plain_lines(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "posts.tsv")
            with open(path, "w", encoding="utf-8") as f:
                f.write("10\ta,b,a\n\nc, d e\nsmile, long hair\t\n")
            posts = read_posts(path)
            # (A tab left at the end of a line of tags is no id before them.)
            # A line without an id is known by its set of tags (its line number moved when a dump was converted again).
            self.assertEqual([(p.post_id, p.tags) for p in posts], [("10", ["a", "b"]), (content_id(["d_e", "c"]), ["c", "d_e"]), (content_id(["smile", "long_hair"]), ["smile", "long_hair"])])
            # A short hash of the set of tags (a second copy of them took 61 % more memory on 500k posts).
            self.assertRegex(posts[1].post_id, r"^tags:[0-9a-f]{16}$")
            self.assertEqual(content_id(["a", "b", "a"]), content_id(["b", "a"]))

    def test_bad_line_names_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.tsv")
            with open(path, "w", encoding="utf-8") as f:
                f.write("1\ta\n2\t , ,\n")
            with self.assertRaisesRegex(DataError, r"bad\.tsv:2"):
                read_posts(path)

    def write(self, d, name, data):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_reads_the_converters_json_lines(self):
        with tempfile.TemporaryDirectory() as d:
            path = self.write(d, "posts.jsonl", b'\n  {"id":7,"rating":"g","score":1,"tags":{"general":["long hair","solo"],"character":["x"]}}\n'
                                                b'{"rating":"s","tags":{"general":["smile"]}}\n')
            self.assertEqual([(p.post_id, p.tags) for p in read_posts(path)], [("7", ["long_hair", "solo"]), ("3", ["smile"])])
            self.assertEqual(read_posts(path, ["character", "general"])[0].tags, ["x", "long_hair", "solo"])

    def test_json_lines_errors_name_the_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = self.write(d, "bad.jsonl", b'{"id":1,"tags":{"general":["a"]}}\n{"id":2,"tags":\n')
            with self.assertRaisesRegex(DataError, r"bad\.jsonl:2: invalid JSON"):
                read_posts(path)
            path = self.write(d, "list.jsonl", b'{"id":1,"tags":["a"]}\n')
            with self.assertRaisesRegex(DataError, r"list\.jsonl:1: expected a JSON object"):
                read_posts(path)
            path = self.write(d, "empty.jsonl", b'{"id":1,"tags":{"general":[]}}\n')
            with self.assertRaisesRegex(DataError, r"empty\.jsonl: no posts with general tags"):
                read_posts(path)

    def test_json_lines_posts_without_the_chosen_categories_are_left_out_with_a_note(self):
        # The converter's `--categories general,character` writes a post with a character tag and no
        # general one as it is: trained on general tags, it has nothing to give (not a bad line).
        with tempfile.TemporaryDirectory() as d:
            path = self.write(d, "mixed.jsonl", b'{"id":1,"tags":{"general":[],"character":["hatsune_miku"]}}\n'
                                                b'{"id":2,"tags":{"general":["smile"],"character":[]}}\n')
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                posts = read_posts(path)
            self.assertEqual([(p.post_id, p.tags) for p in posts], [("2", ["smile"])])
            self.assertIn("mixed.jsonl: 1 post with no general tag left out", err.getvalue())
            self.assertEqual(len(read_posts(path, ["general", "character"])), 2)
            text = self.write(d, "empty.tsv", b'1\tsmile\n2\t\n')
            with self.assertRaisesRegex(DataError, r"empty\.tsv:2: no tags on this line"):
                read_posts(text)
            with self.assertRaisesRegex(DataError, r"empty\.tsv: a text dataset holds one list of tags per post, not categories; --categories character needs"):
                read_posts(text, ["character"])

    def test_invalid_utf8_names_the_line_and_a_bom_is_dropped(self):
        with tempfile.TemporaryDirectory() as d:
            path = self.write(d, "bom.txt", "\ufeff2girls,smile\nsolo\n".encode("utf-8"))
            self.assertEqual(read_posts(path)[0].tags, ["2girls", "smile"])
            path = self.write(d, "latin1.txt", b"a,b\nc\nd,caf\xe9\n")
            with self.assertRaisesRegex(DataError, r"latin1\.txt:3: not UTF-8"):
                read_posts(path)

    def test_split_is_fixed_by_post_id(self):
        # The split eval.json records (crc32 of the id % 100 < 10): the same in every process and
        # machine (a salted hash() would move posts between training and validation on resume).
        self.assertEqual([i for i in range(100) if is_validation(str(i))], [0, 4, 9, 13, 26, 28, 37, 40, 41, 73, 74])
        posts = [Post(str(i), ["a"]) for i in range(2000)]
        train, val = split_posts(posts)
        self.assertTrue(150 < len(val) < 250)
        self.assertEqual([p.post_id for p in val], [p.post_id for p in posts if is_validation(p.post_id)])
        _, val_reversed = split_posts(list(reversed(posts)))
        self.assertEqual(sorted(p.post_id for p in val), sorted(p.post_id for p in val_reversed))


    def test_a_gzipped_dataset_is_read_and_metadata_or_a_folder_says_what_to_do(self):
        with tempfile.TemporaryDirectory() as d:
            packed = os.path.join(d, "posts.txt.gz")
            with gzip.open(packed, "wt", encoding="utf-8") as f:
                f.write("1\tsmile, long hair\nblush\n")
            self.assertEqual([p.tags for p in read_posts(packed)], [["smile", "long_hair"], ["blush"]])
            with gzip.open(packed, "wb") as f:
                f.write(b"".join(b"%d\tsmile, blush\n" % i for i in range(20000)))
            with open(packed, "rb") as f:
                whole = f.read()
            for name, data in [("cut.txt.gz", whole[: len(whole) // 2]), ("damaged.txt.gz", whole[:40] + b"\x00" * 64 + whole[104:])]:
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
                with self.assertRaisesRegex(DataError, rf"{name}: a truncated or damaged gzip file, after line \d+"):
                    read_posts(os.path.join(d, name))
            with self.assertRaisesRegex(DataError, r"is a folder; give the tag dataset the converter wrote from it \(danbooru-gpt convert"):
                read_posts(d)
            for name, line in [("api.jsonl", '{"id": 1, "tag_string_general": "smile long_hair"}'), ("gwern.jsonl", '{"id": "1", "tags": [{"name": "smile", "category": "0"}]}')]:
                path = os.path.join(d, name)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(line + "\n")
                with self.assertRaisesRegex(DataError, rf"{name}:1: Danbooru metadata .*not a tag dataset: convert it first \(danbooru-gpt convert"):
                    read_posts(path)

    def test_a_dataset_without_ids_converted_again_keeps_each_posts_split(self):
        # The converter's default output has no ids: posts left out before a post (a newer dump, another
        # filter) moved 1,385 of 1,555 validation posts into training when lines were the ids.
        data = os.path.join(os.path.dirname(__file__), "data", "posts-sample.tsv")
        with open(data, encoding="utf-8") as f:
            lines = [line.split("\t", 1)[1] for line in f if line.strip()]
        with tempfile.TemporaryDirectory() as d:
            first, again = os.path.join(d, "v1.txt"), os.path.join(d, "v2.txt")
            with open(first, "w", encoding="utf-8") as f:
                f.writelines(lines)
            with open(again, "w", encoding="utf-8") as f:
                f.writelines(lines[len(lines) // 3:])
            key = lambda post: tuple(post.tags)
            _, val_first = split_posts(read_posts(first), 30)
            train_again, val_again = split_posts(read_posts(again), 30)
            kept = {key(p) for p in read_posts(again)}
            self.assertTrue(len(val_first) > 5)
            self.assertEqual({key(p) for p in val_first} & kept, {key(p) for p in val_again})
            self.assertEqual({key(p) for p in val_first} & {key(p) for p in train_again}, set())
            self.assertNotEqual(posts_sha256(read_posts(first)), posts_sha256(read_posts(again)))


class CountPairsTest(unittest.TestCase):
    """The pair counts of related.py's Gram matrix (float64, diagonal) and evaluate.py's co-occurrence (uint, none)."""

    SETS = [{0, 2, 3}, {2}, set(), {3, 2}, {1, 2, 3, 4}]

    def dense(self):
        x = np.zeros((len(self.SETS), 5), dtype=np.int64)
        for r, ids in enumerate(self.SETS):
            x[r, list(ids)] = 1
        return x.T @ x

    def test_equals_x_transpose_x_in_the_given_dtype(self):
        counts = count_pairs(iter(self.SETS), 5, np.float64)
        self.assertEqual((counts.dtype, counts.shape), (np.float64, (5, 5)))
        self.assertTrue(np.array_equal(counts, self.dense()))

    def test_without_the_diagonal(self):
        counts = count_pairs(self.SETS, 5, np.uint8, diagonal=False)
        expected = self.dense()
        np.fill_diagonal(expected, 0)
        self.assertEqual(counts.dtype, np.uint8)
        self.assertTrue(np.array_equal(counts, expected))
        self.assertEqual(count_pairs([], 0, np.uint8).shape, (0, 0))


class SplitSettingsTest(unittest.TestCase):
    def test_the_recorded_split_else_the_default(self):
        self.assertEqual(recorded_split({"val_percent": 20}), 20)
        self.assertEqual(recorded_split({}), DEFAULT_VAL_PERCENT)  # a run from before run.json

    def test_resolve_split_takes_the_runs_and_refuses_another(self):
        self.assertEqual(resolve_split(None, {"val_percent": 0}, "run", "x.py"), 0)
        self.assertEqual(resolve_split(None, {}, None, "x.py"), DEFAULT_VAL_PERCENT)
        self.assertEqual(resolve_split(5, {}, None, "x.py"), 5)  # nothing recorded: any split
        self.assertEqual(resolve_split(20, {"val_percent": 20}, "run", "x.py"), 20)
        with self.assertRaisesRegex(DataError, r"run.run\.json: the run was trained with --val-percent 20; x\.py with --val-percent 10"):
            resolve_split(10, {"val_percent": 20}, "run", "x.py")


if __name__ == "__main__":
    unittest.main()
