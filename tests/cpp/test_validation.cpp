// Bad input: std::invalid_argument whose message names the offending argument.
#include <cctype>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

// Does `message` mention `name` as a whole word ("d" in "match d and q", not
// in "shape")?
::testing::AssertionResult names(const std::string& message, const std::string& name) {
  const auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (std::size_t at = message.find(name); at != std::string::npos; at = message.find(name, at + 1)) {
    const bool starts = at == 0 || !is_word(message[at - 1]);
    const std::size_t end = at + name.size();
    const bool ends = end == message.size() || !is_word(message[end]);
    if (starts && ends) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "message does not name '" << name << "': " << message;
}

// The seed with one equality row, so that every argument has data.
DenseQP full_problem() {
  DenseQP qp = seed_problem();
  qp.A = RowMatrix::Ones(1, 2);
  qp.b = Vector::Ones(1);
  return qp;
}

std::string forward_error(const DenseQP& qp, const Settings& settings = {}) {
  return invalid_argument_message([&] { Layer(settings).forward(qp.view()); });
}

std::string forward_error(const SparseQP& qp, const Settings& settings = {}) {
  return invalid_argument_message([&] { Layer(settings).forward(qp.view()); });
}

TEST(Validation, WellFormedProblemPasses) {
  const DenseQP dense = full_problem();
  const SparseQP sparse = to_sparse(dense);
  EXPECT_NO_THROW(validate(dense.view(), Settings{}));
  EXPECT_NO_THROW(validate(sparse.view(), Settings{}));
}

TEST(Validation, ShapeOfP) {
  DenseQP qp = full_problem();
  qp.P = RowMatrix::Identity(3, 3);
  EXPECT_TRUE(names(forward_error(qp), "P"));
  qp.P = RowMatrix::Identity(2, 3);
  EXPECT_TRUE(names(forward_error(qp), "P"));
}

TEST(Validation, ShapeOfC) {
  DenseQP qp = full_problem();
  qp.C = RowMatrix::Ones(3, 3);
  EXPECT_TRUE(names(forward_error(qp), "C"));
}

// No rows is allowed as (0, n) or (0, 0); (0, k) for another k is a wrong
// shape all the same.
TEST(Validation, ShapeOfEmptyConstraintMatrices) {
  DenseQP qp = full_problem();
  qp.C = RowMatrix(0, 3);
  qp.d = Vector(0);
  EXPECT_TRUE(names(forward_error(qp), "C"));
  qp = full_problem();
  qp.A = RowMatrix(0, 3);
  qp.b = Vector(0);
  EXPECT_TRUE(names(forward_error(qp), "A"));
}

TEST(Validation, ShapeOfA) {
  DenseQP qp = full_problem();
  qp.A = RowMatrix::Ones(1, 3);
  EXPECT_TRUE(names(forward_error(qp), "A"));
}

// A right-hand side whose length does not match its matrix's rows is the
// one reported (the message starts with it), not the matrix.
TEST(Validation, LengthOfD) {
  DenseQP qp = full_problem();
  qp.d = Vector::Zero(4);
  const std::string message = forward_error(qp);
  EXPECT_EQ(message.rfind("d must have 3 entries", 0), 0u) << message;
  const SparseQP sparse = to_sparse(qp);
  EXPECT_EQ(invalid_argument_message([&] { Layer().forward(sparse.view()); })
                .rfind("d must have 3 entries", 0),
            0u);
}

TEST(Validation, LengthOfB) {
  DenseQP qp = full_problem();
  qp.b = Vector::Zero(2);
  const std::string message = forward_error(qp);
  EXPECT_EQ(message.rfind("b must have 1 entries", 0), 0u) << message;
}

TEST(Validation, SparseShapes) {
  const DenseQP dense = full_problem();
  SparseQP qp = to_sparse(dense);
  qp.C = to_sparse(RowMatrix::Ones(3, 3));
  EXPECT_TRUE(names(forward_error(qp), "C"));
  qp = to_sparse(dense);
  qp.A = to_sparse(RowMatrix::Ones(1, 3));
  EXPECT_TRUE(names(forward_error(qp), "A"));
  qp = to_sparse(dense);
  qp.P = to_sparse(RowMatrix::Identity(3, 3));
  EXPECT_TRUE(names(forward_error(qp), "P"));
}

TEST(Validation, NoVariables) {
  DenseQP qp;
  qp.P = RowMatrix(0, 0);
  qp.q = Vector(0);
  qp.C = RowMatrix(0, 0);
  qp.d = Vector(0);
  qp.A = RowMatrix(0, 0);
  qp.b = Vector(0);
  EXPECT_TRUE(names(forward_error(qp), "q"));
}

TEST(Validation, NonFiniteData) {
  const DenseQP good = full_problem();
  DenseQP qp = good;
  qp.q[1] = NAN;
  EXPECT_TRUE(names(forward_error(qp), "q"));
  qp = good;
  qp.P(0, 0) = NAN;
  EXPECT_TRUE(names(forward_error(qp), "P"));
  qp = good;
  qp.d[2] = NAN;   // ±inf in d are bounds (test_infinite_bounds.cpp); NaN is not
  EXPECT_TRUE(names(forward_error(qp), "d"));
  qp = good;
  qp.C(1, 0) = NAN;
  EXPECT_TRUE(names(forward_error(qp), "C"));
  qp = good;
  qp.A(0, 1) = -INFINITY;
  EXPECT_TRUE(names(forward_error(qp), "A"));
  qp = good;
  qp.b[0] = NAN;
  EXPECT_TRUE(names(forward_error(qp), "b"));
}

TEST(Validation, NonFiniteSparseData) {
  SparseQP qp = to_sparse(full_problem());
  qp.P.valuePtr()[1] = NAN;
  EXPECT_TRUE(names(forward_error(qp), "P"));
  qp = to_sparse(full_problem());
  qp.C.valuePtr()[0] = INFINITY;
  EXPECT_TRUE(names(forward_error(qp), "C"));
}

TEST(Validation, NonSymmetricP) {
  DenseQP qp = full_problem();
  qp.P(0, 1) = 0.5;  // P(1, 0) stays 0
  EXPECT_TRUE(names(forward_error(qp), "P"));
  EXPECT_TRUE(names(forward_error(to_sparse(qp)), "P"));
}

// Sparse P must store both triangles: the upper one alone is not symmetric.
TEST(Validation, SparsePWithOneTriangle) {
  RowMatrix upper(2, 2);
  upper << 2, 1, 0, 2;
  SparseQP qp = to_sparse(full_problem());
  qp.P = to_sparse(upper);
  EXPECT_TRUE(names(forward_error(qp), "P"));
}

RowMatrix indefinite() {
  RowMatrix P(2, 2);
  P << 1, 2, 2, 1;  // eigenvalues 3 and -1
  return P;
}

TEST(Validation, NonPSDWithCheckDense) {
  Settings settings;
  settings.check_psd = true;
  DenseQP qp = full_problem();
  qp.P = indefinite();
  EXPECT_TRUE(names(forward_error(qp, settings), "P"));
  settings.check_psd = false;
  EXPECT_NO_THROW(validate(qp.view(), settings)) << "the PSD check is opt-in";
}

TEST(Validation, NonPSDWithCheckSparse) {
  Settings settings;
  settings.check_psd = true;
  DenseQP qp = full_problem();
  qp.P = indefinite();
  EXPECT_TRUE(names(forward_error(to_sparse(qp), settings), "P"));
}

// Singular PSD matrices are convex: the check must let them through.
TEST(Validation, SingularPSDPassesCheck) {
  Settings settings;
  settings.check_psd = true;
  DenseQP qp = full_problem();
  qp.P << 1, 1, 1, 1;
  EXPECT_NO_THROW(validate(qp.view(), settings));
  const SparseQP sparse = to_sparse(qp);
  EXPECT_NO_THROW(validate(sparse.view(), settings));
}

// P = 0 stored with no entries (an LP): the sparse PSD check must not read
// the empty value array (found by the fuzzer under AddressSanitizer).
TEST(Validation, EmptySparsePPassesCheck) {
  Settings settings;
  settings.check_psd = true;
  DenseQP qp = full_problem();
  qp.P.setZero();
  const SparseQP sparse = to_sparse(qp);
  ASSERT_EQ(sparse.P.nonZeros(), 0);
  EXPECT_NO_THROW(validate(sparse.view(), settings));
}

TEST(Validation, UnknownQPSolver) {
  Settings settings;
  settings.qp_solver = "no-such-solver";
  const std::string what = invalid_argument_message([&] { Layer layer(settings); });
  EXPECT_TRUE(names(what, "qp_solver"));
  EXPECT_NE(what.find("no-such-solver"), std::string::npos) << what;
}

TEST(Validation, UnknownLinearSolver) {
  Settings settings;
  settings.lin_solver = "no-such-solver";
  const std::string what = invalid_argument_message([&] { Layer layer(settings); });
  EXPECT_TRUE(names(what, "lin_solver"));
  EXPECT_NE(what.find("no-such-solver"), std::string::npos) << what;
  EXPECT_THROW(make_linear_solver("no-such-solver"), std::invalid_argument);
  EXPECT_THROW(make_qp_solver("no-such-solver"), std::invalid_argument);
}

// A dense-only linear solver asked to factor a sparse problem, and back.
TEST(Validation, LinearSolverOfWrongStorage) {
  Settings settings;
  settings.lin_solver = "sparse_lu";
  EXPECT_TRUE(names(forward_error(full_problem(), settings), "lin_solver"));
  settings.lin_solver = "lu";
  EXPECT_TRUE(names(forward_error(to_sparse(full_problem()), settings), "lin_solver"));
}

TEST(Validation, BadSettings) {
  const auto error = [](auto edit) {
    Settings settings;
    edit(settings);
    return invalid_argument_message([&] { Layer layer(settings); });
  };
  EXPECT_TRUE(names(error([](Settings& s) { s.eps_active = -1e-5; }), "eps_active"));
  EXPECT_TRUE(names(error([](Settings& s) { s.eps_active = 0.0; }), "eps_active"));
  EXPECT_TRUE(names(error([](Settings& s) { s.eps_active = NAN; }), "eps_active"));
  EXPECT_TRUE(names(error([](Settings& s) { s.eps_abs = -1.0; }), "eps_abs"));
  EXPECT_TRUE(names(error([](Settings& s) { s.max_iter = 0; }), "max_iter"));
  EXPECT_TRUE(names(error([](Settings& s) { s.weak_dual_tol = -1.0; }), "weak_dual_tol"));
  EXPECT_TRUE(names(error([](Settings& s) { s.symmetry_tol = INFINITY; }), "symmetry_tol"));
}

class BackwardValidation : public ::testing::Test {
 protected:
  const DenseQP qp = full_problem();
  const Layer layer;
  const Solution solution = layer.forward(qp.view());

  std::string error(const Vector& dz, const Vector& dlam, const Vector& dmu) const {
    return invalid_argument_message([&] { layer.backward(qp.view(), solution, dz, dlam, dmu); });
  }
};

TEST_F(BackwardValidation, WrongSizeDz) {
  ASSERT_EQ(solution.status, Status::Optimal);
  EXPECT_TRUE(names(error(Vector::Ones(3), Vector(), Vector()), "dz"));
  EXPECT_TRUE(names(error(Vector(), Vector(), Vector()), "dz")) << "dz is not optional";
}

TEST_F(BackwardValidation, WrongSizeDlamDmu) {
  ASSERT_EQ(solution.status, Status::Optimal);
  EXPECT_TRUE(names(error(Vector::Ones(2), Vector::Ones(2), Vector()), "dlam"));
  EXPECT_TRUE(names(error(Vector::Ones(2), Vector(), Vector::Ones(2)), "dmu"));
}

TEST_F(BackwardValidation, NonFiniteIncomingGradient) {
  ASSERT_EQ(solution.status, Status::Optimal);
  EXPECT_FALSE(error(Vector::Constant(2, NAN), Vector(), Vector()).empty());
}

TEST_F(BackwardValidation, SolutionOfAnotherProblem) {
  std::mt19937 rng(5);
  const DenseQP other = random_qp(rng, {4, 1, 1, 2, 1.0}).qp;
  const Solution foreign = layer.forward(other.view());
  ASSERT_EQ(foreign.status, Status::Optimal);
  EXPECT_FALSE(invalid_argument_message([&] {
    layer.backward(qp.view(), foreign, Vector::Ones(2), Vector(), Vector());
  }).empty());
}

TEST(Validation, ForwardFromWrongSizeZ) {
  const Layer layer(Settings{}, nullptr);
  PrimalDual point;
  point.z = Vector::Zero(3);
  point.status = Status::Optimal;
  const DenseQP qp = full_problem();
  EXPECT_TRUE(names(invalid_argument_message([&] { layer.forward_from(qp.view(), point); }),
                    "z"));
}

// ------------------------------------------------------ CSC structure --

// The seed problem, sparse, with C in arrays of its own so that a test can
// break its structure: C = [[-1,-1],[-1,0],[0,-1]] is, by columns,
// rows (0, 1) then (0, 2).
struct BrokenC {
  SparseQP qp = to_sparse(seed_problem());
  std::vector<Index> indptr{0, 2, 4};
  std::vector<Index> rows{0, 1, 0, 2};
  std::vector<double> values{-1, -1, -1, -1};
  Index row_count = 3;

  SparseProblem view() const {
    const SparseView C(row_count, 2, static_cast<Index>(values.size()), indptr.data(),
                       rows.data(), values.data());
    return {qp.P, qp.q, C, qp.d, qp.A, qp.b};
  }
};

// Every malformed structure gets std::invalid_argument naming C, from
// validate and from forward (no solver reads it first), in place of the
// segfault or the silent wrong status it used to cause.
void expect_broken(const BrokenC& broken, const std::string& what) {
  const std::string from_validate =
      invalid_argument_message([&] { validate(broken.view(), Settings{}); });
  EXPECT_EQ(from_validate.rfind("C (CSC): ", 0), 0u) << from_validate;
  EXPECT_NE(from_validate.find(what), std::string::npos) << from_validate;
  const std::string from_forward =
      invalid_argument_message([&] { Layer().forward(broken.view()); });
  EXPECT_EQ(from_forward, from_validate);
}

TEST(CscStructure, WellFormedArraysPass) {
  const BrokenC intact;
  EXPECT_NO_THROW(validate(intact.view(), Settings{}));
  const Solution s = Layer().forward(intact.view());
  EXPECT_TRUE(is_optimal(s.status));
}

TEST(CscStructure, RowIndexOutOfRange) {
  // The case: index 99 in an 8-row C (crashed inside PIQP).
  BrokenC broken;
  broken.qp.d = Vector::Zero(8);
  broken.row_count = 8;
  broken.rows[3] = 99;
  expect_broken(broken, "row index 99 in column 1 is out of range for 8 rows");
  broken.rows[3] = -1;
  expect_broken(broken, "row index -1");
}

TEST(CscStructure, DecreasingColumnPointers) {
  BrokenC broken;
  broken.indptr = {0, 3, 2};
  expect_broken(broken, "non-decreasing");
}

TEST(CscStructure, ColumnPointersBeyondNnz) {
  BrokenC broken;
  broken.indptr = {0, 5, 4};
  expect_broken(broken, "at most nnz = 4");
}

TEST(CscStructure, LastColumnPointerShortOfNnz) {
  BrokenC broken;
  broken.indptr = {0, 2, 3};
  expect_broken(broken, "last column pointer must equal nnz = 4");
}

TEST(CscStructure, FirstColumnPointerNotZero) {
  BrokenC broken;
  broken.indptr = {1, 2, 4};
  expect_broken(broken, "must start at 0");
}

TEST(CscStructure, UnsortedRows) {
  BrokenC broken;
  broken.rows = {1, 0, 0, 2};
  expect_broken(broken, "strictly increasing");
}

TEST(CscStructure, DuplicateRows) {
  BrokenC broken;
  broken.rows = {0, 0, 0, 2};
  expect_broken(broken, "duplicate");
}

TEST(CscStructure, BrokenPAndANamed) {
  SparseQP qp = to_sparse(full_problem());
  qp.P.innerIndexPtr()[0] = 7;
  EXPECT_EQ(invalid_argument_message([&] { validate(qp.view(), Settings{}); }).rfind("P (CSC): ", 0),
            0u);
  qp = to_sparse(full_problem());
  qp.A.outerIndexPtr()[1] = 2;  // A is 1 x 2 with 2 entries: column 0 claims both
  qp.A.outerIndexPtr()[2] = 1;
  EXPECT_EQ(invalid_argument_message([&] { validate(qp.view(), Settings{}); }).rfind("A (CSC): ", 0),
            0u);
}

// ------------------------------------------- backward gets its own problem --

TEST(Validation, BackwardRefusesAnotherProblemOfTheSameSize) {
  const Layer layer;
  const DenseQP qp = full_problem();
  const Solution s = layer.forward(qp.view());
  ASSERT_TRUE(s.differentiable());
  EXPECT_NO_THROW(layer.backward(qp.view(), s, Vector::Ones(2), Vector(), Vector()));
  for (int entry = 0; entry < 6; ++entry) {
    DenseQP other = qp;
    switch (entry) {
      case 0: other.P(0, 0) += 1; break;
      case 1: other.q[1] += 1; break;
      case 2: other.C(0, 0) += 1; break;
      case 3: other.d[0] += 1; break;
      case 4: other.A(0, 1) += 1; break;
      case 5: other.b[0] += 1; break;
    }
    const std::string message = invalid_argument_message(
        [&] { layer.backward(other.view(), s, Vector::Ones(2), Vector(), Vector()); });
    EXPECT_NE(message.find("does not belong to this problem"), std::string::npos)
        << "changed entry " << entry << ": " << message;
  }
  // Sparse: a different pattern with the same values and sizes.
  const SparseQP sparse = to_sparse(qp);
  const Solution ss = layer.forward(sparse.view());
  EXPECT_NO_THROW(layer.backward(sparse.view(), ss, Vector::Ones(2), Vector(), Vector()));
  SparseQP moved = sparse;
  moved.q[0] += 0.5;
  EXPECT_FALSE(invalid_argument_message([&] {
    layer.backward(moved.view(), ss, Vector::Ones(2), Vector(), Vector());
  }).empty());
  // The same data in other buffers is the same problem.
  const DenseQP copy = qp;
  EXPECT_NO_THROW(layer.backward(copy.view(), s, Vector::Ones(2), Vector(), Vector()));
}

// --------------------------------------------------- strict_linear_solver --

// An LP (P = 0) whose two active rows are not bounds: the Schur-complement
// LLT, which needs a positive definite P, cannot factor its K.
DenseQP lp_schur_cannot_factor() {
  DenseQP qp;
  qp.P = RowMatrix::Zero(2, 2);
  qp.q = Vector(2);
  qp.q << 1, 0;
  qp.C = RowMatrix(2, 2);
  qp.C << -1, -1, -1, 1;
  qp.d = Vector::Ones(2);
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  return qp;
}

TEST(Validation, RequestedLinearSolverIsReplacedUnlessStrict) {
  const DenseQP qp = lp_schur_cannot_factor();
  Settings settings;
  settings.lin_solver = "schur_llt";
  const Solution s = Layer(settings).forward(qp.view());
  ASSERT_TRUE(is_optimal(s.status));
  EXPECT_NEAR(s.z[0], -1.0, 1e-8);
  EXPECT_NE(s.linear_solver(), "schur_llt");  // said, not silent
  EXPECT_FALSE(s.linear_solver().empty());

  settings.strict_linear_solver = true;
  try {
    Layer(settings).forward(qp.view());
    ADD_FAILURE() << "strict_linear_solver let another linear solver take over";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("schur_llt"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("strict_linear_solver"), std::string::npos);
  }
  // A problem it can factor is solved with it.
  const DenseQP seed = seed_problem();
  const Solution fine = Layer(settings).forward(seed.view());
  EXPECT_EQ(fine.linear_solver(), "schur_llt");
}

}  // namespace
}  // namespace dqp::test
