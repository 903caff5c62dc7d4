"""The installed pytest plugin: a test file using the diffcompare_oracle fixture runs in a fresh
pytest process, settings come from the command line and the ini, a mismatch reads well in
pytest's report, and the summary line counts checks and points."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TEST_FILE = """
import numpy as np

def test_correct(diffcompare_oracle):
    report = diffcompare_oracle.check("x**3", gradient=lambda x: 3 * x**2)
    assert report.ok
    assert report.points_checked >= diffcompare_oracle.samples == {samples}
    assert diffcompare_oracle.seed == {seed}

def test_buggy(diffcompare_oracle):
    diffcompare_oracle.assert_gradient("x**3", gradient=lambda x: 3 * x**2 + 1e-9)
"""


@pytest.mark.parametrize(
    ("args", "ini", "samples", "seed"),
    [
        (("--diffcompare-samples=4", "--diffcompare-seed=7"), "", 4, 7),
        ((), "[pytest]\ndiffcompare_samples = 3\ndiffcompare_seed = 2\n", 3, 2),
    ],
    ids=["command-line", "ini"],
)
def test_fixture_settings_failure_text_and_summary(
    pytester: pytest.Pytester, args: tuple[str, ...], ini: str, samples: int, seed: int
) -> None:
    pytester.makepyfile(test_gradients=TEST_FILE.format(samples=samples, seed=seed))
    if ini:
        pytester.makeini(ini)
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*GradientMismatch: diffcompare.check: gradient of 'x**3' (float64): FAILED at *",
            "*d/dx at x=*",
            "*candidate *",
            "*truth *",
            "*> bound*",
            "*minimal failing point: x=*",
            "diffcompare: 2 checks, * points",
        ]
    )
    assert "Traceback" not in result.stdout.str()
