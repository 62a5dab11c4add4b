"""What the README shows a newcomer runs as it is written: every Python block, and every command line of its
shell blocks that calls the installed `studio` console script (not `python -m studio`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
STUDIO = Path(sys.executable).parent / "studio"  # the console script pip installed beside this Python


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


STUDIO_LINES = [
    line for block in _blocks("bash") for line in block.splitlines() if line.startswith(".venv/bin/studio ")
]


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def test_the_console_script_is_installed():
    assert STUDIO.is_file(), "pyproject.toml's [project.scripts] must install `studio`"
    out = subprocess.run([str(STUDIO), "--help"], capture_output=True, text=True, check=True)
    assert "retouch" in out.stdout and "generate" in out.stdout


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_readme_python_block_runs(index, tmp_path):
    code = _blocks("python")[index]
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("line", STUDIO_LINES, ids=[line.split()[1] for line in STUDIO_LINES])
def test_readme_command_runs_with_the_console_script(line, tmp_path):
    command = line.replace(".venv/bin/studio", str(STUDIO), 1).replace(
        "studio/web/examples/", f"{REPO}/studio/web/examples/"
    )
    done = subprocess.run(command, shell=True, cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    if " retouch " in line:  # the whole photo back, same size, the face changed and the rest as it was
        photo = np.asarray(Image.open(REPO / "studio/web/examples/obama.jpg").convert("RGB")).astype(int)
        out = np.asarray(Image.open(tmp_path / "out.png").convert("RGB")).astype(int)
        assert out.shape == photo.shape
        change = np.abs(out - photo).max(axis=-1)
        assert (change[-200:] == 0).all() and change[120:240, 200:360].mean() > 2
        assert "same person" in done.stdout and "not the same person" not in done.stdout, done.stdout


def test_the_readme_has_commands_and_code_to_run():
    assert len(STUDIO_LINES) >= 2 and _blocks("python")
