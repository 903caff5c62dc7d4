"""The pytest plugin (entry point `diffcompare`): the `diffcompare_oracle` fixture with settings
from --diffcompare-samples/--diffcompare-seed or the ini, and a summary line of what it checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

DEFAULT_SAMPLES = 100
DEFAULT_SEED = 0


@dataclass
class Tally:
    """Checks run and points checked in this session (or this xdist worker)."""

    checks: int = 0
    points: int = 0


TALLY = pytest.StashKey[Tally]()


class Oracle:
    """diffcompare.check and assert_gradient with the session's samples and seed as defaults;
    each call is counted for the summary line."""

    def __init__(self, samples: int, seed: int, tally: Tally) -> None:
        self.samples, self.seed, self._tally = samples, seed, tally

    def check(self, expr: Any, **options: Any) -> Any:
        from diffcompare.oracle.check import check

        options.setdefault("samples", self.samples)
        options.setdefault("seed", self.seed)
        report = check(expr, **options)
        self._tally.checks += 1
        self._tally.points += report.points_checked
        return report

    def assert_gradient(self, expr: Any, **options: Any) -> Any:
        __tracebackhide__ = True
        from diffcompare.testing import GradientMismatch

        report = self.check(expr, **options)
        if not report.ok:
            raise GradientMismatch(report)
        return report


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("diffcompare", "diffcompare gradient oracle")
    group.addoption(
        "--diffcompare-samples",
        type=int,
        default=None,
        help=f"points the diffcompare_oracle fixture checks per call (default {DEFAULT_SAMPLES})",
    )
    group.addoption(
        "--diffcompare-seed",
        type=int,
        default=None,
        help=f"seed of the diffcompare_oracle fixture's points (default {DEFAULT_SEED})",
    )
    parser.addini(
        "diffcompare_samples", "points per diffcompare check", default=str(DEFAULT_SAMPLES)
    )
    parser.addini("diffcompare_seed", "seed of diffcompare's points", default=str(DEFAULT_SEED))


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TALLY] = Tally()


def _setting(config: pytest.Config, name: str) -> int:
    given = config.getoption(f"--diffcompare-{name}")
    value = given if given is not None else config.getini(f"diffcompare_{name}")
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"diffcompare_{name} = {value!r}: expected an integer") from None


@pytest.fixture
def diffcompare_oracle(request: pytest.FixtureRequest) -> Oracle:
    """The oracle: .check(expr, ...) -> CheckReport, .assert_gradient(expr, ...)."""
    config = request.config
    return Oracle(_setting(config, "samples"), _setting(config, "seed"), config.stash[TALLY])


@pytest.hookimpl(tryfirst=True)  # before xdist sends the worker's output to the controller
def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the tally to the controller
        tally = session.config.stash[TALLY]
        workeroutput["diffcompare"] = (tally.checks, tally.points)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    checks, points = getattr(node, "workeroutput", {}).get("diffcompare", (0, 0))
    tally = node.config.stash[TALLY]
    tally.checks += checks
    tally.points += points


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    tally = config.stash.get(TALLY, None)
    if tally is not None and tally.checks:
        terminalreporter.write_line(f"diffcompare: {tally.checks} checks, {tally.points} points")
