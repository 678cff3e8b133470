"""related.py and export.py on a tiny run: the streamed Gram matrix, the split, stale files."""
import json
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import evaluate  # noqa: E402
import export  # noqa: E402
import related  # noqa: E402
import train  # noqa: E402
from tiny_run import TINY, run_main, write_posts  # noqa: E402
from tags import TagTokenizer, vocabulary_sha256  # noqa: E402


class RelatedAndExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.data = write_posts(os.path.join(self.dir, "posts.tsv"), n=60)
        self.run = os.path.join(self.dir, "run")
        code, _, err = run_main(train.main, ["--data", self.data, "--out", self.run, *TINY, "--epochs", "1"])
        assert code == 0, err

    def tearDown(self):
        self.tmp.cleanup()

    def test_streamed_gram_equals_the_dense_product_and_the_cap_leaves_rare_tags_without_rows(self):
        from tags import read_posts, split_posts

        tok = TagTokenizer.load(os.path.join(self.run, "tokenizer.json"))
        posts, _ = split_posts(read_posts(self.data), 10)
        x = torch.zeros(len(posts), len(tok))
        for r, post in enumerate(posts):
            x[r, [tok.tag_id(t) for t in post.tags if tok.tag_id(t) is not None]] = 1.0
        x[:, :4] = 0
        dense = (x.T @ x).double()
        self.assertTrue(torch.equal(related.gram_matrix(posts, tok, len(tok)), dense))
        self.assertTrue(torch.equal(related.gram_matrix(posts, tok, 10), dense[:10, :10]))
        code, _, err = run_main(related.main, ["--data", self.data, "--run", self.run, "--max-tags", "5"])
        self.assertEqual(code, 0, err)
        with open(os.path.join(self.run, "related.json"), encoding="utf-8") as f:
            data = json.load(f)
        self.assertEqual(len(data["rows"]), len(tok))
        self.assertTrue(all(not row for row in data["rows"][9:]))
        self.assertTrue(all(j < 9 for row in data["rows"] for j, _ in row))
        self.assertEqual(data["vocabulary_sha256"], vocabulary_sha256(tok.vocab))

    def test_related_weights_keep_positive_ones_and_count_a_context_tag_once(self):
        self.assertEqual(related.sparsify(torch.tensor([[0.0, -1.0, 2.0]]), 3), [[[2, 2.0]]])
        self.assertEqual(related.sparsify(torch.tensor([[0.5, 0.25]]), 1, vocab_size=3), [[[0, 0.5]], [], []])
        scores = related.Related([[[1, 0.5]], []]).scores([0, 0], 2)
        self.assertEqual(scores.tolist(), [0.0, 0.5])

    def test_export_leaves_out_a_ranking_tuned_with_a_related_json_it_leaves_out(self):
        out = os.path.join(self.dir, "model")
        with open(os.path.join(self.run, "related.json"), "w", encoding="utf-8") as f:
            json.dump({"version": 1, "rows": [], "vocabulary_sha256": "another"}, f)
        tok = TagTokenizer.load(os.path.join(self.run, "tokenizer.json"))
        with open(os.path.join(self.run, "ranking.json"), "w", encoding="utf-8") as f:
            json.dump({"version": 1, "model_weight": 1.0, "related_weight": 12.0, "related_file": "related.json",
                       "vocabulary_sha256": vocabulary_sha256(tok.vocab)}, f)
        code, _, err = run_main(export.main, ["--run", self.run, "--out", out])
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(os.path.join(out, "related.json")))
        self.assertFalse(os.path.exists(os.path.join(out, "ranking.json")))
        self.assertIn("tuned with a related.json that is left out", err)

    def test_related_refuses_another_split_than_the_runs(self):
        code, _, err = run_main(related.main, ["--data", self.data, "--run", self.run, "--val-percent", "20"])
        self.assertEqual(code, 1)
        self.assertIn("trained with --val-percent 10", err)

    def test_export_ships_only_files_made_for_this_vocabulary_and_removes_stale_ones(self):
        out = os.path.join(self.dir, "model")
        os.makedirs(out)
        for name in ("related.json", "ranking.json"):  # left by an earlier export
            with open(os.path.join(out, name), "w", encoding="utf-8") as f:
                f.write("{}")
        with open(os.path.join(self.run, "ranking.json"), "w", encoding="utf-8") as f:
            json.dump({"version": 1, "model_weight": 1.0, "vocabulary_sha256": "another"}, f)
        self.assertEqual(run_main(related.main, ["--data", self.data, "--run", self.run])[0], 0)
        code, _, err = run_main(export.main, ["--run", self.run, "--out", out])
        self.assertEqual(code, 0, err)
        self.assertTrue(os.path.exists(os.path.join(out, "related.json")))
        self.assertFalse(os.path.exists(os.path.join(out, "ranking.json")))
        self.assertIn("ranking.json: it was made for another vocabulary", err)
        with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f)["tag_model"]["training"]["val_percent"], 10)

    def test_export_into_the_run_folder_keeps_its_ranking_files(self):
        self.assertEqual(run_main(related.main, ["--data", self.data, "--run", self.run])[0], 0)
        code, _, err = run_main(export.main, ["--run", self.run, "--out", self.run])
        self.assertEqual(code, 0, err)
        for name in ("related.json", "config.json", os.path.join("onnx", "model.onnx"), "best.pt"):
            self.assertTrue(os.path.exists(os.path.join(self.run, name)), name)
        self.assertEqual([n for n in os.listdir(self.dir) if ".export-" in n], [])

    def test_an_export_stopped_halfway_leaves_the_model_folder_as_it_was(self):
        out = os.path.join(self.dir, "model")
        self.assertEqual(run_main(related.main, ["--data", self.data, "--run", self.run])[0], 0)
        self.assertEqual(run_main(export.main, ["--run", self.run, "--out", out])[0], 0)
        with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
            f.write("the user's own file\n")
        before = {name: open(os.path.join(out, name), "rb").read() for name in ("config.json", "tokenizer.json", "related.json", os.path.join("onnx", "model.onnx"))}
        real = export.export_onnx

        def interrupted(*args, **kwargs):
            real(*args, **kwargs)
            raise KeyboardInterrupt  # Ctrl-C once the graph is written, before the rest moves in

        export.export_onnx = interrupted
        try:
            with self.assertRaises(KeyboardInterrupt):
                run_main(export.main, ["--run", self.run, "--out", out, "--graph", "traced"])
        finally:
            export.export_onnx = real
        for name, content in before.items():
            self.assertEqual(open(os.path.join(out, name), "rb").read(), content, name)
        self.assertTrue(os.path.exists(os.path.join(out, "README.md")))
        self.assertEqual([n for n in os.listdir(self.dir) if ".export-" in n], [])
        # Done again, the other graph moves in beside the user's file.
        self.assertEqual(run_main(export.main, ["--run", self.run, "--out", out, "--graph", "traced"])[0], 0)
        self.assertNotEqual(open(os.path.join(out, "onnx", "model.onnx"), "rb").read(), before[os.path.join("onnx", "model.onnx")])
        self.assertTrue(os.path.exists(os.path.join(out, "README.md")))

    def test_a_checkpoint_cut_short_is_an_error_naming_it_not_a_traceback(self):
        best = os.path.join(self.run, "best.pt")
        with open(best, "rb") as f:
            data = f.read()
        with open(best, "wb") as f:
            f.write(data[: len(data) // 3])
        code, _, err = run_main(export.main, ["--run", self.run, "--out", os.path.join(self.dir, "model")])
        self.assertEqual(code, 1)
        self.assertIn(f"{best}: not a checkpoint PyTorch can read", err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "model")))

    def test_related_refuses_flags_out_of_range_before_the_fit(self):
        for extra in (["--k", "-1"], ["--lambda", "0"], ["--lambda", "-5"], ["--lambda", "nan"], ["--threads", "0"]):
            code, _, err = run_main(related.main, ["--data", self.data, "--run", self.run, *extra])
            self.assertEqual(code, 2, extra)
            self.assertIn("--lambda must be above 0", err)
            self.assertFalse(os.path.exists(os.path.join(self.run, "related.json")), extra)

    def test_evaluation_context_longer_than_the_model_keeps_bos_and_the_latest_tags_as_the_runtime(self):
        short = os.path.join(self.dir, "short")
        code, _, err = run_main(train.main, ["--data", self.data, "--out", short, *TINY, "--epochs", "1", "--n-positions", "4"])
        self.assertEqual(code, 0, err)
        names = [f"tag_{i}" for i in range(30)]
        dictionary = evaluate.Dictionary(names, np.ones(len(names)), {n: i for i, n in enumerate(names)})
        scorer = evaluate.ModelScorer(os.path.join(short, "best.pt"), os.path.join(short, "tokenizer.json"), dictionary)
        context = ["tag_1", "tag_2", "tag_3", "tag_4", "tag_5"]
        latest = scorer.logp(context[-3:])
        np.testing.assert_array_equal(scorer.logp(context), latest)
        self.assertFalse(np.array_equal(scorer.logp(context[:3]), latest), "the first tags give another distribution")

    def test_export_checks_the_parity_folder_before_writing(self):
        out = os.path.join(self.dir, "model")
        code, _, err = run_main(export.main, ["--run", self.run, "--out", out, "--parity", os.path.join(self.dir, "no", "p.json")])
        self.assertEqual(code, 1)
        self.assertIn("does not exist", err)
        self.assertFalse(os.path.exists(out))

    def test_bad_output_paths_fail_first_and_tune_refuses_to_tune_on_nothing(self):
        dictionary = os.path.join(self.dir, "tags.csv")
        with open(dictionary, "w", encoding="utf-8") as f:
            f.writelines(f"tag_{i},0,{100 - i}\n" for i in range(30))
        a_file = os.path.join(self.dir, "a-file.txt")
        with open(a_file, "w", encoding="utf-8") as f:
            f.write("x")
        code, _, err = run_main(export.main, ["--run", self.run, "--out", a_file])
        self.assertEqual((code, "Traceback" in err), (1, False))
        self.assertIn("not a folder", err)
        evaluate_args = ["--data", self.data, "--dictionary", dictionary, "--run", self.run]
        code, out, err = run_main(evaluate.main, [*evaluate_args, "--out", os.path.join(self.dir, "no", "eval.json")])
        self.assertEqual(code, 1)
        self.assertIn("does not exist", err)
        self.assertNotIn("MRR", out, "refused before evaluating")
        code, _, err = run_main(evaluate.main, [*evaluate_args, "--tune", "--ranking", os.path.join(self.dir, "no", "r.json")])
        self.assertEqual(code, 1)
        self.assertIn("--ranking", err)
        # A run with no validation posts: nothing to tune on, nothing written.
        run0 = os.path.join(self.dir, "run0")
        self.assertEqual(run_main(train.main, ["--data", self.data, "--out", run0, *TINY, "--epochs", "1", "--val-percent", "0"])[0], 0)
        ranking = os.path.join(run0, "ranking.json")
        code, _, err = run_main(evaluate.main, ["--data", self.data, "--dictionary", dictionary, "--run", run0, "--tune", "--ranking", ranking])
        self.assertEqual(code, 1)
        self.assertIn("--tune: no validation cases to tune on (0 validation posts", err)
        self.assertFalse(os.path.exists(ranking))
        # --tune without a run has no model scores to blend: refused, not skipped.
        code, out, err = run_main(evaluate.main, ["--data", self.data, "--dictionary", dictionary, "--tune"])
        self.assertEqual(code, 1)
        self.assertIn("--tune needs --run RUN", err)
        self.assertNotIn("MRR", out)

    def test_another_data_path_than_the_runs_is_noted(self):
        moved = write_posts(os.path.join(self.dir, "moved.tsv"), n=60)
        code, _, err = run_main(related.main, ["--data", moved, "--run", self.run])
        self.assertEqual(code, 0, err)
        self.assertIn(f"note: {self.run} was trained on {os.path.abspath(self.data)}; related.py reads {moved}", err)

    def test_a_tokenizer_other_than_the_runs_is_refused_by_every_script_that_reads_the_run(self):
        tok = TagTokenizer.load(os.path.join(self.run, "tokenizer.json"))
        TagTokenizer(tok.vocab[:4] + [tok.vocab[5], tok.vocab[4]] + tok.vocab[6:]).save(self.run, 256)  # same size, 2 ids swapped
        dictionary = os.path.join(self.dir, "tags.csv")
        with open(dictionary, "w", encoding="utf-8") as f:
            f.writelines(f"tag_{i},0,{100 - i}\n" for i in range(30))
        out = os.path.join(self.dir, "model")
        for script, argv in [
            (related.main, ["--data", self.data, "--run", self.run]),
            (evaluate.main, ["--data", self.data, "--dictionary", dictionary, "--run", self.run]),
            (export.main, ["--run", self.run, "--out", out]),
            (train.main, ["--data", self.data, "--out", self.run, *TINY, "--epochs", "2", "--resume"]),
        ]:
            code, _, err = run_main(script, argv)
            self.assertEqual(code, 1, script.__module__)
            self.assertIn(f"{os.path.join(self.run, 'tokenizer.json')}: not the vocabulary this run was trained with", err)
        self.assertFalse(os.path.exists(out))
        settings_path = os.path.join(self.run, "run.json")
        with open(settings_path, encoding="utf-8") as f:
            settings = json.load(f)
        del settings["vocabulary_sha256"]  # a run from before run.json recorded it: not checked
        with open(settings_path, "w", encoding="utf-8") as f:
            json.dump(settings, f)
        # ... but its checkpoint records the vocabulary it was trained with, which catches the swap
        code, _, err = run_main(export.main, ["--run", self.run, "--out", out])
        self.assertEqual(code, 1)
        self.assertIn("best.pt: trained with another vocabulary than", err)
        best = os.path.join(self.run, "best.pt")
        state = torch.load(best)
        del state["vocabulary_sha256"]  # checkpoints from before that: not checked either
        torch.save(state, best)
        self.assertEqual(run_main(export.main, ["--run", self.run, "--out", out])[0], 0)


    def test_another_runs_checkpoint_is_refused_by_export_and_evaluate(self):
        # A second run on other generated posts: the same 30 tags, so a vocabulary of the same size in another order.
        other_data = write_posts(os.path.join(self.dir, "other.tsv"), n=60, seed=5)
        other = os.path.join(self.dir, "other")
        code, _, err = run_main(train.main, ["--data", other_data, "--out", other, *TINY, "--epochs", "1"])
        self.assertEqual(code, 0, err)
        mine, theirs = (TagTokenizer.load(os.path.join(run, "tokenizer.json")).vocab for run in (self.run, other))
        self.assertEqual(len(mine), len(theirs))
        self.assertNotEqual(mine, theirs)
        dictionary = os.path.join(self.dir, "tags.csv")
        with open(dictionary, "w", encoding="utf-8") as f:
            f.writelines(f"tag_{i},0,{100 - i}\n" for i in range(30))
        checkpoint = os.path.join(other, "best.pt")
        out = os.path.join(self.dir, "model")
        for script, argv in [
            (export.main, ["--run", self.run, "--out", out, "--checkpoint", checkpoint]),
            (evaluate.main, ["--data", self.data, "--dictionary", dictionary, "--run", self.run, "--checkpoint", checkpoint, "--limit", "5"]),
        ]:
            code, _, err = run_main(script, argv)
            self.assertEqual(code, 1, script.__module__)
            self.assertIn(f"{checkpoint}: trained with another vocabulary than {os.path.join(self.run, 'tokenizer.json')}", err)
        self.assertFalse(os.path.exists(out))
        # The run's own checkpoint passes; so does one from before checkpoints recorded the vocabulary.
        self.assertEqual(run_main(export.main, ["--run", self.run, "--out", out])[0], 0)
        state = torch.load(checkpoint)
        del state["vocabulary_sha256"]
        torch.save(state, checkpoint)
        self.assertEqual(run_main(export.main, ["--run", self.run, "--out", out, "--checkpoint", checkpoint])[0], 0)

if __name__ == "__main__":
    unittest.main()
