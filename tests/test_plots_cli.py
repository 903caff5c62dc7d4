"""--plot and --plot-fd on the command line: the files written, and bad requests refused in
one line with exit status 2 before any work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diffcompare.cli.main import cli

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}


def _written(path: Path) -> bool:
    data = path.read_bytes()
    if path.suffix == ".svg":
        return b"<svg" in data[:2000] and data.rstrip().endswith(b"</svg>")
    return data.startswith(MAGIC[path.suffix]) and len(data) > 5000


def test_a_sweep_writes_its_plot_and_the_step_study(tmp_path: Path) -> None:
    plot, steps = tmp_path / "sweep.svg", tmp_path / "steps.pdf"
    result = CliRunner().invoke(
        cli,
        ["x**3-x", "--domain", "x=-2:2", "--samples", "1000", "--plot", str(plot)]
        + ["--plot-fd", str(steps)],
    )
    assert result.exit_code == 0, result.output
    assert "verdict: agree" in result.output
    assert _written(plot) and _written(steps)


def test_at_given_points_the_errors_and_the_step_study_are_drawn(tmp_path: Path) -> None:
    plot, steps = tmp_path / "points.png", tmp_path / "fd.png"
    result = CliRunner().invoke(
        cli,
        ["sin(x)*y", "--at", "x=0.5,y=2", "--at", "x=1,y=1"]
        + ["--plot", str(plot), "--plot-fd", str(steps)],
    )
    assert result.exit_code == 0, result.output
    assert _written(plot) and _written(steps)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x**2", "--domain", "x=0:1", "--plot", "p.jpg"], "must end in .png, .svg, .pdf"),
        (["x**2", "--at", "x=1", "--plot-fd", "p"], "must end in .png, .svg, .pdf"),
        (["x**3", "--at", "x=1", "--order", "2", "--plot-fd", "p.png"], "first derivative"),
        (["x*y*z", "--domain", "x=0:1", "--plot", "p.png"], "one or two variables"),
        (["x**2", "--domain", "x=0:1", "--plot", "no/such/dir/p.png"], "no such folder"),
    ],
)
def test_bad_plot_requests_fail_in_one_line_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "p.jpg").exists() and not (tmp_path / "p").exists()


def test_a_bad_file_name_is_one_line_from_the_console_script_too(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "diffcompare", "x**2", "--domain", "x=0:1", "--plot", "p.gif"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and done.stdout == ""
    expected = "--plot p.gif: the file name must end in .png, .svg, .pdf"
    assert done.stderr == f"diffcompare: error: {expected}\n"
