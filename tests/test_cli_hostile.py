"""Hostile document text and bad input through the real CLI (issue 16): terminal escapes are
stripped from search / ask / docs, and surrogates, invalid UTF-8 and wrong types give the
package's error, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.errors import InvalidInputError
from assistant.inputs import MAX_TURN_CHARS
from tests.conftest import REPO, run_cli

ESC = "\x1b"
HOSTILE = (
    f"# Workshop rules {ESC}]0;pwned-title\x07\n\n"
    f"Students wear safety goggles in the welding workshop {ESC}]52;c;ZWNobyBwd25lZA==\x07"
    f"at all times. {ESC}]8;;http://evil.example/\x07click{ESC}]8;;\x07 "
    f"{ESC}[2J{ESC}[31mred\x9b31m text\u202e reversed.\n\n"
    + "The workshop opens at 8 am and closes at 6 pm; teachers supervise every session. "
    * 20
)  # enough plain text that the loader does not take it for a binary file


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-cli")
    doc = base / "workshop-rules.md"
    doc.write_text(HOSTILE, encoding="utf-8")
    env = {"ASSISTANT_DATA_DIR": str(base / "data"), "ASSISTANT_AUTO_INGEST": "false"}
    r = run_cli("ingest", str(doc), env=env)
    assert r.returncode == 0, r.stderr
    return env


def _clean(out: str) -> None:
    assert ESC not in out and "\x07" not in out and "\x9b" not in out and "\u202e" not in out


def test_search_ask_and_docs_strip_terminal_controls(env) -> None:
    q = "Do students wear safety goggles in the welding workshop?"
    for args in (("search", q), ("ask", q), ("docs",), ("search", q, "--json"), ("docs", "--json")):
        r = run_cli(*args, env=env)
        assert r.returncode == 0, (args, r.stderr)
        _clean(r.stdout)
        _clean(r.stderr)
    r = run_cli("search", q, env=env)
    assert "safety goggles" in r.stdout and "pwned" not in r.stdout.split("goggles")[1][:40]
    r = run_cli("search", q, "--json", env=env)
    assert "\\u001b]52" in r.stdout  # JSON keeps the data, escaped
    assert json.loads(r.stdout)[0]["text"].count(ESC) >= 3


def test_invalid_utf8_argument_is_a_clear_error(env) -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "assistant")
    r = subprocess.run(
        [exe.encode(), b"ask", b"goggles \xff\xfe?"],
        capture_output=True,
        env={**os.environ, **env},
        cwd=REPO,
        timeout=300,
    )
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 1, err
    assert "Traceback" not in err and "not valid text" in err


def test_wrong_types_and_long_history_give_the_packages_error(corpus_assistant) -> None:
    a = corpus_assistant
    for call in (
        lambda: a.ask("teachers?", sources=123),
        lambda: a.ask("teachers?", history=5),
        lambda: a.ask("teachers \udcff?"),
        lambda: a.ask(b"teachers"),
        lambda: a.ingest(None),
        lambda: a.retrieve("teachers", kinds=7),
    ):
        with pytest.raises(InvalidInputError):
            call()
    long_turn = "teachers " * 200_000
    answer = a.ask("And their pay?", history=[{"role": "user", "content": long_turn}])
    assert answer.text
    from assistant.inputs import check_history

    capped = check_history([{"role": "user", "content": long_turn}])
    assert capped is not None and len(capped[0]["content"]) == MAX_TURN_CHARS
