"""The examples in the public docstrings run and print what they say."""
from __future__ import annotations

import doctest
import warnings

import pytest

import dqp
from dqp import dQP

PUBLIC = {
    "QPLayer": dqp.QPLayer,
    "dQP.build_settings": dQP.build_settings,
    "dQP.dQP_layer": dQP.dQP_layer,
    "solve": dqp.solve,
    "available_solvers": dqp.available_solvers,
    "available_linear_solvers": dqp.available_linear_solvers,
    "load_problem": dqp.load_problem,
    "QPSolveError": dqp.QPSolveError,
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_docstring_example_runs(name):
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(PUBLIC[name], name) if t.examples]
    assert tests, f"{name} has no example in its docstring"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for test in tests:
            runner.run(test)
    assert runner.failures == 0, f"{runner.failures} of {runner.tries} examples of {name} failed (see the output)"
