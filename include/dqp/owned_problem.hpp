// Problems that own their data: for problems built in loops, kept in
// containers or made from data a view cannot take in place (column-major
// or float matrices, expressions, other sparse index types). Each copies
// (and converts) its arguments once, on construction; view() is then free.
//
//   std::vector<dqp::DenseQP> owned;
//   for (...) owned.emplace_back(P, q, C, d, A, b);   // any Eigen dense data
//   std::vector<dqp::DenseProblem> problems;
//   for (const auto& qp : owned) problems.push_back(qp.view());
//
// A view points into the owner: it is valid while the owner lives and is
// not moved (a std::vector that grows moves its elements: take the views
// after the last push_back).
#pragma once

#include "dqp/problem.hpp"

namespace dqp {

struct DenseQP {
  RowMatrix P;
  Vector q;
  RowMatrix C;
  Vector d;
  RowMatrix A;
  Vector b;

  DenseQP() = default;
  // Any Eigen dense matrices and vectors, of any storage order and scalar
  // type; C and A may have zero rows.
  template <class MP, class VQ, class MC, class VD, class MA, class VB>
  DenseQP(const Eigen::DenseBase<MP>& P_, const Eigen::DenseBase<VQ>& q_,
          const Eigen::DenseBase<MC>& C_, const Eigen::DenseBase<VD>& d_,
          const Eigen::DenseBase<MA>& A_, const Eigen::DenseBase<VB>& b_)
      : P(P_.derived().template cast<double>()),
        q(q_.derived().template cast<double>()),
        C(C_.derived().template cast<double>()),
        d(d_.derived().template cast<double>()),
        A(A_.derived().template cast<double>()),
        b(b_.derived().template cast<double>()) {}

  // The view of the data held here; not of a temporary DenseQP.
  DenseProblem view() const& { return {P, q, C, d, A, b}; }
  DenseProblem view() && = delete;

  Index n() const { return q.size(); }
  Index m() const { return d.size(); }
  Index p() const { return b.size(); }
};

struct SparseQP {
  SparseMatrix P;
  Vector q;
  SparseMatrix C;
  Vector d;
  SparseMatrix A;
  Vector b;

  SparseQP() = default;
  // Any Eigen sparse matrices (32- or 64-bit indices, either storage order,
  // any scalar type), converted into compressed 64-bit CSC; any Eigen dense
  // vectors. Duplicate entries are not merged: build the matrices from
  // triplets (setFromTriplets sums them).
  template <class MP, class VQ, class MC, class VD, class MA, class VB>
  SparseQP(const Eigen::SparseMatrixBase<MP>& P_, const Eigen::DenseBase<VQ>& q_,
           const Eigen::SparseMatrixBase<MC>& C_, const Eigen::DenseBase<VD>& d_,
           const Eigen::SparseMatrixBase<MA>& A_, const Eigen::DenseBase<VB>& b_)
      : P(P_.derived().template cast<double>()),
        q(q_.derived().template cast<double>()),
        C(C_.derived().template cast<double>()),
        d(d_.derived().template cast<double>()),
        A(A_.derived().template cast<double>()),
        b(b_.derived().template cast<double>()) {
    P.makeCompressed();
    C.makeCompressed();
    A.makeCompressed();
  }

  SparseProblem view() const& {
    return {SparseView::of(P), q, SparseView::of(C), d, SparseView::of(A), b};
  }
  SparseProblem view() && = delete;

  Index n() const { return q.size(); }
  Index m() const { return d.size(); }
  Index p() const { return b.size(); }
};

}  // namespace dqp
