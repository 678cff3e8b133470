import os
import random
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tags import BOS_ID, EOS_ID, PAD_ID, Post, TagTokenizer, build_vocab  # noqa: E402
from train import epoch_sequences, make_batches, set_loss  # noqa: E402


def tokenizer_and_posts():
    posts = [Post(str(i), [f"tag_{j}" for j in range(i % 7 + 3)]) for i in range(40)]
    return TagTokenizer(build_vocab(posts, 1)), posts


class PermutationTest(unittest.TestCase):
    def test_each_epoch_is_a_new_permutation_of_the_same_tags(self):
        tok, posts = tokenizer_and_posts()
        e1 = epoch_sequences(posts, tok, seed=1, epoch=1, max_tags=128)
        e2 = epoch_sequences(posts, tok, seed=1, epoch=2, max_tags=128)
        for post, a, b in zip(posts, e1, e2):
            self.assertEqual(a[0], BOS_ID)
            self.assertEqual(a[-1], EOS_ID)
            self.assertEqual(sorted(a[1:-1]), sorted(tok.tag_id(t) for t in post.tags))
            self.assertEqual(sorted(a), sorted(b))
        self.assertNotEqual(e1, e2)
        self.assertEqual(e1, epoch_sequences(posts, tok, seed=1, epoch=1, max_tags=128))  # deterministic

    def test_max_tags_cuts_after_shuffling(self):
        tok, posts = tokenizer_and_posts()
        seqs = epoch_sequences(posts, tok, seed=3, epoch=1, max_tags=2)
        self.assertTrue(all(len(s) == 4 for s in seqs))
        # Any two of a post's tags, not always its first two (cut before the shuffle, they would be).
        kept = set()
        for epoch in range(1, 21):
            for post, seq in zip(posts, epoch_sequences(posts, tok, seed=3, epoch=epoch, max_tags=2)):
                kept.update(t for t in seq[1:-1])
                self.assertTrue(set(seq[1:-1]) <= {tok.tag_id(t) for t in post.tags})
        self.assertGreater(len(kept), 2)

    def test_batches_cover_every_sequence_once(self):
        tok, posts = tokenizer_and_posts()
        seqs = epoch_sequences(posts, tok, seed=1, epoch=1, max_tags=128)
        rows = []
        for batch in make_batches(seqs, 8, random.Random(0)):
            for row in batch.tolist():
                rows.append(tuple(t for t in row if t != PAD_ID))
        self.assertEqual(sorted(rows), sorted(tuple(s) for s in seqs))


class SetLossTest(unittest.TestCase):
    def test_matches_a_direct_computation(self):
        torch.manual_seed(0)
        vocab = 9
        targets = torch.tensor([[5, 6, 7, EOS_ID, PAD_ID], [8, 4, EOS_ID, PAD_ID, PAD_ID]])
        logits = torch.randn(2, 5, vocab)
        logp = torch.log_softmax(logits, -1)
        terms = []
        for b in range(2):
            row = targets[b].tolist()
            for i, tok in enumerate(row):
                if tok == PAD_ID:
                    continue
                if tok == EOS_ID:
                    terms.append(-logp[b, i, EOS_ID])
                    continue
                remaining = [t for t in row[i:] if t not in (PAD_ID, EOS_ID)]
                terms.append(-sum(logp[b, i, t] for t in remaining) / len(remaining))
        expected = torch.stack(terms).mean()
        self.assertAlmostEqual(set_loss(logits, targets).item(), expected.item(), places=5)


if __name__ == "__main__":
    unittest.main()
