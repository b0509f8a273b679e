// Batches: forward_batch / backward_batch give what one Layer call per problem
// gives, with or without shared factorizations, on several threads.
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dqp/batch.hpp"
#include "test_helpers.hpp"

namespace dqp::test {
namespace {

constexpr double kBatchExact = 1e-10;
constexpr Index kBatch = 12;

// The base problem's matrices with other vectors: the views share P, C, A.
DenseProblem with_vectors(const DenseQP& qp, const Vector& q, const Vector& d, const Vector& b) {
  return {qp.P, q, qp.C, d, qp.A, b};
}
SparseProblem with_vectors(const SparseQP& qp, const Vector& q, const Vector& d, const Vector& b) {
  return {view_of(qp.P), q, view_of(qp.C), d, view_of(qp.A), b};
}

// One P, C, A viewed by every problem (so the batch may share factorizations);
// q, d, b nudged per problem, small enough to keep the active set.
template <class QP>
struct SharedBatch {
  QP base;
  std::vector<Vector> q, d, b;

  auto views() const {
    std::vector<decltype(base.view())> out;
    for (Index i = 0; i < kBatch; ++i) out.push_back(with_vectors(base, q[i], d[i], b[i]));
    return out;
  }
};

template <class QP>
SharedBatch<QP> make_batch(const QP& base, std::mt19937& rng) {
  SharedBatch<QP> batch{base, {}, {}, {}};
  std::uniform_real_distribution<double> nudge(-1e-3, 1e-3);
  const auto nudged = [&](const Vector& v) {
    return Vector(v + Vector::NullaryExpr(v.size(), [&] { return nudge(rng); }));
  };
  for (Index i = 0; i < kBatch; ++i) {
    batch.q.push_back(nudged(base.q));
    batch.d.push_back(nudged(base.d));
    batch.b.push_back(nudged(base.b));
  }
  return batch;
}

// kBatch random problems, each with its own matrices (n = 6, p = 1, m = 5,
// two rows active).
std::vector<DenseQP> distinct_problems(std::mt19937& rng) {
  std::vector<DenseQP> storage;
  for (Index i = 0; i < kBatch; ++i) storage.push_back(random_qp(rng, {6, 1, 2, 5, 1.0}).qp);
  return storage;
}

std::vector<DenseProblem> views_of(const std::vector<DenseQP>& storage) {
  std::vector<DenseProblem> problems;
  for (const DenseQP& qp : storage) problems.push_back(qp.view());
  return problems;
}

BatchOptions two_threads(bool share) {
  BatchOptions options;
  options.threads = 2;
  options.share_factorizations = share;
  return options;
}

template <class Problem>
void expect_batch_matches_single(const std::vector<Problem>& problems) {
  const Layer layer;
  const Index n = problems[0].n(), p = problems[0].p(), m = problems[0].m();
  const RowMatrix dz = RowMatrix::Random(kBatch, n), dlam = RowMatrix::Random(kBatch, p),
                  dmu = RowMatrix::Random(kBatch, m);
  for (bool share : {true, false}) {
    SCOPED_TRACE("share_factorizations " + std::to_string(share));
    const auto solutions = forward_batch(layer, problems, two_threads(share));
    const auto gradients = backward_batch(layer, problems, solutions, dz, dlam, dmu, two_threads(share));
    ASSERT_EQ(solutions.size(), problems.size());
    ASSERT_EQ(gradients.size(), problems.size());
    for (std::size_t i = 0; i < problems.size(); ++i) {
      SCOPED_TRACE("problem " + std::to_string(i));
      const Solution single = layer.forward(problems[i]);
      ASSERT_EQ(solutions[i].status, Status::Optimal);
      EXPECT_EQ(solutions[i].active, single.active);
      EXPECT_EQ(solutions[i].degeneracy, single.degeneracy);
      EXPECT_TRUE(near_relative(solutions[i].z, single.z, kBatchExact, 1.0));
      EXPECT_TRUE(near_relative(solutions[i].lam, single.lam, kBatchExact, 1.0));
      EXPECT_TRUE(near_relative(solutions[i].mu, single.mu, kBatchExact, 1.0));
      const Vector dz_i = dz.row(i).transpose(), dlam_i = dlam.row(i).transpose(),
                   dmu_i = dmu.row(i).transpose();
      const auto g = layer.backward(problems[i], single, dz_i, dlam_i, dmu_i);
      EXPECT_TRUE(near_relative(gradients[i].P, g.P, kBatchExact));
      EXPECT_TRUE(near_relative(gradients[i].q, g.q, kBatchExact));
      EXPECT_TRUE(near_relative(gradients[i].C, g.C, kBatchExact));
      EXPECT_TRUE(near_relative(gradients[i].d, g.d, kBatchExact));
      EXPECT_TRUE(near_relative(gradients[i].A, g.A, kBatchExact));
      EXPECT_TRUE(near_relative(gradients[i].b, g.b, kBatchExact));
    }
  }
}

TEST(Batch, SharedMatricesDense) {
  std::mt19937 rng(201);
  const auto batch = make_batch(random_qp(rng, {8, 2, 3, 7, 1.0}).qp, rng);
  expect_batch_matches_single(batch.views());
}

TEST(Batch, SharedMatricesSparse) {
  std::mt19937 rng(202);
  const auto batch = make_batch(to_sparse(random_qp(rng, {8, 2, 3, 7, 0.4}).qp), rng);
  expect_batch_matches_single(batch.views());
}

// Different matrices per problem: nothing may be shared between them.
TEST(Batch, DistinctMatricesDense) {
  std::mt19937 rng(203);
  const std::vector<DenseQP> storage = distinct_problems(rng);
  const std::vector<DenseProblem> problems = views_of(storage);
  expect_batch_matches_single(problems);
}

// A failed solve in a batch is reported in its status and gets zero
// gradients; its neighbours are unaffected.
TEST(Batch, InfeasibleMemberGetsZeroGradients) {
  std::mt19937 rng(204);
  const DenseQP good = random_qp(rng, {2, 0, 1, 2, 1.0}).qp;
  DenseQP bad = good;
  bad.C.resize(2, 2);
  bad.C << 1, 0, -1, 0;  // z1 <= -1 and z1 >= 1
  bad.d = Vector::Constant(2, -1.0);
  const std::vector<DenseProblem> problems{good.view(), bad.view()};
  const Layer layer;
  const auto solutions = forward_batch(layer, problems, two_threads(true));
  ASSERT_EQ(solutions[0].status, Status::Optimal);
  ASSERT_NE(solutions[1].status, Status::Optimal);
  const RowMatrix dz = RowMatrix::Ones(2, 2);
  const auto gradients =
      backward_batch(layer, problems, solutions, dz, RowMatrix(2, 0), RowMatrix(2, 0), two_threads(true));
  EXPECT_GT(gradients[0].q.cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(gradients[1].q, Vector::Zero(2));
  EXPECT_EQ(gradients[1].C, RowMatrix::Zero(2, 2));
  EXPECT_EQ(gradients[1].d, Vector::Zero(2));
}

// Errors name the problem's index and the argument.
TEST(Batch, BadInputNamesProblemAndArgument) {
  const DenseQP good = seed_problem();
  DenseQP bad = good;
  bad.q[0] = NAN;
  const std::vector<DenseProblem> problems{good.view(), bad.view()};
  const Layer layer;
  const std::string what = invalid_argument_message([&] { forward_batch(layer, problems); });
  EXPECT_NE(what.find("problem 1"), std::string::npos) << what;
  EXPECT_NE(what.find("q"), std::string::npos) << what;

  const std::vector<DenseProblem> fine{good.view(), good.view()};
  const auto solutions = forward_batch(layer, fine);
  const std::string shape = invalid_argument_message([&] {
    backward_batch(layer, fine, solutions, RowMatrix::Ones(2, 3), RowMatrix(2, 0), RowMatrix(2, 0));
  });
  EXPECT_NE(shape.find("dz"), std::string::npos) << shape;
}

// BatchOptions::gradients reaches every problem, failed ones included (their
// zero gradients are emptied the same way).
TEST(Batch, GradientSelection) {
  std::mt19937 rng(207);
  const auto batch = make_batch(random_qp(rng, {6, 1, 2, 5, 1.0}).qp, rng);
  const std::vector<DenseProblem> problems = batch.views();
  const Index count = static_cast<Index>(problems.size());
  const Layer layer;
  auto solutions = forward_batch(layer, problems, two_threads(true));
  solutions[1].kkt.reset();     // not differentiable: zero gradients
  const RowMatrix dz = RowMatrix::Ones(count, 6);
  BatchOptions options = two_threads(true);
  const auto full = backward_batch(layer, problems, solutions, dz, RowMatrix(), RowMatrix(), options);
  options.gradients = GradientSelection::vectors_only();
  const auto part = backward_batch(layer, problems, solutions, dz, RowMatrix(), RowMatrix(), options);
  for (Index i = 0; i < count; ++i) {
    SCOPED_TRACE("problem " + std::to_string(i));
    expect_selected(part[i], full[i], options.gradients);
  }
  EXPECT_EQ(part[1].q, Vector::Zero(6));
}

// "Empty" means zero in single and batch calls alike: RowMatrix() (0 x 0),
// zero columns or zero rows for dlam and dmu give what explicit zeros give.
TEST(Batch, EmptyDualGradientsMeanZero) {
  std::mt19937 rng(206);
  const auto batch = make_batch(random_qp(rng, {6, 1, 2, 5, 1.0}).qp, rng);
  const std::vector<DenseProblem> problems = batch.views();
  const Index count = static_cast<Index>(problems.size());
  const Layer layer;
  const auto solutions = forward_batch(layer, problems, two_threads(true));
  const RowMatrix dz = RowMatrix::Ones(count, 6);
  const auto zeros = backward_batch(layer, problems, solutions, dz, RowMatrix::Zero(count, 1),
                                    RowMatrix::Zero(count, 5), two_threads(true));
  for (const RowMatrix& empty : {RowMatrix(), RowMatrix(count, 0), RowMatrix(0, 5)}) {
    const auto gradients =
        backward_batch(layer, problems, solutions, dz, empty, empty, two_threads(true));
    for (Index i = 0; i < count; ++i) {
      EXPECT_EQ(gradients[i].q, zeros[i].q);
      EXPECT_EQ(gradients[i].C, zeros[i].C);
      const auto single = layer.backward(problems[i], solutions[i], dz.row(i).transpose(),
                                         Vector(), Vector());
      EXPECT_EQ(gradients[i].q, single.q);
    }
  }
}

// The streaming backward hands each problem's gradients to the sink exactly
// once, equal to the collected ones; a null solution is refused.
TEST(Batch, StreamingBackwardMatchesCollected) {
  std::mt19937 rng(205);
  const std::vector<DenseQP> storage = distinct_problems(rng);
  const std::vector<DenseProblem> problems = views_of(storage);
  const Layer layer;
  const auto solutions = forward_batch(layer, problems, two_threads(false));
  const RowMatrix dz = RowMatrix::Random(kBatch, 6);
  const auto collected = backward_batch(layer, problems, solutions, dz, RowMatrix(kBatch, 0),
                                        RowMatrix(kBatch, 0), two_threads(false));
  std::vector<const Solution*> pointers;
  for (const Solution& s : solutions) pointers.push_back(&s);
  std::vector<DenseGradients> streamed(kBatch);
  std::vector<int> calls(kBatch, 0);
  std::mutex mutex;
  backward_batch(layer, problems, pointers, dz, RowMatrix(kBatch, 0), RowMatrix(kBatch, 0),
                 two_threads(false), [&](Index i, DenseGradients&& g) {
                   std::lock_guard<std::mutex> lock(mutex);
                   ++calls[i];
                   streamed[i] = std::move(g);
                 });
  for (Index i = 0; i < kBatch; ++i) {
    SCOPED_TRACE("problem " + std::to_string(i));
    EXPECT_EQ(calls[i], 1);
    EXPECT_EQ(streamed[i].P, collected[i].P);
    EXPECT_EQ(streamed[i].C, collected[i].C);
    EXPECT_EQ(streamed[i].q, collected[i].q);
    EXPECT_EQ(streamed[i].d, collected[i].d);
  }
  pointers[3] = nullptr;
  EXPECT_THROW(backward_batch(layer, problems, pointers, dz, RowMatrix(kBatch, 0),
                              RowMatrix(kBatch, 0), two_threads(false),
                              [](Index, DenseGradients&&) {}),
               std::invalid_argument);
}

// parallel_for visits every index once, whether the work is tiny (kept on
// the calling thread) or long enough for the pool, and rethrows a failure.
TEST(Batch, ParallelForVisitsEveryIndexOnce) {
  for (const int sleep_us : {0, 200}) {
    SCOPED_TRACE("work per index (us): " + std::to_string(sleep_us));
    std::vector<std::atomic<int>> visits(50);
    parallel_for(50, 2, [&](Index i) {
      if (sleep_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
      ++visits[i];
    });
    for (Index i = 0; i < 50; ++i) EXPECT_EQ(visits[i].load(), 1) << "index " << i;
  }
  EXPECT_THROW(parallel_for(20, 2,
                            [](Index i) {
                              std::this_thread::sleep_for(std::chrono::microseconds(50));
                              if (i == 7) throw std::runtime_error("seven");
                            }),
               std::runtime_error);
}

}  // namespace
}  // namespace dqp::test
