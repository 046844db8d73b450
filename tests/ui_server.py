"""Start `assistant serve` in a subprocess for the web-chat tests (one per test module)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import REPO, free_port, stop_process


@contextmanager
def serve(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> Iterator[str]:
    """Run `assistant serve --port N` on a free port; yield its URL once it answers."""
    port = free_port()
    log_path = data_dir.parent / f"serve-{port}.log"
    full_env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), **(env or {})}
    exe = Path(sys.executable).parent / "assistant"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port), *args],
            env=full_env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}"
                )
            try:
                with urllib.request.urlopen(url + "/config", timeout=2):
                    break
            except urllib.error.HTTPError:  # 401 with a login: it is up
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not up after {timeout}s:\n{log_path.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        stop_process(proc)
