"""Explanations of vector-valued expressions and array variables (issue 6, item 7): one
backward pass per output, row by row, each checked against torch and SymPy."""

from __future__ import annotations

import math

from click.testing import CliRunner

import diffcompare
from diffcompare.cli.explain import explain_command


def test_a_vector_expression_is_explained_row_by_row() -> None:
    explanation = diffcompare.explain("[x0**2+4*x1, x1**3+2*x0]", {"x0": 1, "x1": 2})
    rows = {
        k: {chain.wrt: chain.value for chain in row.chains}
        for k, row in enumerate(explanation.rows)
    }
    assert rows == {0: {"x0": 2.0, "x1": 4.0}, 1: {"x0": 2.0, "x1": 12.0}}  # seed 000's J
    assert all(row.agrees for row in explanation.rows)
    for row in explanation.rows:
        for chain in row.chains:
            assert chain.torch == chain.value == chain.reference, chain


def test_an_array_variable_is_explained_through_torchs_own_reduction() -> None:
    explanation = diffcompare.explain("norm(x)", {"x": [1, 2]}, shapes={"x": (2,)})
    (row,) = explanation.rows
    values = {chain.wrt: chain.value for chain in row.chains}
    want = {"x[0]": 1 / math.sqrt(5), "x[1]": 2 / math.sqrt(5)}
    assert values.keys() == want.keys()
    assert all(abs(values[k] - want[k]) < 1e-15 for k in want), values
    assert "LinalgVectorNormBackward0" in {ran.fn for ran in row.ran}


def test_the_explain_command_takes_shapes() -> None:
    result = CliRunner().invoke(
        explain_command, ["mean(x**2+20)", "--shape", "x=4", "--at", "x=[10,20,30,40]"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "MeanBackward1" in out, out
    for value in ("= 5", "= 10", "= 15", "= 20"):
        assert value in out, out
