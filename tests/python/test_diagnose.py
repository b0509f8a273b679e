"""``dqp.diagnose`` / ``dqp diagnose`` and the problem loaders of ``dqp.problems``.

Maros–Meszaros problems come from ../shared/data/maros_meszaros (skipped when
absent). Generated problems cover the infeasible and degenerate cases; the
DQP_DIAGNOSE_FAULT hook makes workers crash, hang or raise.
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
import torch

import dqp
from dqp.__main__ import main
from dqp.diagnose import DiagnosticReport
from dqp.problems import as_problem, from_arrays, load_problem, maros_meszaros_dir

MM = maros_meszaros_dir()
needs_mm = pytest.mark.skipif(MM is None, reason="Maros–Meszaros data (../shared/data/maros_meszaros) not found")
# Fast solvers covering native / qpsolvers, dense-only / sparse-only, active-set / interior point / ADMM.
FEW = "proxqp,daqp,osqp,clarabel,quadprog"


def mm(name: str):
    return MM / f"{name}.mat"


# ---------------------------------------------------------------------------
# problems: Maros–Meszaros .mat
# ---------------------------------------------------------------------------

@needs_mm
def test_maros_meszaros_hs21_is_converted_to_inequalities():
    problem = load_problem(mm("HS21"))
    # l ≤ Az ≤ u with rows 10 z0 - z1 ≥ 10, 2 ≤ z0 ≤ 50, -50 ≤ z1 ≤ 50.
    assert (problem.n, problem.m, problem.p) == (2, 5, 0) and problem.sparse
    expected_C = np.array([[1, 0], [0, 1], [-10, 1], [-1, 0], [0, -1]], dtype=float)
    np.testing.assert_array_equal(problem.C.toarray(), expected_C)
    np.testing.assert_array_equal(problem.d, [50, 50, -10, -2, 50])
    assert problem.offset == -100.0
    assert problem.objective(np.array([2.0, 0.0])) == pytest.approx(-99.96)   # the known optimum
    np.testing.assert_array_equal(problem.meta["C_rows"], [1, 2, 0, 1, 2])
    np.testing.assert_array_equal(problem.meta["C_signs"], [1, 1, -1, -1, -1])


@needs_mm
def test_maros_meszaros_equal_bounds_become_equalities():
    problem = load_problem(mm("HS35"))
    raw = scipy.io.loadmat(mm("GENHS28"))
    eq = load_problem(mm("GENHS28"))
    equal = (raw["l"].ravel() == raw["u"].ravel())
    assert eq.p == int(equal.sum()) > 0
    np.testing.assert_array_equal(eq.A.toarray(), raw["A"].toarray()[equal])
    assert problem.p == 0 and problem.m == 4


def _write_mat(path, **overrides):
    data = dict(n=np.array([[2]]), m=np.array([[5]]), P=sp.csc_matrix(np.eye(2)), q=np.zeros((2, 1)),
                r=np.array([[0.5]]), A=sp.csc_matrix(np.array([[1.0, 0], [0, 1], [1, 1], [1, -1], [2, 0]])),
                l=np.array([[1.0], [-1e20], [0.0], [-1e20], [-3.0]]),
                u=np.array([[1.0], [4.0], [1e20], [1e20], [3.0]]))
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    scipy.io.savemat(path, data)
    return path


def test_maros_meszaros_bounds_conversion(tmp_path):
    problem = load_problem(_write_mat(tmp_path / "toy.mat"))
    # row 0: equality; row 1: upper only; row 2: lower only; row 3: free (dropped); row 4: both sides.
    np.testing.assert_array_equal(problem.A.toarray(), [[1, 0]])
    np.testing.assert_array_equal(problem.b, [1])
    np.testing.assert_array_equal(problem.C.toarray(), [[0, 1], [2, 0], [-1, -1], [-2, 0]])
    np.testing.assert_array_equal(problem.d, [4, 3, 0, 3])
    assert problem.offset == 0.5


def test_maros_meszaros_bounds_an_ulp_short_of_1e20_are_absent(tmp_path):
    # QISRAEL and others write the sentinel as 9.999999999999998e19.
    ulp_short = np.nextafter(1e20, 0)
    problem = load_problem(_write_mat(tmp_path / "toy.mat", l=np.array([[1.0], [-ulp_short], [0.0], [-1e20], [-3.0]]),
                                      u=np.array([[1.0], [4.0], [ulp_short], [ulp_short], [3.0]])))
    np.testing.assert_array_equal(problem.C.toarray(), [[0, 1], [2, 0], [-1, -1], [-2, 0]])
    np.testing.assert_array_equal(problem.d, [4, 3, 0, 3])


@pytest.mark.parametrize("overrides, match", [
    (dict(l=None), "missing key 'l'"),
    (dict(u=np.ones((4, 1))), "key 'u'"),
    (dict(A=sp.csc_matrix(np.ones((5, 3)))), "key 'A'"),
    (dict(q=np.array([[np.nan], [0.0]])), "key 'q'.*non-finite"),
    (dict(n=np.array([[3]])), "key 'n'"),
])
def test_maros_meszaros_errors_name_the_key(tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match):
        load_problem(_write_mat(tmp_path / "bad.mat", **overrides))


# ---------------------------------------------------------------------------
# problems: reference .npz and in-memory data
# ---------------------------------------------------------------------------

def _reference_npz(path, **overrides):
    """The reference's format: sparse matrices pickled, vectors as columns, absent pairs as None."""
    values = dict(Q=sp.csc_matrix(2 * np.eye(2)), q=np.zeros((2, 1)),
                  G=sp.csc_matrix(np.array([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]])),
                  h=np.array([[-1.0], [0.0], [0.0]]), A=None, b=None)
    values.update(overrides)
    np.savez(path, **{k: np.array(v, dtype=object) if (v is None or sp.issparse(v)) else v
                      for k, v in values.items()})
    return path


def test_npz_reference_format_with_pickled_sparse_and_absent_equalities(tmp_path):
    problem = load_problem(_reference_npz(tmp_path / "seed.npz"))
    assert problem.sparse and (problem.n, problem.m, problem.p) == (2, 3, 0)
    result = dqp.solve(problem.P, problem.q, problem.C, problem.d)
    np.testing.assert_allclose(result.z, [0.5, 0.5], atol=1e-8)
    with pytest.raises(ValueError, match="pickled"):
        load_problem(tmp_path / "seed.npz", allow_pickle=False)


def test_npz_dense_without_pickles(tmp_path):
    np.savez(tmp_path / "dense.npz", Q=2 * np.eye(2), q=np.zeros(2), G=-np.eye(2), h=-np.ones(2))
    problem = load_problem(tmp_path / "dense.npz", allow_pickle=False)
    assert not problem.sparse and problem.m == 2 and problem.p == 0


def test_npz_box_bounds_become_rows_of_C(tmp_path):
    # qpsolvers' keys lb/ub (the MPC test set uses them): they used to be
    # ignored, so the loaded QP silently lacked its bounds.
    np.savez(tmp_path / "box.npz", P=np.eye(3), q=np.array([-5.0, 5.0, 0.0]),
             G=np.array([[1.0, 1.0, 1.0]]), h=np.array([10.0]),
             lb=np.array([-1.0, -2.0, -np.inf]), ub=np.array([1.0, 1e21, 4.0]))
    problem = load_problem(tmp_path / "box.npz")
    np.testing.assert_array_equal(problem.C, [[1, 1, 1], [1, 0, 0], [0, 0, 1], [-1, 0, 0], [0, -1, 0]])
    np.testing.assert_array_equal(problem.d, [10, 1, 4, 1, 2])
    result = dqp.solve(problem.P, problem.q, problem.C, problem.d)
    np.testing.assert_allclose(result.z, [1.0, -2.0, 0.0], atol=1e-8)      # both bounds hold


def test_npz_box_bounds_on_a_sparse_problem_and_their_errors(tmp_path):
    path = _reference_npz(tmp_path / "box.npz", lb=np.array([0.25, 0.0]), ub=np.array([2.0, 2.0]))
    problem = load_problem(path)
    assert problem.sparse and problem.m == 3 + 4
    result = dqp.solve(problem.P, problem.q, problem.C, problem.d)
    assert result.z[0] >= 0.25 - 1e-9
    for bad, match in ((dict(lb=np.zeros(3)), "key 'lb' has 3 entries"),
                       (dict(ub=np.array([np.nan, 1.0])), "key 'ub' holds NaN"),
                       (dict(lb=np.array([3.0, 0.0]), ub=np.array([1.0, 1.0])), r"lb\[0\] = 3.0 exceeds ub\[0\] = 1.0")):
        with pytest.raises(ValueError, match=match):
            load_problem(_reference_npz(tmp_path / "bad.npz", **bad))


@pytest.mark.parametrize("overrides, match", [
    (dict(q=None), "key 'q'"),
    (dict(G=sp.csc_matrix(np.ones((3, 3)))), "key 'G'"),
    (dict(h=np.array([[np.inf], [0.0], [0.0]])), "key 'h'.*non-finite"),
    (dict(h=None), "key 'G'.*without"),
    (dict(Q=sp.csc_matrix(np.array([[1.0, 1.0], [0.0, 1.0]]))), "key 'Q'.*symmetric"),
])
def test_npz_errors_name_the_key(tmp_path, overrides, match):
    path = _reference_npz(tmp_path / "bad.npz", **overrides)
    if "q" in overrides:                        # a missing key, not a None entry
        with np.load(path, allow_pickle=True) as data:
            np.savez(path, **{k: data[k] for k in data.files if k != "q"})
    with pytest.raises(ValueError, match=match):
        load_problem(path)


def test_problem_from_torch_numpy_and_scipy_agree():
    P = np.array([[2.0, 0.5], [0.5, 1.0]])
    C, d = np.array([[1.0, 1.0]]), np.array([1.0])
    dense = as_problem((torch.tensor(P), torch.tensor([1.0, -1.0]), torch.tensor(C), torch.tensor(d)))
    sparse = as_problem(dict(Q=torch.tensor(P).to_sparse(), q=np.array([1.0, -1.0]), G=sp.csr_matrix(C), h=d))
    assert not dense.sparse and sparse.sparse
    np.testing.assert_array_equal(sparse.P.toarray(), dense.P)
    np.testing.assert_array_equal(sparse.C.toarray(), dense.C)
    with pytest.raises(ValueError, match="q must have|P must have shape"):
        from_arrays(np.eye(3), np.zeros(2))
    with pytest.raises(ValueError, match="d is given without C|C is given without d"):
        from_arrays(P, np.zeros(2), C=C)
    with pytest.raises(ValueError, match="unknown problem keys"):
        as_problem(dict(P=P, q=np.zeros(2), G=C, h=d, x=1))


# ---------------------------------------------------------------------------
# diagnose on Maros–Meszaros problems
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hs21_report():
    if MM is None:
        pytest.skip("Maros–Meszaros data not found")
    return dqp.diagnose(mm("HS21"), repeats=3, timeout=60)


@needs_mm
def test_hs21_solvers_agree_and_the_fastest_agreeing_one_is_recommended(hs21_report):
    report = hs21_report
    assert {r.solver for r in report.results} == set(dqp.available_solvers())
    reference = report.result(report.reference)
    assert reference.ok and reference.active == [3] and reference.kkt_error < 1e-9   # -z0 ≤ -2 at z0 = 2
    agreeing = [r for r in report.results if r.agrees]
    # diagnose reports inaccurate solvers rather than relying on them; most agree here.
    assert len(agreeing) >= len(report.results) // 2
    recommended = report.result(report.recommendation)
    assert recommended.agrees and recommended.total_time == min(r.total_time for r in agreeing)
    for result in agreeing:
        assert result.objective == pytest.approx(-99.96, abs=1e-6)
        assert result.active == [3]
        assert result.active_symmetric_difference == 0 and result.active_jaccard == 1.0
        assert result.gradient_difference < 1e-8
        assert result.fd_error < 1e-6
        assert result.degenerate is False
        assert result.solve_time > 0 and result.derivative_time > 0 and result.repeats == 3
        np.testing.assert_allclose(result.gradient["q"], reference.gradient["q"], atol=1e-10)
    for result in report.results:
        if result.ok and not result.agrees:        # a disagreement is visible in the numbers
            assert (result.z_difference > 1e-4 or result.active_symmetric_difference
                    or result.gradient_difference > 1e-4)


@needs_mm
def test_hs21_report_renders_table_json_and_plot(hs21_report, tmp_path):
    text = str(hs21_report)
    assert "HS21" in text and "Recommendation" in text and hs21_report.recommendation in text
    data = json.loads(hs21_report.to_json())
    assert data["recommendation"] == hs21_report.recommendation
    assert {"solve_time", "derivative_time", "gradient_difference", "fd_error", "degenerate"} <= set(
        data["results"][0])
    assert "z" not in data["results"][0] and "z" in json.loads(hs21_report.to_json(arrays=True))["results"][0]
    hs21_report.plot(tmp_path / "hs21.png")
    assert (tmp_path / "hs21.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_mm
@pytest.mark.parametrize("name, objective", [("HS35", 0.1111111111), ("HS118", 664.82045)])
def test_small_maros_meszaros_problems(name, objective):
    report = dqp.diagnose(mm(name), solvers=FEW, repeats=2)
    assert report.recommendation is not None
    agreeing = [r for r in report.results if r.agrees]
    assert len(agreeing) >= 3
    for result in agreeing:
        assert result.objective == pytest.approx(objective, rel=1e-6)
        assert result.fd_error < 1e-4


# ---------------------------------------------------------------------------
# diagnose on generated problems
# ---------------------------------------------------------------------------

def test_infeasible_problem_gets_no_recommendation():
    # z0 ≤ -1 and z0 ≥ 1.
    problem = (np.eye(2), np.array([1.0, -1.0]), np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-1.0, -1.0]))
    report = dqp.diagnose(problem, solvers=FEW, repeats=1, name="infeasible")
    assert report.recommendation is None and report.reference is None
    assert not any(r.ok for r in report.results)
    assert report.result("proxqp").status == "primal_infeasible"
    assert "infeasible" in report.reason
    assert "No recommendation" in str(report)


def test_degenerate_problem_is_flagged():
    # Projection of (1, 0) onto z0 ≤ 0, z1 ≤ 0, z0 + z1 ≤ 0: the solution 0 has three
    # rows on their bounds in two variables; with all three the polished duals are the
    # least-squares ones (2/3, -1/3, 1/3), so the polish drops z1 ≤ 0 and polishes on the
    # other two (duals 1, 0): z1 ≤ 0 and z0 + z1 ≤ 0 are weakly active, and flagged.
    problem = dict(P=np.eye(2), q=np.array([-1.0, 0.0]), C=np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
                   d=np.zeros(3))
    report = dqp.diagnose(problem, solvers="proxqp,daqp,quadprog", repeats=1, name="degenerate")
    reference = report.result(report.reference)
    assert reference.degenerate and "weakly active" in reference.degenerate_reason
    assert any("degenerate" in note for note in report.notes)
    assert "weakly active" in str(report)
    for result in report.results:
        np.testing.assert_allclose(result.z, 0.0, atol=1e-5)     # unpolished points are eps_abs-accurate


def test_generated_problem_gradient_matches_the_closed_form():
    # min ½‖z‖² - aᵀz s.t. z ≤ c: z = min(a, c); with L = wᵀz, ∇q = -w on free
    # coordinates and 0 on active ones; ∇d = w on active ones.
    a, c = np.array([1.0, -2.0, 3.0]), np.array([2.0, 0.0, 1.0])
    report = dqp.diagnose((np.eye(3), -a, np.eye(3), c), solvers="proxqp,daqp", repeats=1, isolate=False)
    weights = np.random.default_rng(0).standard_normal(3)     # the loss diagnose draws with seed=0
    for result in report.results:
        np.testing.assert_allclose(result.z, np.minimum(a, c), atol=1e-9)
        np.testing.assert_allclose(result.gradient["q"], [-weights[0], -weights[1], 0.0], atol=1e-9)
        np.testing.assert_allclose(result.gradient["d"], [0.0, 0.0, weights[2]], atol=1e-9)
        assert result.fd_error < 1e-6


def test_crashing_hanging_and_raising_solvers_are_reported(monkeypatch):
    monkeypatch.setenv("DQP_DIAGNOSE_FAULT", "osqp=crash,daqp=hang,clarabel=raise")
    problem = (np.eye(2), np.array([1.0, 1.0]), -np.eye(2), np.zeros(2))
    report = dqp.diagnose(problem, solvers="proxqp,osqp,daqp,clarabel", repeats=1, timeout=3)
    assert report.result("osqp").status == "crashed" and "SIGSEGV" in report.result("osqp").message
    assert report.result("daqp").status == "timeout"
    assert report.result("clarabel").status == "error" and "injected" in report.result("clarabel").message
    assert report.result("proxqp").ok and report.recommendation == "proxqp"
    assert [r.solver for r in report.results][0] == "proxqp"       # failures are listed last


def test_diagnose_argument_errors():
    problem = (np.eye(2), np.zeros(2))
    with pytest.raises(ValueError, match="solvers: .*unknown"):
        dqp.diagnose(problem, solvers="nosuchsolver")
    with pytest.raises(ValueError, match="repeats"):
        dqp.diagnose(problem, repeats=0)
    with pytest.raises(ValueError, match="solvers=\\[...\\] instead"):
        dqp.diagnose(problem, qp_solver="osqp")
    with pytest.raises(TypeError, match="unknown option"):
        dqp.diagnose(problem, eps_absolute=1e-8)
    with pytest.raises(ValueError, match="storage"):
        dqp.diagnose(problem, storage="csc")


def test_dense_only_solver_is_skipped_when_sparse_is_forced():
    problem = (sp.csc_matrix(np.eye(2)), np.array([1.0, 1.0]), sp.csc_matrix(-np.eye(2)), np.zeros(2))
    report = dqp.diagnose(problem, solvers="quadprog,proxqp", storage="sparse", repeats=1, isolate=False)
    assert report.result("quadprog").status == "skipped"
    assert report.result("proxqp").storage == "sparse" and report.recommendation == "proxqp"


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

@needs_mm
def test_cli_json_parses_and_stdout_stays_clean(capfd):
    code = main(["diagnose", str(mm("HS21")), "--json", "--solvers", "proxqp,highs", "--repeats", "2"])
    out, _ = capfd.readouterr()
    data = json.loads(out)                      # HiGHS's banner must not leak into stdout
    assert code == 0 and data["problem"]["name"] == "HS21"
    assert {r["solver"] for r in data["results"]} == {"proxqp", "highs"}
    assert data["recommendation"] in {"proxqp", "highs"}


@needs_mm
def test_cli_table_and_plot(capsys, tmp_path):
    plot = tmp_path / "out.png"
    code = main(["diagnose", str(mm("HS35")), "--solvers", "proxqp", "--solvers", "daqp", "--repeats", "1",
                 "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0 and "HS35" in out and "Recommendation" in out and str(plot) in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_errors_and_help(capsys, tmp_path):
    assert main(["diagnose", str(tmp_path / "missing.mat")]) == 2
    assert "no such problem file" in capsys.readouterr().err
    np.savez(tmp_path / "p.npz", Q=np.eye(2), q=np.zeros(2))
    assert main(["diagnose", str(tmp_path / "p.npz"), "--solvers", "nosuchsolver"]) == 2
    assert "nosuchsolver" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["diagnose", "--help"])
    help_text = capsys.readouterr().out
    for option in ("--solvers", "--repeats", "--timeout", "--json", "--plot", "Maros-Meszaros"):
        assert option in help_text


def test_cli_folder_errors_name_the_folder_or_file(capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["diagnose", str(empty)]) == 2
    assert "no .npz or .mat files in" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    np.savez(bad / "broken.npz", q=np.zeros(2))
    assert main(["diagnose", str(bad), "--solvers", "proxqp"]) == 2
    assert "broken.npz" in capsys.readouterr().err
    assert main(["diagnose", str(bad), "--plot", str(tmp_path / "x.png")]) == 2
    assert "--plot draws one problem" in capsys.readouterr().err


def test_cli_folder_table_and_csv_without_ray(capsys, tmp_path):
    folder = tmp_path / "problems"
    folder.mkdir()
    np.savez(folder / "a.npz", Q=np.eye(2), q=np.array([1.0, -1.0]), G=-np.eye(2), h=np.zeros(2))
    np.savez(folder / "b.npz", Q=2 * np.eye(3), q=np.ones(3))
    assert main(["diagnose", str(folder), "--solvers", "proxqp,daqp", "--repeats", "1", "--no-progress",
                 "--csv", str(tmp_path / "runs.csv")]) == 0
    assert "2 problems" in capsys.readouterr().out
    with open(tmp_path / "runs.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["problem"], r["solver"], r["status"]) for r in rows] == [
        ("a", "proxqp", "optimal"), ("a", "daqp", "optimal"), ("b", "proxqp", "optimal"), ("b", "daqp", "optimal")]
    assert float(rows[0]["objective"]) == pytest.approx(-0.5, abs=1e-6)      # z = (0, 1)


def test_report_type_is_exported():
    assert isinstance(dqp.diagnose((np.eye(1), np.ones(1)), solvers="proxqp", repeats=1, isolate=False),
                      DiagnosticReport)
