// forward_batch / backward_batch: the batch engine on top of Layer.
#include <stdexcept>
#include <string>

#include "dqp/batch.hpp"

namespace dqp {
namespace {

bool same_matrix(const DenseView& a, const DenseView& b) {
  return a.data() == b.data() && a.rows() == b.rows() && a.cols() == b.cols() &&
         a.outerStride() == b.outerStride();
}

bool same_matrix(const SparseView& a, const SparseView& b) {
  return a.valuePtr() == b.valuePtr() && a.outerIndexPtr() == b.outerIndexPtr() &&
         a.innerIndexPtr() == b.innerIndexPtr() && a.rows() == b.rows() && a.cols() == b.cols();
}

// True when every problem views the same P, C and A.
template <class Problem>
bool shares_matrices(const std::vector<Problem>& problems) {
  for (const Problem& problem : problems)
    if (!same_matrix(problem.P, problems[0].P) || !same_matrix(problem.C, problems[0].C) ||
        !same_matrix(problem.A, problems[0].A))
      return false;
  return true;
}

template <class Body>
void for_each_problem(Index count, int threads, Body&& body) {
  parallel_for(count, threads, [&](Index i) {
    try {
      body(i);
    } catch (const std::invalid_argument& error) {
      throw std::invalid_argument("problem " + std::to_string(i) + " of the batch: " + error.what());
    }
  });
}

template <class Problem>
std::vector<Solution> forward_batch_impl(const Layer& layer, const std::vector<Problem>& problems,
                                         const BatchOptions& options,
                                         const std::vector<const Solution*>& warm) {
  std::vector<Solution> solutions(problems.size());
  FactorCache cache;
  FactorCache* shared =
      options.share_factorizations && problems.size() > 1 && shares_matrices(problems) ? &cache
                                                                                        : nullptr;
  for_each_problem(static_cast<Index>(problems.size()), options.threads, [&](Index i) {
    const Solution* start = static_cast<std::size_t>(i) < warm.size() ? warm[i] : nullptr;
    solutions[i] = layer.forward(problems[i], start, shared);
  });
  return solutions;
}

void check_rows(const BatchRows& rows, std::size_t count, Index width, const char* name,
                bool optional) {
  // Empty (any shape of size 0) means zero, as for Layer::backward.
  if (optional && rows.size() == 0) return;
  if (rows.rows() != static_cast<Index>(count) || rows.cols() != width)
    throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(count) +
                                ", " + std::to_string(width) + "), got (" +
                                std::to_string(rows.rows()) + ", " + std::to_string(rows.cols()) +
                                ")");
}

// The gradients `wanted` picks; the others emptied, as Layer::backward leaves them.
template <class Gradients>
Gradients selected(Gradients g, const GradientSelection& wanted) {
  if (!wanted.P) g.P = {};
  if (!wanted.q) g.q = {};
  if (!wanted.C) g.C = {};
  if (!wanted.d) g.d = {};
  if (!wanted.A) g.A = {};
  if (!wanted.b) g.b = {};
  return g;
}

// Problem i's gradients go to sink(i, ...) on the thread that computed them.
template <class Gradients, class Problem, class SolutionAt, class Sink>
void backward_batch_impl(const Layer& layer, const std::vector<Problem>& problems,
                         std::size_t solution_count, SolutionAt&& solution_at, const BatchRows& dz,
                         const BatchRows& dlam, const BatchRows& dmu, const BatchOptions& options,
                         Gradients (*zero)(const Problem&), Sink&& sink) {
  if (solution_count != problems.size())
    throw std::invalid_argument("backward_batch: " + std::to_string(solution_count) +
                                " solutions for " + std::to_string(problems.size()) + " problems");
  if (problems.empty()) return;
  const Problem& first = problems[0];
  check_rows(dz, problems.size(), first.n(), "dz", false);
  check_rows(dlam, problems.size(), first.p(), "dlam", true);
  check_rows(dmu, problems.size(), first.m(), "dmu", true);
  for_each_problem(static_cast<Index>(problems.size()), options.threads, [&](Index i) {
    const Solution& solution = solution_at(i);
    if (!solution.differentiable()) {
      sink(i, selected(zero(problems[i]), options.gradients));
      return;
    }
    const Vector z_row = dz.row(i).transpose();
    const Vector lam_row = dlam.size() ? Vector(dlam.row(i).transpose()) : Vector();
    const Vector mu_row = dmu.size() ? Vector(dmu.row(i).transpose()) : Vector();
    sink(i, layer.backward(problems[i], solution, z_row, lam_row, mu_row, options.gradients));
  });
}

template <class Gradients, class Problem>
std::vector<Gradients> backward_batch_collect(const Layer& layer,
                                              const std::vector<Problem>& problems,
                                              const std::vector<Solution>& solutions,
                                              const BatchRows& dz, const BatchRows& dlam,
                                              const BatchRows& dmu, const BatchOptions& options,
                                              Gradients (*zero)(const Problem&)) {
  std::vector<Gradients> gradients(problems.size());
  backward_batch_impl(
      layer, problems, solutions.size(), [&](Index i) -> const Solution& { return solutions[i]; },
      dz, dlam, dmu, options, zero, [&](Index i, Gradients&& g) { gradients[i] = std::move(g); });
  return gradients;
}

DenseGradients zero_dense(const DenseProblem& qp) {
  const Index n = qp.n();
  return {RowMatrix::Zero(n, n), RowMatrix::Zero(qp.m(), n), RowMatrix::Zero(qp.p(), n),
          Vector::Zero(n),       Vector::Zero(qp.m()),       Vector::Zero(qp.p())};
}

SparseGradients zero_sparse(const SparseProblem& qp) {
  return {Vector::Zero(qp.P.nonZeros()), Vector::Zero(qp.C.nonZeros()),
          Vector::Zero(qp.A.nonZeros()), Vector::Zero(qp.n()),
          Vector::Zero(qp.m()),          Vector::Zero(qp.p())};
}

}  // namespace

std::shared_ptr<const ReducedKKT> FactorCache::find(const std::vector<Index>& active) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(active);
  return it == entries_.end() ? nullptr : it->second;
}

void FactorCache::insert(const std::vector<Index>& active, std::shared_ptr<const ReducedKKT> kkt) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.emplace(active, std::move(kkt));
}

std::size_t FactorCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::vector<Solution> forward_batch(const Layer& layer, const std::vector<DenseProblem>& problems,
                                    const BatchOptions& options,
                                    const std::vector<const Solution*>& warm) {
  return forward_batch_impl(layer, problems, options, warm);
}

std::vector<Solution> forward_batch(const Layer& layer, const std::vector<SparseProblem>& problems,
                                    const BatchOptions& options,
                                    const std::vector<const Solution*>& warm) {
  return forward_batch_impl(layer, problems, options, warm);
}

std::vector<DenseGradients> backward_batch(const Layer& layer,
                                           const std::vector<DenseProblem>& problems,
                                           const std::vector<Solution>& solutions,
                                           const BatchRows& dz, const BatchRows& dlam,
                                           const BatchRows& dmu, const BatchOptions& options) {
  return backward_batch_collect<DenseGradients>(layer, problems, solutions, dz, dlam, dmu, options,
                                                zero_dense);
}

void backward_batch(const Layer& layer, const std::vector<DenseProblem>& problems,
                    const std::vector<const Solution*>& solutions, const BatchRows& dz,
                    const BatchRows& dlam, const BatchRows& dmu, const BatchOptions& options,
                    const DenseGradientSink& sink) {
  backward_batch_impl(
      layer, problems, solutions.size(),
      [&](Index i) -> const Solution& {
        if (solutions[i] == nullptr) throw std::invalid_argument("the solution is missing (null)");
        return *solutions[i];
      },
      dz, dlam, dmu, options, zero_dense, sink);
}

std::vector<SparseGradients> backward_batch(const Layer& layer,
                                            const std::vector<SparseProblem>& problems,
                                            const std::vector<Solution>& solutions,
                                            const BatchRows& dz, const BatchRows& dlam,
                                            const BatchRows& dmu, const BatchOptions& options) {
  return backward_batch_collect<SparseGradients>(layer, problems, solutions, dz, dlam, dmu,
                                                 options, zero_sparse);
}

}  // namespace dqp
