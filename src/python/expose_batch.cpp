// Batch bindings. A dense parameter is one array shared by the batch (the
// problem's own shape) or B of them stacked (a leading batch axis): shared
// ones are viewed, never copied, and their gradients are summed over the
// batch. Sparse matrices are lists of CSC tuples (one: shared, B: batched).
#include <nanobind/eigen/dense.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/array.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "csc.hpp"
#include "dqp/batch.hpp"
#include "expose.hpp"
#include "gradient_selection.hpp"

namespace nb = nanobind;

namespace dqp::python {
namespace {

using Array = nb::ndarray<const double, nb::c_contig, nb::device::cpu>;

// One parameter of a batch: base_ndim dimensions per problem, plus an
// optional leading batch axis.
struct Param {
  const double* data = nullptr;
  Index rows = 1, cols = 1;  // a vector is (1, cols)
  Index stride = 0;          // 0: shared by the batch
  bool batched = false;
};

Param param(const Array& array, int base_ndim, Index batch, const char* name) {
  Param out;
  out.data = array.data();
  const int ndim = static_cast<int>(array.ndim());
  if (ndim != base_ndim && ndim != base_ndim + 1)
    throw std::invalid_argument(std::string(name) + " must have " + std::to_string(base_ndim) +
                                " or " + std::to_string(base_ndim + 1) + " dimensions");
  out.batched = ndim == base_ndim + 1;
  const int offset = out.batched ? 1 : 0;
  if (out.batched && static_cast<Index>(array.shape(0)) != batch)
    throw std::invalid_argument(std::string(name) + " has batch size " +
                                std::to_string(array.shape(0)) + ", expected " +
                                std::to_string(batch));
  if (base_ndim == 2) {
    out.rows = static_cast<Index>(array.shape(offset));
    out.cols = static_cast<Index>(array.shape(offset + 1));
  } else {
    out.cols = static_cast<Index>(array.shape(offset));
  }
  out.stride = out.batched ? out.rows * out.cols : 0;
  return out;
}

DenseView matrix(const Param& p, Index i) {
  return DenseView(Eigen::Map<const RowMatrix>(p.data + i * p.stride, p.rows, p.cols));
}

VectorView vector(const Param& p, Index i) {
  return VectorView(Eigen::Map<const Vector>(p.data + i * p.stride, p.cols));
}

struct DenseBatch {
  Param P, q, C, d, A, b;
  Index size;
  std::vector<DenseProblem> problems() const {
    std::vector<DenseProblem> out;
    out.reserve(size);
    for (Index i = 0; i < size; ++i)
      out.push_back({matrix(P, i), vector(q, i), matrix(C, i), vector(d, i), matrix(A, i),
                     vector(b, i)});
    return out;
  }
};

DenseBatch dense_batch(const Array& P, const Array& q, const Array& C, const Array& d,
                       const Array& A, const Array& b, Index size) {
  return {param(P, 2, size, "P"), param(q, 1, size, "q"), param(C, 2, size, "C"),
          param(d, 1, size, "d"),  param(A, 2, size, "A"), param(b, 1, size, "b"), size};
}

using CSCList = std::vector<CSC>;

const CSC& pick(const CSCList& list, Index i, Index size, const char* name) {
  if (list.size() != 1 && static_cast<Index>(list.size()) != size)
    throw std::invalid_argument(std::string(name) + " must be a list of 1 or " +
                                std::to_string(size) + " CSC matrices");
  return list.size() == 1 ? list[0] : list[i];
}

std::vector<SparseProblem> sparse_problems(const CSCList& P, const Param& q, const CSCList& C,
                                           const Param& d, const CSCList& A, const Param& b,
                                           Index size) {
  // Shared matrices are viewed once, so the batch engine sees one matrix.
  std::vector<SparseProblem> out;
  out.reserve(size);
  for (Index i = 0; i < size; ++i)
    out.push_back({view_csc(pick(P, i, size, "P"), "P"), vector(q, i),
                   view_csc(pick(C, i, size, "C"), "C"), vector(d, i),
                   view_csc(pick(A, i, size, "A"), "A"), vector(b, i)});
  return out;
}

std::vector<const Solution*> warm_pointers(const std::optional<std::vector<const Solution*>>& warm) {
  return warm ? *warm : std::vector<const Solution*>{};
}

std::vector<Solution> copy_solutions(const std::vector<const Solution*>& solutions) {
  std::vector<Solution> out;
  out.reserve(solutions.size());
  for (const Solution* s : solutions) out.push_back(*s);
  return out;
}

// Rows of z, lam, mu stacked: (B, n), (B, p), (B, m).
nb::tuple stacked(std::vector<Solution>&& solutions, Index n, Index p, Index m) {
  const Index size = static_cast<Index>(solutions.size());
  RowMatrix Z(size, n), Lam(size, p), Mu(size, m);
  for (Index i = 0; i < size; ++i) {
    Z.row(i) = solutions[i].z.transpose();
    Lam.row(i) = solutions[i].lam.transpose();
    Mu.row(i) = solutions[i].mu.transpose();
  }
  return nb::make_tuple(nb::cast(std::move(solutions)), nb::cast(std::move(Z)),
                        nb::cast(std::move(Lam)), nb::cast(std::move(Mu)));
}

// Batched parameter: (B * rows, cols) stacked; shared: (rows, cols) summed.
template <class Get>
RowMatrix gather(std::size_t count, bool batched, Index rows, Index cols, Get&& get) {
  if (batched) {
    RowMatrix out(static_cast<Index>(count) * rows, cols);
    for (std::size_t i = 0; i < count; ++i) out.middleRows(i * rows, rows) = get(i);
    return out;
  }
  RowMatrix out = RowMatrix::Zero(rows, cols);
  for (std::size_t i = 0; i < count; ++i) out += get(i);
  return out;
}

// The gradient of one dense parameter, filled problem by problem from the
// workers: a batched parameter's rows in place, a shared one's per-problem
// terms kept for an ordered sum. Nothing at all when it is not wanted.
class GradientOutput {
 public:
  GradientOutput(const Param& param, Index count, bool wanted)
      : wanted_(wanted), batched_(param.batched), rows_(param.rows) {
    if (!wanted_) return;
    if (batched_) {
      stacked_.resize(count * param.rows, param.cols);
    } else {
      terms_.resize(count);
      sum_ = RowMatrix::Zero(param.rows, param.cols);
    }
  }
  template <class Block>
  void put(Index i, const Block& gradient) {
    if (!wanted_) return;
    if (batched_)
      stacked_.middleRows(i * rows_, rows_) = gradient;
    else
      terms_[i] = gradient;
  }
  std::optional<RowMatrix> result() {
    if (!wanted_) return std::nullopt;
    if (batched_) return std::move(stacked_);
    for (const RowMatrix& term : terms_) sum_ += term;
    return std::move(sum_);
  }

 private:
  bool wanted_, batched_;
  Index rows_;
  RowMatrix stacked_, sum_;
  std::vector<RowMatrix> terms_;
};

// Sparse values: a list of per-problem vectors, or one summed vector.
nb::object gather_values(const std::vector<SparseGradients>& g, bool batched,
                         Vector SparseGradients::*member, bool wanted) {
  if (!wanted) return nb::none();
  if (batched) {
    nb::list out;
    for (const auto& item : g) out.append(nb::cast(Vector(item.*member)));
    return std::move(out);
  }
  Vector total = Vector::Zero(g.empty() ? 0 : (g[0].*member).size());
  for (const auto& item : g) total += item.*member;
  return nb::cast(std::move(total));
}

}  // namespace

void expose_batch(nb::module_& m) {
  m.def("forward_dense_batch",
        [](const Layer& layer, const Array& P, const Array& q, const Array& C, const Array& d,
           const Array& A, const Array& b, Index size, int threads, bool share,
           std::optional<std::vector<const Solution*>> warm) {
          std::vector<Solution> solutions;
          Index n, p, m;
          {
            nb::gil_scoped_release release;
            const DenseBatch batch = dense_batch(P, q, C, d, A, b, size);
            n = batch.q.cols, p = batch.b.cols, m = batch.d.cols;
            solutions = forward_batch(layer, batch.problems(), {threads, share}, warm_pointers(warm));
          }
          return stacked(std::move(solutions), n, p, m);
        },
        nb::arg("layer"), nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"),
        nb::arg("b"), nb::arg("size"), nb::arg("threads") = 0, nb::arg("share") = true,
        nb::arg("warm") = nb::none(),
        "Solve a batch; returns (solutions, Z, Lam, Mu). Arrays with a leading batch axis are "
        "per problem, others shared.");

  m.def("backward_dense_batch",
        [](const Layer& layer, const Array& P, const Array& q, const Array& C, const Array& d,
           const Array& A, const Array& b, const std::vector<const Solution*>& solutions_in,
           const BatchRows& dz, const BatchRows& dlam, const BatchRows& dmu, int threads,
           const WantedFlags& wanted) {
          nb::gil_scoped_release release;
          const Index size = static_cast<Index>(solutions_in.size());
          const DenseBatch batch = dense_batch(P, q, C, d, A, b, size);
          // Batched parameters: each worker writes its problem's rows in place.
          // Shared ones: kept per problem and summed in batch order afterwards
          // (the same sum whatever the thread count).
          std::array<GradientOutput, 6> out = {
              GradientOutput(batch.P, size, wanted[0]), GradientOutput(batch.q, size, wanted[1]),
              GradientOutput(batch.C, size, wanted[2]), GradientOutput(batch.d, size, wanted[3]),
              GradientOutput(batch.A, size, wanted[4]), GradientOutput(batch.b, size, wanted[5])};
          backward_batch(layer, batch.problems(), solutions_in, dz, dlam, dmu,
                         {threads, false, selection(wanted)}, [&](Index i, DenseGradients&& g) {
                           out[0].put(i, g.P);
                           out[1].put(i, g.q.transpose());
                           out[2].put(i, g.C);
                           out[3].put(i, g.d.transpose());
                           out[4].put(i, g.A);
                           out[5].put(i, g.b.transpose());
                         });
          return std::make_tuple(out[0].result(), out[1].result(), out[2].result(),
                                 out[3].result(), out[4].result(), out[5].result());
        },
        nb::arg("layer"), nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"),
        nb::arg("b"), nb::arg("solutions"), nb::arg("dz"), nb::arg("dlam"), nb::arg("dmu"),
        nb::arg("threads") = 0, nb::arg("wanted") = kAllGradients,
        "Gradients (P, q, C, d, A, b): batched parameters stacked as (B*rows, cols), shared ones "
        "summed over the batch; wanted (six flags) picks those to compute, the others are None.");

  m.def("forward_sparse_batch",
        [](const Layer& layer, const CSCList& P, const Array& q, const CSCList& C, const Array& d,
           const CSCList& A, const Array& b, Index size, int threads, bool share,
           std::optional<std::vector<const Solution*>> warm) {
          std::vector<Solution> solutions;
          Index n, p, m;
          {
            nb::gil_scoped_release release;
            const Param qp = param(q, 1, size, "q"), dp = param(d, 1, size, "d"),
                        bp = param(b, 1, size, "b");
            n = qp.cols, p = bp.cols, m = dp.cols;
            solutions = forward_batch(layer, sparse_problems(P, qp, C, dp, A, bp, size),
                                      {threads, share}, warm_pointers(warm));
          }
          return stacked(std::move(solutions), n, p, m);
        },
        nb::arg("layer"), nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"),
        nb::arg("b"), nb::arg("size"), nb::arg("threads") = 0, nb::arg("share") = true,
        nb::arg("warm") = nb::none());

  m.def("backward_sparse_batch",
        [](const Layer& layer, const CSCList& P, const Array& q, const CSCList& C, const Array& d,
           const CSCList& A, const Array& b, const std::vector<const Solution*>& solutions_in,
           const BatchRows& dz, const BatchRows& dlam, const BatchRows& dmu, int threads,
           const WantedFlags& wanted) {
          const Index size = static_cast<Index>(solutions_in.size());
          std::vector<SparseGradients> g;
          Param qp, dp, bp;
          {
            nb::gil_scoped_release release;
            qp = param(q, 1, size, "q"), dp = param(d, 1, size, "d"), bp = param(b, 1, size, "b");
            g = backward_batch(layer, sparse_problems(P, qp, C, dp, A, bp, size),
                               copy_solutions(solutions_in), dz, dlam, dmu,
                               {threads, false, selection(wanted)});
          }
          const std::size_t count = g.size();
          auto rows = [&](const Param& prm, Vector SparseGradients::*member, bool want) -> nb::object {
            if (!want) return nb::none();
            return nb::cast(gather(count, prm.batched, 1, prm.cols,
                                   [&](std::size_t i) { return (g[i].*member).transpose(); }));
          };
          return nb::make_tuple(gather_values(g, P.size() > 1, &SparseGradients::P, wanted[0]),
                                rows(qp, &SparseGradients::q, wanted[1]),
                                gather_values(g, C.size() > 1, &SparseGradients::C, wanted[2]),
                                rows(dp, &SparseGradients::d, wanted[3]),
                                gather_values(g, A.size() > 1, &SparseGradients::A, wanted[4]),
                                rows(bp, &SparseGradients::b, wanted[5]));
        },
        nb::arg("layer"), nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"),
        nb::arg("b"), nb::arg("solutions"), nb::arg("dz"), nb::arg("dlam"), nb::arg("dmu"),
        nb::arg("threads") = 0, nb::arg("wanted") = kAllGradients);
}

}  // namespace dqp::python
