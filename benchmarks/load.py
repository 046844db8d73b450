"""Load test of the web chat: N concurrent gradio_client users asking the golden questions.

Usage:
    .venv/bin/python benchmarks/load.py                 # starts a server, users 1 5 20 50
    .venv/bin/python benchmarks/load.py --users 20 --url http://127.0.0.1:7860

Each user is one gradio_client session that asks its share of the golden-set questions
(tests/golden/*.jsonl, off-topic ones included) through the documented /ask endpoint, one
after another. Prints p50/p95 latency, errors and refusals (queue full) per user count, and
checks that answers under load equal the answers given to a single user (thread safety).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ENDPOINT = "/ask"  # --endpoint
REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"


def load_questions() -> list[str]:
    """All golden questions, in file order."""
    questions = []
    for path in sorted(GOLDEN.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["q"])
    return questions


def start_server(port: int, data_dir: str | None) -> subprocess.Popen[bytes]:
    """`assistant serve` in a subprocess; returns once it answers."""
    env = dict(os.environ)
    if data_dir:
        env["ASSISTANT_DATA_DIR"] = data_dir
    exe = Path(sys.executable).parent / "assistant"
    log = open(Path(tempfile.gettempdir()) / f"assistant-load-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("server did not start in 300 s")


def run_users(
    url: str, users: int, questions: list[str], per_user: int, think: float = 0.0
) -> dict[str, object]:
    """Run `users` concurrent sessions, each asking `per_user` questions.

    think: seconds a user reads an answer before the next question (uniform 0..2*think);
    0 means back-to-back requests (saturation).
    """
    from gradio_client import Client

    latencies: list[float] = []
    answers: dict[str, str] = {}
    errors: list[str] = []
    refused = 0
    lock = threading.Lock()
    barrier = threading.Barrier(users)

    def user(i: int) -> None:
        nonlocal refused
        try:
            client = Client(url, verbose=False)
        except Exception as e:
            with lock:
                errors.append(f"connect: {e}")
            barrier.abort()
            return
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        rng = random.Random(i)
        for j in range(per_user):
            if think and j:
                time.sleep(rng.uniform(0, 2 * think))
            q = questions[(i * per_user + j) % len(questions)]
            t0 = time.perf_counter()
            try:
                if ENDPOINT == "/chat":  # the streamed chat answer, as the page asks it
                    text = str(client.predict(q, [], api_name="/chat")[0][-1]["content"])
                else:
                    text = client.predict(q, api_name="/ask")
            except Exception as e:
                with lock:
                    if "queue is full" in str(e).lower():
                        refused += 1
                    else:
                        errors.append(f"{type(e).__name__}: {str(e)[:120]}")
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)
                answers[q] = text

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    return {
        "users": users,
        "requests": users * per_user,
        "ok": len(latencies),
        "errors": len(errors),
        "refused": refused,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": pct(0.95),
        "max": latencies[-1] if latencies else float("nan"),
        "throughput": len(latencies) / wall,
        "answers": answers,
        "error_samples": errors[:3],
    }


def main() -> int:
    """Run the load test and print one line per user count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 5, 20, 50])
    parser.add_argument("--endpoint", choices=["/ask", "/chat"], default="/ask")
    parser.add_argument("--per-user", type=int, default=4, help="questions each user asks")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds between questions")
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--port", type=int, default=7899)
    parser.add_argument("--data-dir", help="ASSISTANT_DATA_DIR for the started server")
    args = parser.parse_args()
    global ENDPOINT
    ENDPOINT = args.endpoint

    questions = load_questions()
    proc = None
    url = args.url
    if not url:
        proc = start_server(args.port, args.data_dir)
        url = f"http://127.0.0.1:{args.port}"
    try:
        reference = run_users(url, 1, questions, len(questions))["answers"]  # warm-up + truth
        print(
            f"server {url}; {len(questions)} golden questions; {args.per_user} per user; "
            f"think time {args.think} s"
        )
        print(f"{'users':>5} {'req':>5} {'ok':>5} {'err':>4} {'refused':>7} {'p50 s':>7} "
              f"{'p95 s':>7} {'max s':>7} {'req/s':>6} {'mismatch':>8}")  # fmt: skip
        for n in args.users:
            r = run_users(url, n, questions, args.per_user, args.think)
            answers = r["answers"]
            assert isinstance(answers, dict) and isinstance(reference, dict)
            mismatch = sum(1 for q, a in answers.items() if reference.get(q) != a)
            print(f"{n:>5} {r['requests']:>5} {r['ok']:>5} {r['errors']:>4} {r['refused']:>7} "
                  f"{r['p50']:>7.3f} {r['p95']:>7.3f} {r['max']:>7.3f} {r['throughput']:>6.1f} "
                  f"{mismatch:>8}")  # fmt: skip
            for sample in r["error_samples"]:  # type: ignore[attr-defined]  # list of str
                print(f"      error: {sample}")
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
