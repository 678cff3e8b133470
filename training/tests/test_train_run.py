"""train.py end to end on tiny data: bad input, validation off, the run folder, resume, signals."""
import contextlib
import io
import json
import os
import signal
import sys
import tempfile
import unittest
from unittest import mock

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import train  # noqa: E402
from tiny_run import TINY, run_main, write_posts  # noqa: E402
from tags import TagTokenizer  # noqa: E402


def log_records(run):
    with open(os.path.join(run, "log.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class TrainPipelineTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.data = write_posts(os.path.join(self.dir, "posts.tsv"))

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def train(self, out, *extra, data=None):
        return run_main(train.main, ["--data", data or self.data, "--out", out, *TINY, *extra])

    def test_no_validation_posts_turns_validation_off_instead_of_stopping_early(self):
        code, out, _ = self.train(self.path("run"), "--val-percent", "0", "--epochs", "3", "--patience", "1")
        self.assertEqual(code, 0)
        self.assertIn("validation is off", out)
        records = log_records(self.path("run"))
        self.assertEqual([r["epoch"] for r in records], [1, 2, 3])
        self.assertTrue(all(r["val_set_loss"] is None and r["best"] for r in records))
        self.assertEqual(torch.load(self.path("run", "best.pt"))["epoch"], 2)  # the last epoch's weights

    def test_no_tag_reaching_min_count_is_an_error_before_training(self):
        one = self.path("one.tsv")
        with open(one, "w", encoding="utf-8") as f:
            f.write("1\ta,b,c\n")
        code, _, err = self.train(self.path("run"), "--min-count", "2", "--val-percent", "0", data=one)
        self.assertEqual(code, 1)
        self.assertIn("no tag reaches --min-count 2", err)
        self.assertFalse(os.path.exists(self.path("run", "last.pt")))

    def test_trains_on_the_converters_jsonl(self):
        jsonl = self.path("posts.jsonl")
        with open(self.data, encoding="utf-8") as src, open(jsonl, "w", encoding="utf-8") as f:
            for line in src:
                post_id, tags = line.rstrip("\n").split("\t")
                f.write(json.dumps({"id": int(post_id), "rating": "g", "score": 1,
                                    "tags": {"general": tags.split(","), "character": ["someone"]}}) + "\n")
        code, _, err = self.train(self.path("run"), "--epochs", "1", data=jsonl)
        self.assertEqual(code, 0, err)
        vocab = TagTokenizer.load(self.path("run", "tokenizer.json")).vocab[4:]
        self.assertEqual(set(vocab), {f"tag_{i}" for i in range(30)})  # no JSON fragments, no character tag
        code, _, _ = self.train(self.path("run2"), "--epochs", "1", "--categories", "general,character", data=jsonl)
        self.assertIn("someone", TagTokenizer.load(self.path("run2", "tokenizer.json")).vocab)

    def test_bad_input_is_one_line_naming_the_file_and_line(self):
        bad = self.path("bad.tsv")
        with open(bad, "wb") as f:
            f.write(b"1\ta,b\n2\tc,\xff\n")
        code, _, err = self.train(self.path("run"), data=bad)
        self.assertEqual(code, 1)
        self.assertRegex(err, r"^train: .*bad\.tsv:2: not UTF-8")
        self.assertFalse(os.path.exists(self.path("run")), "--out is not created for bad data")
        code, _, err = self.train(self.path("run"), data=self.path("missing.tsv"))
        self.assertEqual(code, 1)
        self.assertIn("missing.tsv", err)
        self.assertFalse(os.path.exists(self.path("run")))
        code, _, err = self.train(self.path("run"), "--n-embd", "30", "--n-head", "4")
        self.assertEqual(code, 1)
        self.assertIn("--n-embd 30 must be a multiple of --n-head 4", err)

    def test_short_n_positions_cuts_posts_instead_of_failing(self):
        code, out, err = self.train(self.path("run"), "--n-positions", "4", "--epochs", "1")
        self.assertEqual(code, 0, err)
        self.assertIn("posts cut to 3 tags", out)

    def test_a_fresh_run_into_a_folder_holding_a_run_is_refused(self):
        self.assertEqual(self.train(self.path("run"), "--epochs", "1")[0], 0)
        code, _, err = self.train(self.path("run"), "--epochs", "1")
        self.assertEqual(code, 1)
        self.assertIn("already holds a training run", err)
        self.assertEqual(len(log_records(self.path("run"))), 1)

    def test_training_into_an_exported_model_folder_is_refused_before_its_tokenizer_is_replaced(self):
        model = self.path("model")
        os.makedirs(os.path.join(model, "onnx"))
        for name in ("config.json", "tokenizer.json", os.path.join("onnx", "model.onnx")):
            with open(os.path.join(model, name), "w", encoding="utf-8") as f:
                f.write("the shipped model's\n")
        code, _, err = self.train(model, "--epochs", "1")
        self.assertEqual(code, 1)
        self.assertIn("is a model folder (config.json, onnx/model.onnx)", err)
        with open(os.path.join(model, "tokenizer.json"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "the shipped model's\n")

    def test_a_loss_that_is_no_number_stops_the_run_with_an_error_not_a_success(self):
        code, out, err = self.train(self.path("run"), "--epochs", "2", "--lr", "1e30", "--val-percent", "0")
        self.assertEqual(code, 1, out)
        self.assertIn("training diverged; lower --lr", err)
        self.assertFalse(os.path.exists(self.path("run", "best.pt")), "no NaN weights saved as the best")

    def test_resume_takes_the_model_size_from_the_checkpoint_and_counts_epochs_from_1(self):
        self.assertEqual(self.train(self.path("run"), "--epochs", "1", "--n-embd", "24")[0], 0)
        args = ["--data", self.data, "--out", self.path("run"), "--min-count", "1", "--epochs", "2",
                "--batch-size", "8", "--threads", "1", "--resume"]  # no model flags
        code, out, err = run_main(train.main, args)
        self.assertEqual(code, 0, err)
        self.assertIn("resumed from", out)
        self.assertIn("epoch 2, batch 1", out)
        self.assertEqual([r["epoch"] for r in log_records(self.path("run"))], [1, 2])

    def test_resume_loads_the_checkpoint_on_the_cpu_whatever_the_device(self):
        self.assertEqual(self.train(self.path("run"), "--epochs", "1")[0], 0)
        real_load, real_set = torch.load, torch.set_rng_state
        seen = {}

        def load(path, map_location=None, **kw):
            seen["map_location"] = map_location
            return real_load(path, map_location="cpu", **kw)

        def set_rng_state(state):
            seen["rng"] = (state.device.type, state.dtype)
            real_set(state)

        # Emulates --device cuda on a machine without one: the model stays where it is.
        with mock.patch.object(train.torch, "load", load), mock.patch.object(train.torch, "set_rng_state", set_rng_state), \
                mock.patch.object(train.GPT, "to", lambda self, device: self), mock.patch.object(train.torch.cuda, "is_available", lambda: True):
            code, _, err = self.train(self.path("run"), "--epochs", "1", "--resume", "--device", "cuda")
        self.assertEqual(code, 0, err)
        self.assertEqual(seen, {"map_location": "cpu", "rng": ("cpu", torch.uint8)})

    def test_a_signal_while_the_data_loads_stops_at_once_and_leaves_no_run(self):
        real_read = train.read_posts

        def read_then_signal(*a, **kw):
            posts = real_read(*a, **kw)
            os.kill(os.getpid(), signal.SIGINT)  # (a real one lands in the middle; this one right after)
            return posts

        with mock.patch.object(train, "read_posts", read_then_signal):
            code, out, err = self.train(self.path("run"), "--epochs", "1")
        self.assertEqual(code, 130, out + err)
        self.assertIn("SIGINT before training began: nothing was saved", err)
        self.assertFalse(os.path.exists(self.path("run")), "no run folder to --resume")
        self.assertEqual(signal.getsignal(signal.SIGINT), signal.default_int_handler, "handlers restored")
        self.assertEqual(self.train(self.path("run"), "--epochs", "1")[0], 0, "the same command again")

    def test_a_signal_saves_the_position_and_the_resumed_run_equals_an_uninterrupted_one(self):
        common = ("--epochs", "2", "--dropout", "0.1")
        self.assertEqual(self.train(self.path("whole"), *common)[0], 0)
        real_loss = train.compute_loss
        calls = {"n": 0}

        def loss_then_signal(*a, **kw):
            calls["n"] += 1
            if calls["n"] == 4:
                os.kill(os.getpid(), signal.SIGTERM)
            return real_loss(*a, **kw)

        with mock.patch.object(train, "compute_loss", loss_then_signal):
            code, out, _ = self.train(self.path("cut"), *common)
        self.assertEqual(code, 143)
        self.assertIn("interrupted (SIGTERM)", out)
        self.assertIn("epoch 1, batch 4 of", out)
        ckpt = torch.load(self.path("cut", "last.pt"))
        self.assertEqual((ckpt["next_epoch"], ckpt["next_batch"], ckpt["step"]), (0, 4, 4))
        self.assertEqual(signal.getsignal(signal.SIGTERM), signal.SIG_DFL, "handlers restored")
        code, _, err = self.train(self.path("cut"), *common, "--resume")
        self.assertEqual(code, 0, err)
        whole, cut = torch.load(self.path("whole", "last.pt")), torch.load(self.path("cut", "last.pt"))
        self.assertEqual(whole["step"], cut["step"])
        for name, tensor in whole["model"].items():
            self.assertTrue(torch.equal(tensor, cut["model"][name]), name)
        strip = lambda rs: [(r["epoch"], r["val_set_loss"], r["val_next_loss"]) for r in rs]  # noqa: E731
        self.assertEqual(strip(log_records(self.path("whole"))), strip(log_records(self.path("cut"))))

    def test_the_same_max_steps_resumed_stops_at_once_and_says_no_epoch_is_validated_not_inf(self):
        self.assertEqual(self.train(self.path("run"), "--epochs", "2", "--max-steps", "3")[0], 0)
        code, out, err = self.train(self.path("run"), "--epochs", "2", "--max-steps", "3", "--resume")
        self.assertEqual(code, 0, err)
        self.assertIn("no whole epoch validated yet (best.pt holds the last validation inside one)", out)
        self.assertNotIn("loss inf", out)

    def test_max_steps_then_resume_continues_inside_the_epoch(self):
        code, out, _ = self.train(self.path("run"), "--epochs", "2", "--max-steps", "3")
        self.assertEqual(code, 0)
        self.assertIn("stopped (step limit) at epoch 1, batch 3", out)
        self.assertIn("(--resume with a higher --max-steps continues there)", out)
        code, out, _ = self.train(self.path("run"), "--epochs", "2", "--resume")
        self.assertEqual(code, 0)
        self.assertIn("epoch 1, batch 4", out)
        records = [r for r in log_records(self.path("run")) if not r.get("partial")]
        self.assertEqual([r["epoch"] for r in records], [1, 2])
        self.assertGreater(records[0]["step"], 3)
        self.assertEqual(records[1]["step"], 2 * records[0]["step"])  # epoch 1 was completed, not skipped

    def test_max_minutes_limits_each_session_not_the_run(self):
        # A run stopped by --max-minutes resumed with the same command trains on (it stopped after one
        # batch each time when the limit counted the sessions before).
        self.assertEqual(self.train(self.path("run"), "--epochs", "2", "--max-steps", "3")[0], 0)
        ckpt = torch.load(self.path("run", "last.pt"))
        ckpt["elapsed_s"] = 3600.0  # an hour trained before
        torch.save(ckpt, self.path("run", "last.pt"))
        code, out, err = self.train(self.path("run"), "--epochs", "2", "--max-minutes", "5", "--resume")
        self.assertEqual(code, 0, err)
        self.assertNotIn("time limit", out)
        self.assertIn("done (", out)

    def test_resume_refuses_another_split_or_categories_and_a_folder_with_nothing_to_resume(self):
        self.assertEqual(self.train(self.path("run"), "--epochs", "1")[0], 0)
        code, _, err = self.train(self.path("run"), "--epochs", "2", "--resume", "--val-percent", "5")
        self.assertEqual(code, 1)
        self.assertIn("was trained with --val-percent 10; resuming with --val-percent 5 would mix", err)
        # (Categories need the converter's jsonl: a text dataset has none.)
        jsonl = self.path("posts.jsonl")
        with open(self.data, encoding="utf-8") as src, open(jsonl, "w", encoding="utf-8") as dst:
            for line in src:
                post_id, tags = line.rstrip("\n").split("\t")
                dst.write(json.dumps({"id": int(post_id), "tags": {"general": tags.split(","), "character": []}}) + "\n")
        self.assertEqual(self.train(self.path("run-jsonl"), "--epochs", "1", data=jsonl)[0], 0)
        code, _, err = self.train(self.path("run-jsonl"), "--epochs", "2", "--resume", "--categories", "general,character", data=jsonl)
        self.assertEqual(code, 1)
        self.assertIn("resume with --categories general", err)
        code, _, err = self.train(self.path("typo"), "--epochs", "2", "--resume")
        self.assertEqual(code, 1)
        self.assertIn("nothing to resume in", err)
        self.assertFalse(os.path.exists(self.path("typo")), "no new run started there")
        moved = write_posts(self.path("moved.tsv"))
        code, out, err = self.train(self.path("run"), "--epochs", "2", "--resume", data=moved)
        self.assertEqual(code, 0, err)
        self.assertIn("note: " + self.path("run") + " was trained on", out)
        # The file converted again at the same path (posts left out): its batches would be re-dealt.
        with open(self.data, encoding="utf-8") as f:
            lines = f.readlines()
        with open(self.data, "w", encoding="utf-8") as f:
            f.writelines(lines[10:])
        code, _, err = self.train(self.path("run"), "--epochs", "3", "--resume")
        self.assertEqual(code, 1)
        self.assertIn(f"{self.data} holds other posts than when {self.path('run')} started ({len(lines)} then, {len(lines) - 10} now)", err)
        # A run started before posts without ids were split by their tags (its run.json records no data_sha256).
        with open(self.path("plain.txt"), "w", encoding="utf-8") as f:
            f.writelines(line.split("\t", 1)[1] for line in lines)
        self.assertEqual(self.train(self.path("old"), "--epochs", "1", data=self.path("plain.txt"))[0], 0)
        settings_path = self.path("old", "run.json")
        with open(settings_path, encoding="utf-8") as f:
            settings = json.load(f)
        del settings["data_sha256"], settings["data_posts"]
        with open(settings_path, "w", encoding="utf-8") as f:
            json.dump(settings, f)
        code, _, err = self.train(self.path("old"), "--epochs", "2", "--resume", data=self.path("plain.txt"))
        self.assertEqual(code, 1)
        self.assertIn("was started when a post without an id was split by its line number", err)

    def test_resume_refuses_other_batches_seed_or_loss_and_a_checkpoint_it_cannot_read_or_of_another_run(self):
        self.assertEqual(self.train(self.path("run"), "--epochs", "1")[0], 0)
        for flag, value in (("--batch-size", "32"), ("--seed", "99"), ("--loss", "next")):
            code, _, err = self.train(self.path("run"), "--epochs", "2", "--resume", flag, value)
            self.assertEqual(code, 1, err)
            self.assertIn(f"was trained with {flag} ", err)
            self.assertIn(f"give {flag} ", err)
        # Another run's last.pt (another vocabulary) copied in, then a file cut short.
        self.assertEqual(self.train(self.path("other"), "--epochs", "1", data=write_posts(self.path("other.tsv"), n=80, seed=5))[0], 0)
        last = self.path("run", "last.pt")
        with open(self.path("other", "last.pt"), "rb") as f:
            other = f.read()
        with open(last, "wb") as f:
            f.write(other)
        code, _, err = self.train(self.path("run"), "--epochs", "2", "--resume")
        self.assertEqual(code, 1, err)
        self.assertIn("was saved with another vocabulary", err)
        with open(last, "wb") as f:
            f.write(other[: len(other) // 2])
        code, _, err = self.train(self.path("run"), "--epochs", "2", "--resume")
        self.assertEqual(code, 1, err)
        self.assertIn(f"{last}: not a checkpoint PyTorch can read", err)
        self.assertNotIn("Traceback", err)

    def test_flags_that_are_no_finite_number_or_out_of_range_are_refused_before_anything_is_written(self):
        for extra, message in ((["--lr", "inf"], "--lr inf: expected a finite number"), (["--weight-decay", "nan"], "--weight-decay nan: expected a finite number"),
                               (["--max-minutes", "nan"], "--max-minutes nan: expected a finite number"), (["--distill-weight", "2"], "--distill-weight must be in 0..1"),
                               (["--distill-weight", "0.5", "--distill-temperature", "0"], "--distill-temperature and --distill-lambda above 0")):
            code, _, err = self.train(self.path("run"), "--epochs", "1", *extra)
            self.assertEqual(code, 1, extra)
            self.assertIn(message, err)
            self.assertFalse(os.path.exists(self.path("run")), extra)

    def test_bad_flags_are_one_line_each_not_a_traceback(self):
        for flags, message in [(["--lr", "-1"], "--lr must be above 0"), (["--dropout", "2"], "--dropout in 0..1"),
                               (["--threads", "0"], "--threads"), (["--log-every", "0"], "--log-every"),
                               (["--patience", "0"], "--patience"), (["--n-layer", "0"], "--n-layer"),
                               (["--max-minutes", "-1"], "--max-minutes"), (["--device", "gpu"], "--device gpu: expected cpu or cuda")]:
            code, out, err = self.train(self.path("bad"), "--epochs", "1", *flags)
            self.assertEqual(code, 1, flags)
            self.assertIn(message, err, flags)
            self.assertNotIn("Traceback", err + out)
            self.assertFalse(os.path.exists(self.path("bad")), flags)
        with mock.patch.object(train.torch.cuda, "is_available", lambda: False):
            code, _, err = self.train(self.path("bad"), "--epochs", "1", "--device", "cuda")
        self.assertEqual(code, 1)
        self.assertIn("sees no CUDA GPU", err)

    def test_periodic_checkpoints_inside_an_epoch(self):
        saved = []
        real_save = train.save_checkpoint

        def save(path, state):
            saved.append((os.path.basename(path), state.get("next_batch")))
            real_save(path, state)

        with mock.patch.object(train, "save_checkpoint", save):
            self.assertEqual(self.train(self.path("run"), "--epochs", "1", "--checkpoint-minutes", "1e-9")[0], 0)
        self.assertTrue(any(name == "last.pt" and batch for name, batch in saved), saved)


class RunProgressTest(unittest.TestCase):
    """The best.pt / log.jsonl rules that the end of an epoch and a stop inside one share."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def progress(self, val_sequences):
        args = train.parse_args(["--data", "unused", "--out", self.tmp.name, *TINY])
        model = train.GPT(train.GPTConfig(vocab_size=10, n_positions=8, n_embd=8, n_layer=1, n_head=2))
        return train.RunProgress(args, model, train.make_optimizer(model, args), model.config, val_sequences)

    def end_epoch(self, progress, epoch, val_set, partial=False):
        with mock.patch.object(train, "validation_losses", return_value={"set": val_set, "next": val_set + 1}):
            with contextlib.redirect_stdout(io.StringIO()):
                progress.end_epoch(epoch, partial=partial)

    def best(self):
        return torch.load(os.path.join(self.tmp.name, "best.pt"))

    def test_a_partial_epoch_keeps_better_weights_but_not_the_best_loss_or_patience(self):
        progress = self.progress([[0, 4, 1]])
        self.end_epoch(progress, 0, 2.0)
        self.assertEqual((progress.best_val, progress.bad_epochs), (2.0, 0))
        self.assertNotIn("partial", self.best())
        self.end_epoch(progress, 1, 1.0, partial=True)
        self.assertEqual((progress.best_val, progress.bad_epochs), (2.0, 0))
        self.assertEqual((self.best()["epoch"], self.best()["partial"], self.best()["val"]["set"]), (1, True, 1.0))
        self.end_epoch(progress, 1, 3.0)
        self.assertEqual((progress.best_val, progress.bad_epochs), (2.0, 1))
        self.assertEqual(self.best()["epoch"], 1)
        records = log_records(self.tmp.name)
        self.assertEqual([(r["epoch"], r.get("partial"), r["best"]) for r in records], [(1, None, True), (2, True, True), (2, None, False)])
        self.assertEqual(list(records[1]), ["epoch", "partial", "step", "val_set_loss", "val_next_loss", "elapsed_s", "best"])

    def test_without_validation_a_partial_epoch_saves_best_only_when_there_is_none(self):
        progress = self.progress([])
        self.end_epoch(progress, 0, 0.0, partial=True)
        self.assertEqual((self.best()["epoch"], self.best()["partial"], "val" in self.best()), (0, True, False))
        self.end_epoch(progress, 0, 0.0)
        self.assertEqual((self.best()["epoch"], self.best()["val"], "partial" in self.best()), (0, {"set": None, "next": None}, False))
        self.end_epoch(progress, 1, 0.0, partial=True)
        self.assertEqual(self.best()["epoch"], 0, "a whole epoch's weights are kept")
        self.assertEqual([(r["epoch"], r["val_set_loss"], r["best"]) for r in log_records(self.tmp.name)], [(1, None, True)])


if __name__ == "__main__":
    unittest.main()
