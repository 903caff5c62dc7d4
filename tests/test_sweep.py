"""Sweeps: many points in batched passes, a referenced subsample, summaries, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from diffcompare.cli.main import cli
from diffcompare.errors import UsageError
from diffcompare.sweep import CHUNK, parse_domain, sweep


def test_domain_text_is_parsed_and_bad_ranges_are_refused() -> None:
    assert parse_domain("x=-3:3, y=0.1:5") == {"x": (-3.0, 3.0), "y": (0.1, 5.0)}
    for bad, message in [
        ("x=3:-3", "need finite low < high"),
        ("x=-3", "expected name=low:high pairs"),
        ("x=1:2,x=3:4", "x is given twice"),
        ("x=__import__:2", "expected name=low:high pairs"),
    ]:
        with pytest.raises(UsageError, match=message):
            parse_domain(bad)


def test_ranges_as_wide_as_floats_go_and_bad_mappings_are_refused() -> None:
    # The width of -1e308:1e308 overflows a float: the points must not (a reference made
    # of infinities once crashed the sweep).
    report = sweep("x", {"x": (-1e308, 1e308)}, 50, grid=True, keep_points=True)
    assert report.points is not None
    at = report.points.at[:, 0]
    assert np.isfinite(at).all() and at[0] == -1e308 and at[-1] == 1e308
    assert report.verdict == "agree"
    for bad in [(3.0, 1.0), (float("nan"), 1.0), (0.0, float("inf"))]:
        with pytest.raises(UsageError, match="need finite low < high"):
            sweep("x", {"x": bad}, 10)


def test_a_sweep_over_several_batches_agrees_and_summarises() -> None:
    report = sweep("sin(x)*exp(-x**2/2)/(1+x**2)", "x=-3:3", CHUNK + 1000, seed=1)
    assert report.count == CHUNK + 1000
    assert report.verdict == "agree"
    assert report.flagged == 0 and report.undefined == 0
    assert report.referenced >= 200
    for summary in report.methods.values():
        ulps = summary.percentiles["ulps"]
        assert ulps["p50"] is not None and ulps["max"] is not None
        assert ulps["p50"] <= ulps["p90"] <= ulps["p99"] <= ulps["max"]  # type: ignore[operator]
        assert summary.worst is not None and summary.worst_ulps == ulps["max"]


def test_a_sweep_counts_undefined_and_kink_points() -> None:
    # A 201-point grid on -1:1 has x = 0 on it; log is undefined left of it.
    report = sweep("log(x) + abs(x)", "x=-1:1", 201, grid=True)
    assert report.count == 201
    assert report.undefined == 101  # x <= 0
    report = sweep("abs(x)", "x=-1:1", 201, grid=True)
    assert report.on_edge == 1
    assert report.counts["nondifferentiable"] == 1
    assert report.verdict == "agree"


def test_a_sweep_finds_a_real_failure() -> None:
    # sqrt's backward at exactly 0 yields 0*inf: the grid point x = 0 must be caught.
    report = sweep("max(2, sqrt(x))", "x=0:1", 11, grid=True)
    assert report.verdict == "disagree"
    (bad,) = report.disagreements
    assert bad.at == (0.0,)
    assert "0·∞" in bad.methods["autograd"].status


def test_the_cli_sweep_prints_a_summary_and_writes_every_point(tmp_path: Path) -> None:
    runner = CliRunner()
    jsonl, npz = tmp_path / "points.jsonl", tmp_path / "points.npz"
    result = runner.invoke(
        cli, ["x**2*y", "--domain", "x=-1:1,y=0.5:2", "--samples", "500", "--output", str(jsonl)]
    )
    assert result.exit_code == 0, result.output
    assert "500 seeded random points in x=-1:1, y=0.5:2" in result.output
    lines = jsonl.read_text().splitlines()
    assert len(lines) == 500
    first = json.loads(lines[0])
    assert set(first["autograd_value"]) == {"x", "y"}
    result = runner.invoke(
        cli, ["x**2*y", "--grid", "--samples", "100", "--output", str(npz), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["points"] == 100 and data["grid"] is True
    assert data["domain"] == {"x": [-3.0, 3.0], "y": [-3.0, 3.0]}
    with np.load(npz) as arrays:  # closes the file: a leaked one warns in a later test
        assert arrays["at"].shape == (100, 2)
        assert arrays["symbolic_value"].shape == (100, 2)


def test_the_cli_refuses_mixed_or_oversized_requests() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["x**2", "--samples", "5000"])
    assert result.exit_code == 2
    assert "give --domain for a sweep" in result.output
    result = runner.invoke(cli, ["x**2", "--at", "1", "--domain", "x=0:1"])
    assert result.exit_code == 2
    result = runner.invoke(cli, ["x**2", "--domain", "x=0:1", "--output", "points.csv"])
    assert result.exit_code == 2
    assert "must end in .jsonl or .npz" in result.output
