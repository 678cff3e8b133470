"""Shared by the tests that run the training scripts end to end on tiny generated posts."""
import contextlib
import io
import random

# A model small enough to train in a second or two on one thread.
TINY = ["--min-count", "1", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--batch-size", "8",
        "--threads", "1", "--log-every", "1000", "--warmup-steps", "5"]


def write_posts(path, n=80, seed=0):
    """n generated posts (not real tags: tag_0 .. tag_29), `id<TAB>tags` lines."""
    rng = random.Random(seed)
    pool = [f"tag_{i}" for i in range(30)]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(f"{1000 + i}\t{','.join(rng.sample(pool, rng.randint(2, 8)))}\n")
    return path


def run_main(fn, argv):
    """A script's main(argv): its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = fn(argv)
    return code, out.getvalue(), err.getvalue()
