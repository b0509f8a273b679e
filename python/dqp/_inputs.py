"""Parsing the layer's inputs: shapes, batching, storage, dtype and device.

Every parameter may carry a leading batch dimension or not; unbatched ones are
shared by every problem of the batch (broadcast, never copied). Errors name
the argument and say what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from ._sparse import CSCPattern, is_sparse_tensor, split_sparse_tensor

MATRICES = ("P", "C", "A")
NAMES = ("P", "q", "C", "d", "A", "b")


@dataclass
class Spec:
    """What the autograd function needs to know besides the tensors."""

    sparse: bool
    batch: Optional[int]            # None: a single, unbatched problem
    n: int
    m: int
    p: int
    batched: dict = field(default_factory=dict)    # name -> bool
    patterns: dict = field(default_factory=dict)   # sparse matrix name -> CSCPattern or list of them
    counts: dict = field(default_factory=dict)     # name -> number of tensors it contributes

    @property
    def size(self) -> int:
        return 1 if self.batch is None else self.batch


@dataclass
class Parsed:
    spec: Spec
    tensors: list                   # flat list of float64 CPU tensors, in NAMES order
    dtype: torch.dtype
    device: torch.device


def _describe(x) -> str:
    if isinstance(x, (list, tuple)):
        return f"a list of {len(x)}"
    if isinstance(x, torch.Tensor):
        return f"shape {tuple(x.shape)}"
    return type(x).__name__


def _as_tensor(x, name: str, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    try:
        return torch.as_tensor(x, dtype=dtype)
    except Exception as error:
        raise TypeError(f"{name} must be a torch tensor or an array-like of numbers, got "
                        f"{type(x).__name__} ({error})") from None


def _is_batch_list(x) -> bool:
    """A list or tuple of tensors is a batch; any other list is array data."""
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(t, torch.Tensor) for t in x)


ACCEPTED_LAYOUTS = (torch.strided, torch.sparse_coo, torch.sparse_csr, torch.sparse_csc)


def _check_kind(x, name: str) -> None:
    """Layouts and devices dqp cannot read get a message naming the argument."""
    if not isinstance(x, torch.Tensor):
        return
    if x.layout not in ACCEPTED_LAYOUTS:
        raise TypeError(f"{name} has layout {x.layout}; dqp accepts dense (strided) tensors and sparse COO, "
                        f"CSR or CSC tensors (e.g. {name.split('[')[0]}.to_sparse_csc() or .to_dense())")
    if x.device.type == "meta":
        raise ValueError(f"{name} is a meta tensor, which holds no values to solve with; pass a CPU (or CUDA) "
                         "tensor")
    if x.is_complex():
        raise TypeError(f"{name} is complex ({x.dtype}); dqp solves real QPs in float32 or float64")


def parse(P, q, C, d, A, b, solve_type: Optional[str]) -> Parsed:
    """Check and canonicalize inputs; ``solve_type`` None infers it from P."""
    if P is None or q is None:
        raise ValueError("P and q are required")
    if (C is None) != (d is None):
        raise ValueError("C and d must be given together (or both omitted)")
    if (A is None) != (b is None):
        raise ValueError("A and b must be given together (or both omitted)")
    raw = {"P": P, "q": q, "C": C, "d": d, "A": A, "b": b}
    # Array-likes (numpy, nested lists) take the dtype of the tensors given.
    like = next((x.dtype for x in (q, P, d, C, b, A) if isinstance(x, torch.Tensor) and x.is_floating_point()),
                torch.float64)
    for name, x in raw.items():
        if isinstance(x, (list, tuple)) and len(x) == 0:
            raise ValueError(f"{name} is an empty list; a batch needs at least one problem")
        if name in ("q", "d", "b") and is_sparse_tensor(x):
            raise ValueError(f"{name} must be a dense tensor, got a {x.layout} sparse tensor "
                             f"(use {name}.to_dense())")
        for label, item in ([(f"{name}[{i}]", t) for i, t in enumerate(x)] if _is_batch_list(x) else [(name, x)]):
            _check_kind(item, label)
    for name in NAMES:
        x = raw[name]
        if x is not None and name in ("q", "d", "b") and _is_batch_list(x):
            try:
                raw[name] = torch.stack(list(x))
            except RuntimeError as error:
                raise ValueError(f"{name}: a list of vectors must hold equal shapes ({error})") from None
        elif x is not None and not _is_batch_list(x) and not is_sparse_tensor(x):
            raw[name] = _as_tensor(x, name, like)

    sparse = _storage(raw, solve_type)
    if sparse and torch._C._functorch.maybe_current_level() is not None:
        raise NotImplementedError(
            "dqp: sparse matrices inside torch.func transforms (grad, vjp, jacrev, jacfwd, jvp, vmap, hessian) "
            "are not supported: torch.func cannot read torch's sparse tensors. With sparse matrices use "
            "torch.autograd (backward, create_graph=True, torch.autograd.functional.hessian) or the dual "
            "tensors of torch.autograd.forward_ad; or pass the matrices dense")
    reference = raw["q"]
    dtype, device = reference.dtype, reference.device
    _check_dtypes_devices(raw, dtype, device)

    n = _matrix_cols(raw["P"], "P")
    shapes = {"P": n}
    m = _matrix_rows(raw["C"], "C") if raw["C"] is not None else 0
    p = _matrix_rows(raw["A"], "A") if raw["A"] is not None else 0
    shapes.update(C=m, A=p)
    lengths = {"q": n, "d": m, "b": p}

    spec = Spec(sparse=sparse, batch=None, n=n, m=m, p=p)
    sizes = {}
    for name in MATRICES:
        size = _matrix_batch(raw[name], name, sparse)
        if size is not None:
            sizes[name] = size
    vectors = {}
    for name, k in lengths.items():
        vector, size = _vector(raw[name], k, name)
        vectors[name] = vector
        if size is not None:
            sizes[name] = size
    if sizes:
        distinct = set(sizes.values())
        if len(distinct) > 1:
            listing = ", ".join(f"{name} has {size}" for name, size in sizes.items())
            raise ValueError(f"inconsistent batch sizes: {listing}")
        spec.batch = distinct.pop()

    tensors = []
    for name in NAMES:
        spec.batched[name] = name in sizes
        if name in MATRICES:
            items = _matrix_tensors(raw[name], name, sparse, spec, n, shapes[name])
        else:
            items = [vectors[name]]
        spec.counts[name] = len(items)
        tensors.extend(t.to(device="cpu", dtype=torch.float64).contiguous() for t in items)
    return Parsed(spec, tensors, dtype, device)


def _storage(raw: dict, solve_type: Optional[str]) -> bool:
    def sparse_like(x):
        if isinstance(x, (list, tuple)):
            return bool(x) and all(is_sparse_tensor(item) for item in x)
        return is_sparse_tensor(x)

    kinds = {name: sparse_like(raw[name]) for name in MATRICES if raw[name] is not None}
    sparse = kinds["P"]
    for name, kind in kinds.items():
        if kind != sparse:
            raise ValueError(f"{name} is {'sparse' if kind else 'dense'} but P is {'sparse' if sparse else 'dense'}: "
                             "P, C and A must share one storage")
    if solve_type == "sparse" and not sparse:
        raise ValueError("solve_type='sparse' but P is dense: pass torch sparse tensors (e.g. "
                         "P.to_sparse_csc()) for P, C and A, or set solve_type='dense'")
    if solve_type == "dense" and sparse:
        raise ValueError("P is a torch sparse tensor but solve_type='dense': set solve_type='sparse' "
                         "(dQP.build_settings(solve_type='sparse')) or pass dense tensors (P.to_dense())")
    return sparse


def _all_tensors(raw: dict):
    for name, x in raw.items():
        if isinstance(x, (list, tuple)):
            for i, item in enumerate(x):
                yield f"{name}[{i}]", item
        elif x is not None:
            yield name, x


def _check_dtypes_devices(raw: dict, dtype, device) -> None:
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"q must be float32 or float64, got {dtype}")
    for name, x in _all_tensors(raw):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch tensor, got {type(x).__name__}")
        if x.dtype != dtype:
            raise TypeError(f"{name} has dtype {x.dtype} but q has {dtype}: all inputs must share one dtype")
        if x.device != device:
            raise ValueError(f"{name} is on {x.device} but q is on {device}: all inputs must share one device")


def _first(x):
    return x[0] if isinstance(x, (list, tuple)) else x


def _matrix_cols(x, name: str) -> int:
    first = _first(x)
    if first.dim() not in (2, 3):
        raise ValueError(f"{name} must be 2-D (or 3-D with a batch dimension), got {_describe(first)}")
    if first.shape[-1] != first.shape[-2]:
        raise ValueError(f"P must be square, got {_describe(first)}")
    return int(first.shape[-1])


def _matrix_rows(x, name: str) -> int:
    first = _first(x)
    if first.dim() not in (2, 3):
        raise ValueError(f"{name} must be 2-D (or 3-D with a batch dimension), got {_describe(first)}")
    return int(first.shape[-2])


def _matrix_batch(x, name: str, sparse: bool) -> Optional[int]:
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            raise ValueError(f"{name} is an empty list")
        return len(x)
    if sparse:
        if x.dim() != 2:
            raise ValueError(f"{name}: batches of sparse matrices are passed as a list, got {_describe(x)}")
        return None
    return int(x.shape[0]) if x.dim() == 3 else None


def _vector(x, k: int, name: str):
    """(tensor of shape (k,) or (B, k), batch size or None).

    The batch rule: a 2-D vector is (batch, k), whatever the batch size, so a
    batch of one keeps its axis. A column (k, 1) with k > 1 could be one
    problem or k problems of size 1: an error, not a guess.
    """
    if x is None:
        return torch.zeros(k, dtype=torch.float64), None
    shape = tuple(x.shape)
    if x.dim() == 1 and shape[0] == k:
        return x, None
    if x.dim() == 2 and shape[1] == k:
        return x, shape[0]
    if x.dim() == 2 and shape == (k, 1):
        raise ValueError(f"{name} has shape {shape}, a column: pass shape ({k},) for one problem or "
                         f"(batch, {k}) for a batch (e.g. {name}.reshape(-1) or {name}.mT)")
    if x.dim() == 3 and shape[1:] == (k, 1):
        return x.reshape(shape[0], k), shape[0]
    raise ValueError(f"{name} must have shape ({k},) or (batch, {k}) to match the matrices, got {shape}")


def _matrix_tensors(x, name: str, sparse: bool, spec: Spec, n: int, rows: int) -> list:
    if x is None:
        if sparse:
            spec.patterns[name] = CSCPattern.empty(n)
        return [torch.zeros(0 if sparse else (0, n), dtype=torch.float64)]
    items = list(x) if isinstance(x, (list, tuple)) else [x]
    tensors, patterns = [], []
    for i, item in enumerate(items):
        label = f"{name}[{i}]" if isinstance(x, (list, tuple)) else name
        shape = tuple(item.shape[-2:])
        if shape != (rows, n):
            raise ValueError(f"{label} must have shape ({rows}, {n}), got {tuple(item.shape)}")
        if sparse:
            pattern, values = split_sparse_tensor(item, label)
            patterns.append(pattern)
            tensors.append(values)
        else:
            tensors.append(item)
    if sparse:
        spec.patterns[name] = patterns if isinstance(x, (list, tuple)) else patterns[0]
    elif isinstance(x, (list, tuple)):
        tensors = [torch.stack(tensors)]
    return tensors
