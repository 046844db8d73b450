"""Shared fixtures: one real index of the bundled corpus per test session.

Everything here is real: Chroma on disk, the bundled MiniLM and USE models. Environment
variables are pointed at temporary folders so tests never touch the user's data or $HOME.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAPER_ID = "high-skilled-talent-training"


def pytest_configure(config: pytest.Config) -> None:
    """Isolate HOME and the assistant's data before anything is imported."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="assistant-tests-"))
    os.environ["HOME"] = str(base / "home")  # onnxruntime writes ~/.cache on first session
    (base / "home").mkdir()
    os.environ["ASSISTANT_DATA_DIR"] = str(base / "data")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    for name in list(os.environ):
        if name.startswith("ASSISTANT_") and name != "ASSISTANT_DATA_DIR":
            del os.environ[name]
    config._assistant_base = base  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The session's shared data dir (holds the index of the bundled corpus)."""
    return Path(os.environ["ASSISTANT_DATA_DIR"])


@pytest.fixture(scope="session")
def corpus_assistant(data_dir: Path):
    """The process-wide Assistant over the bundled corpus, indexed once per session."""
    import assistant

    assistant.reset()
    a = assistant.get_assistant()
    a.ensure_corpus()
    return a


@pytest.fixture
def fresh_assistant(tmp_path: Path):
    """An Assistant on an empty, private index (no bundled corpus)."""
    from assistant import Settings
    from assistant.pipeline import Assistant

    return Assistant(Settings(data_dir=tmp_path / "data", auto_ingest=False))


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None
):
    """Run the installed `assistant` command the way a user does."""
    exe = Path(sys.executable).parent / "assistant"
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd or REPO,
    )


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate a server started by a test; kill it if it does not stop within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


GAP_PLANS = REPO / "tests" / "golden" / "gaps"
GAP_ENV = {"ASSISTANT_AUTO_INGEST": "false", "ASSISTANT_DOCUMENT_ENCODER": "onnx"}


@pytest.fixture(scope="session")
def gap_data_dir(tmp_path_factory) -> Path:
    """A data dir holding only the planted college plans (ingested by the CLI, kind own)."""
    folder = tmp_path_factory.mktemp("gap-plans") / "data"
    plans = [str(p) for p in sorted(GAP_PLANS.glob("*.md"))]  # not truth.yaml beside them
    out = run_cli(
        "ingest", *plans, "--kind", "own", env={**GAP_ENV, "ASSISTANT_DATA_DIR": str(folder)}
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return folder
