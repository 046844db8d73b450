"""Load test of the web server: N concurrent users asking the golden questions.

Usage:
    .venv/bin/python benchmarks/load.py                 # starts a server, users 1 5 20 50
    .venv/bin/python benchmarks/load.py --users 20 --url http://127.0.0.1:7860
    .venv/bin/python benchmarks/load.py --target api    # only the HTTP JSON API

Two targets, measured one after the other against the same server (a separate process from
the clients): `api` = POST /api/ask with httpx (one connection pool per user), `chat` = the
Gradio endpoint /ask through gradio_client (the Gradio queue and its event stream). Each user
asks its share of the golden-set questions (tests/golden/*.jsonl, off-topic ones included), one
after another. Prints p50/p95 latency, errors and refusals (API: 503 with Retry-After; chat:
"queue is full") per user count, and checks that answers under load equal the answers given
to a single user (thread safety). A 503 without Retry-After counts as an error.
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


class Refused(Exception):
    """The server turned the request away as it should (503 + Retry-After, queue full)."""


def _chat_caller(url: str):
    from gradio_client import Client

    client = Client(url, verbose=False)

    def call(q: str) -> str:
        try:
            return str(client.predict(q, api_name="/ask"))
        except Exception as e:
            if "queue is full" in str(e).lower():
                raise Refused from e
            raise

    return call


def _api_caller(url: str):
    import httpx

    client = httpx.Client(base_url=url, timeout=60)

    def call(q: str) -> str:
        r = client.post("/api/ask", json={"question": q})
        if r.status_code == 503 and r.headers.get("retry-after"):
            raise Refused
        r.raise_for_status()
        return str(r.json()["text"])

    return call


def _stream_caller(url: str):
    """The streamed chat answer, as the page asks for it (the /chat endpoint)."""
    from gradio_client import Client

    client = Client(url, verbose=False)

    def call(q: str) -> str:
        try:
            return str(client.predict(q, [], api_name="/chat")[0][-1]["content"])
        except Exception as e:
            if "queue is full" in str(e).lower():
                raise Refused from e
            raise

    return call


CALLERS = {"api": _api_caller, "chat": _chat_caller, "stream": _stream_caller}


def run_users(
    url: str,
    users: int,
    questions: list[str],
    per_user: int,
    think: float = 0.0,
    target: str = "chat",
) -> dict[str, object]:
    """Run `users` concurrent sessions, each asking `per_user` questions.

    think: seconds a user reads an answer before the next question (uniform 0..2*think);
    0 means back-to-back requests (saturation). target: "api" or "chat".
    """
    make_caller = CALLERS[target]

    latencies: list[float] = []
    answers: dict[str, str] = {}
    errors: list[str] = []
    refused = 0
    lock = threading.Lock()
    barrier = threading.Barrier(users)

    def user(i: int) -> None:
        nonlocal refused
        try:
            call = make_caller(url)
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
                text = call(q)
            except Refused:
                with lock:
                    refused += 1
                continue
            except Exception as e:
                with lock:
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
    parser.add_argument("--per-user", type=int, default=4, help="questions each user asks")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds between questions")
    parser.add_argument("--target", choices=["api", "chat", "stream", "both"], default="both")
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--port", type=int, default=7899)
    parser.add_argument("--data-dir", help="ASSISTANT_DATA_DIR for the started server")
    args = parser.parse_args()

    questions = load_questions()
    proc = None
    url = args.url
    if not url:
        proc = start_server(args.port, args.data_dir)
        url = f"http://127.0.0.1:{args.port}"
    targets = ["api", "chat"] if args.target == "both" else [args.target]
    try:
        print(
            f"server {url}; {len(questions)} golden questions; {args.per_user} per user; "
            f"think time {args.think} s; load average {os.getloadavg()[0]:.2f} on "
            f"{os.cpu_count()} cores"
        )
        for target in targets:
            _run_target(url, target, questions, args)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)
    return 0


def _run_target(url: str, target: str, questions: list[str], args: argparse.Namespace) -> None:
    # warm-up + the single-user answers every answer under load must equal
    reference = run_users(url, 1, questions, len(questions), target=target)["answers"]
    names = {"api": "POST /api/ask", "chat": "Gradio /ask", "stream": "Gradio /chat (streamed)"}
    print(f"target {target} ({names[target]})")
    print(f"{'users':>5} {'req':>5} {'ok':>5} {'err':>4} {'refused':>7} {'p50 s':>7} "
          f"{'p95 s':>7} {'max s':>7} {'req/s':>6} {'mismatch':>8}")  # fmt: skip
    for n in args.users:
        r = run_users(url, n, questions, args.per_user, args.think, target=target)
        answers = r["answers"]
        assert isinstance(answers, dict) and isinstance(reference, dict)
        mismatch = sum(1 for q, a in answers.items() if reference.get(q) != a)
        print(f"{n:>5} {r['requests']:>5} {r['ok']:>5} {r['errors']:>4} {r['refused']:>7} "
              f"{r['p50']:>7.3f} {r['p95']:>7.3f} {r['max']:>7.3f} {r['throughput']:>6.1f} "
              f"{mismatch:>8}")  # fmt: skip
        for sample in r["error_samples"]:  # type: ignore[attr-defined]  # list of str
            print(f"      error: {sample}")
    print(f"      load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
