#include "test_helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <stdexcept>
#include <utility>

#include <Eigen/SVD>

#include <sys/wait.h>
#include <unistd.h>

namespace dqp::test {

// ---------------------------------------------------------------- storage --

SparseView view_of(const SparseMatrix& M) {
  return SparseView(M.rows(), M.cols(), M.nonZeros(), M.outerIndexPtr(), M.innerIndexPtr(),
                    M.valuePtr());
}

SparseMatrix to_sparse(const RowMatrix& M) {
  SparseMatrix S = M.sparseView();  // drops exact zeros only
  S.makeCompressed();
  return S;
}

SparseQP to_sparse(const DenseQP& qp) {
  return {to_sparse(qp.P), qp.q, to_sparse(qp.C), qp.d, to_sparse(qp.A), qp.b};
}

Eigen::Map<Vector> values(RowMatrix& M) { return {M.data(), M.size()}; }
Eigen::Map<Vector> values(SparseMatrix& M) { return {M.valuePtr(), M.nonZeros()}; }
Eigen::Map<const Vector> values(const SparseMatrix& M) { return {M.valuePtr(), M.nonZeros()}; }

DenseQP seed_problem() {
  DenseQP qp;
  qp.P = 2.0 * RowMatrix::Identity(2, 2);
  qp.q = Vector::Zero(2);
  qp.C.resize(3, 2);
  qp.C << -1, -1, -1, 0, 0, -1;
  qp.d = Vector(3);
  qp.d << -1, 0, 0;
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  return qp;
}

// -------------------------------------------------------------- generator --

namespace {

Index uniform_index(std::mt19937& rng, Index lo, Index hi) {
  return std::uniform_int_distribution<Index>(lo, hi)(rng);
}

double uniform(std::mt19937& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

Vector gaussian_vector(std::mt19937& rng, Index size) {
  std::normal_distribution<double> normal;
  Vector v(size);
  for (Index i = 0; i < size; ++i) v[i] = normal(rng);
  return v;
}

// Gaussian entries, each kept with probability `density`; every row keeps at
// least one entry so that no constraint row is empty.
RowMatrix gaussian_matrix(std::mt19937& rng, Index rows, Index cols, double density) {
  std::normal_distribution<double> normal;
  std::bernoulli_distribution keep(density);
  RowMatrix M = RowMatrix::Zero(rows, cols);
  for (Index i = 0; i < rows; ++i) {
    for (Index j = 0; j < cols; ++j)
      if (keep(rng)) M(i, j) = normal(rng);
    if (M.row(i).cwiseAbs().maxCoeff() == 0.0) M(i, uniform_index(rng, 0, cols - 1)) = 1.0 + std::abs(normal(rng));
  }
  return M;
}

double condition_number(const Eigen::MatrixXd& M) {
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(M);
  const Vector s = svd.singularValues();
  return s.minCoeff() > 0.0 ? s.maxCoeff() / s.minCoeff() : INFINITY;
}

}  // namespace

QPShape random_shape(std::mt19937& rng, Constraints kinds, double density) {
  QPShape shape;
  shape.density = density;
  shape.n = uniform_index(rng, 2, 15);
  const Index n = shape.n;
  switch (kinds) {
    case Constraints::EqualitiesOnly:
      shape.p = uniform_index(rng, 1, n - 1);
      break;
    case Constraints::InequalitiesOnly:
      shape.active = uniform_index(rng, 0, n);
      shape.m = shape.active + uniform_index(rng, shape.active == 0 ? 1 : 0, 5);
      break;
    case Constraints::Both:
      shape.p = uniform_index(rng, 1, std::max<Index>(1, n / 2));
      shape.active = uniform_index(rng, 0, n - shape.p);
      shape.m = shape.active + uniform_index(rng, shape.active == 0 ? 1 : 0, 5);
      break;
  }
  return shape;
}

GeneratedQP random_qp(std::mt19937& rng, const QPShape& shape) {
  const Index n = shape.n, p = shape.p, m = shape.m, k = shape.active;
  if (p + k > n || k > m) throw std::logic_error("random_qp: p + active must be <= n, active <= m");
  GeneratedQP out;
  DenseQP& qp = out.qp;
  Optimum& opt = out.optimum;

  const RowMatrix B = gaussian_matrix(rng, n, n, shape.density);
  RowMatrix P = B.transpose() * B / static_cast<double>(n);
  P.diagonal().array() += 0.5;
  qp.P = 0.5 * (P + P.transpose());  // exactly symmetric

  // Constraint rows: redraw until [A; C_active] is well conditioned.
  std::vector<Index> rows(m);
  std::iota(rows.begin(), rows.end(), Index{0});
  for (int attempt = 0;; ++attempt) {
    if (attempt == 1000) throw std::runtime_error("random_qp: no well-conditioned rows found");
    qp.A = gaussian_matrix(rng, p, n, shape.density);
    qp.C = gaussian_matrix(rng, m, n, shape.density);
    std::shuffle(rows.begin(), rows.end(), rng);
    opt.active.assign(rows.begin(), rows.begin() + k);
    std::sort(opt.active.begin(), opt.active.end());
    Eigen::MatrixXd stacked(p + k, n);
    stacked.topRows(p) = qp.A;
    for (Index i = 0; i < k; ++i) stacked.row(p + i) = qp.C.row(opt.active[i]);
    if (p + k == 0 || condition_number(stacked) <= 30.0) break;
  }

  opt.z = gaussian_vector(rng, n);
  opt.lam = gaussian_vector(rng, p);
  opt.mu = Vector::Zero(m);
  for (Index i : opt.active) opt.mu[i] = uniform(rng, 0.5, 2.0);

  Vector slack(m);
  for (Index i = 0; i < m; ++i) slack[i] = opt.mu[i] > 0.0 ? 0.0 : uniform(rng, 0.5, 2.0);

  // KKT at the chosen point fixes q, b and d.
  qp.q = -(qp.P * opt.z + qp.A.transpose() * opt.lam + qp.C.transpose() * opt.mu);
  qp.b = qp.A * opt.z;
  qp.d = qp.C * opt.z + slack;
  return out;
}

// ------------------------------------------------------------------- loss --

double LinearLoss::operator()(const Solution& s) const {
  double value = wz.dot(s.z);
  if (wlam.size()) value += wlam.dot(s.lam);
  if (wmu.size()) value += wmu.dot(s.mu);
  return value;
}

LinearLoss random_loss(std::mt19937& rng, Index n, Index p, Index m) {
  return {gaussian_vector(rng, n), gaussian_vector(rng, p), gaussian_vector(rng, m)};
}

// ---------------------------------------------------- finite differences --

double central_difference(const std::vector<double*>& entries, double h,
                          const std::function<double()>& f) {
  std::vector<double> saved;
  for (double* x : entries) saved.push_back(*x);
  auto shift = [&](double by) {
    for (std::size_t i = 0; i < entries.size(); ++i) *entries[i] = saved[i] + by;
  };
  shift(h);
  const double plus = f();
  shift(-h);
  const double minus = f();
  shift(0.0);
  return (plus - minus) / (2.0 * h);
}

namespace {

template <class QP>
std::function<double()> loss_of(const Layer& layer, const QP& qp, const LinearLoss& loss) {
  return [&layer, &qp, &loss] {
    const Solution s = layer.forward(qp.view());
    if (!is_optimal(s.status))
      throw std::runtime_error(std::string("finite differences: solve failed, status ") +
                               to_string(s.status));
    return loss(s);
  };
}

Vector fd_vector(Vector& v, double h, const std::function<double()>& f) {
  Vector g(v.size());
  for (Index i = 0; i < v.size(); ++i) g[i] = central_difference({&v[i]}, h, f);
  return g;
}

RowMatrix fd_matrix(RowMatrix& M, double h, const std::function<double()>& f) {
  RowMatrix g(M.rows(), M.cols());
  for (Index i = 0; i < M.rows(); ++i)
    for (Index j = 0; j < M.cols(); ++j) g(i, j) = central_difference({&M(i, j)}, h, f);
  return g;
}

// Index of the stored entry (j, i) for each stored entry (i, j), -1 if none.
std::vector<Index> transpose_partners(const SparseMatrix& M) {
  std::map<std::pair<Index, Index>, Index> position;
  for (Index j = 0, k = 0; j < M.outerSize(); ++j)
    for (SparseMatrix::InnerIterator it(M, j); it; ++it, ++k) position[{it.row(), j}] = k;
  std::vector<Index> partner(M.nonZeros(), -1);
  for (const auto& [entry, k] : position) {
    const auto found = position.find({entry.second, entry.first});
    if (found != position.end()) partner[k] = found->second;
  }
  return partner;
}

}  // namespace

DenseGradients fd_gradients(const Layer& layer, DenseQP qp, const LinearLoss& loss, double h) {
  const auto f = loss_of(layer, qp, loss);
  DenseGradients g;
  const Index n = qp.n();
  g.P.resize(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = i; j < n; ++j) {
      std::vector<double*> pair{&qp.P(i, j)};
      if (j != i) pair.push_back(&qp.P(j, i));
      g.P(i, j) = g.P(j, i) = central_difference(pair, h, f);
    }
  g.q = fd_vector(qp.q, h, f);
  g.C = fd_matrix(qp.C, h, f);
  g.d = fd_vector(qp.d, h, f);
  g.A = fd_matrix(qp.A, h, f);
  g.b = fd_vector(qp.b, h, f);
  return g;
}

SparseGradients fd_gradients(const Layer& layer, SparseQP qp, const LinearLoss& loss, double h) {
  const auto f = loss_of(layer, qp, loss);
  SparseGradients g;
  const std::vector<Index> partner = transpose_partners(qp.P);
  double* P = qp.P.valuePtr();
  g.P.resize(qp.P.nonZeros());
  for (Index j = 0, k = 0; j < qp.P.outerSize(); ++j)
    for (SparseMatrix::InnerIterator it(qp.P, j); it; ++it, ++k) {
      if (partner[k] < 0) throw std::logic_error("fd_gradients: P's pattern is not symmetric");
      if (it.row() < j) continue;  // done with its partner in an earlier column
      std::vector<double*> pair{P + k};
      if (partner[k] != k) pair.push_back(P + partner[k]);
      g.P[k] = g.P[partner[k]] = central_difference(pair, h, f);
    }
  Eigen::Map<Vector> C = values(qp.C), A = values(qp.A);
  g.C.resize(C.size());
  for (Index k = 0; k < C.size(); ++k) g.C[k] = central_difference({&C[k]}, h, f);
  g.A.resize(A.size());
  for (Index k = 0; k < A.size(); ++k) g.A[k] = central_difference({&A[k]}, h, f);
  g.q = fd_vector(qp.q, h, f);
  g.d = fd_vector(qp.d, h, f);
  g.b = fd_vector(qp.b, h, f);
  return g;
}

RowMatrix paired(const RowMatrix& gP) {
  RowMatrix out = gP + gP.transpose();
  out.diagonal() = gP.diagonal();
  return out;
}

Vector paired(const SparseMatrix& P, const Vector& gP) {
  const std::vector<Index> partner = transpose_partners(P);
  Vector out = gP;
  for (Index k = 0; k < gP.size(); ++k)
    if (partner[k] >= 0 && partner[k] != k) out[k] += gP[partner[k]];
  return out;
}

// --------------------------------------------------------------- checks --

namespace {

template <class Problem>
double kkt_violation_impl(const Problem& qp, const Solution& s) {
  if (s.z.size() != qp.n() || s.lam.size() != qp.p() || s.mu.size() != qp.m()) return INFINITY;
  Vector stationarity = qp.P * s.z + qp.q;
  double worst = 0.0;
  if (qp.m() > 0) {
    stationarity += qp.C.transpose() * s.mu;
    const Vector slack = qp.d - qp.C * s.z;
    for (Index i = 0; i < qp.m(); ++i)
      worst = std::max({worst, -slack[i], -s.mu[i], std::abs(s.mu[i] * slack[i])});
  }
  if (qp.p() > 0) {
    stationarity += qp.A.transpose() * s.lam;
    worst = std::max(worst, (qp.A * s.z - qp.b).cwiseAbs().maxCoeff());
  }
  const double result = std::max(worst, stationarity.cwiseAbs().maxCoeff());
  return std::isfinite(result) ? result : INFINITY;
}

}  // namespace

double kkt_violation(const DenseProblem& qp, const Solution& s) { return kkt_violation_impl(qp, s); }
double kkt_violation(const SparseProblem& qp, const Solution& s) { return kkt_violation_impl(qp, s); }

::testing::AssertionResult runs_without_crashing(const std::function<void()>& body) {
  const pid_t child = fork();
  if (child < 0) return ::testing::AssertionFailure() << "fork failed";
  if (child == 0) {
    try {
      body();
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) return ::testing::AssertionFailure() << "waitpid failed";
  if (WIFSIGNALED(status))
    return ::testing::AssertionFailure() << "crashed with signal " << WTERMSIG(status) << " ("
                                         << strsignal(WTERMSIG(status)) << ")";
  if (WEXITSTATUS(status) == 2) return ::testing::AssertionFailure() << "threw an exception";
  if (WEXITSTATUS(status) != 0)
    return ::testing::AssertionFailure() << "exited with code " << WEXITSTATUS(status);
  return ::testing::AssertionSuccess();
}

std::string invalid_argument_message(const std::function<void()>& body) {
  try {
    body();
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected std::invalid_argument, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected std::invalid_argument, nothing was thrown";
  return "";
}

}  // namespace dqp::test
