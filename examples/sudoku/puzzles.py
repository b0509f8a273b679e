"""A deterministic, seeded Sudoku generator with OptNet's one-hot encoding.

A board of size n has N = n² rows, columns and digits. A complete board is a
shuffled base pattern (digits relabelled, rows shuffled within bands, bands
shuffled, the same for columns and stacks, optionally transposed), which keeps
every row, column and box a permutation. Cells are then removed in a random
order, each one only if the puzzle keeps a unique solution (checked by a
bitmask backtracking solver), so the target of every puzzle is well defined.

One-hot: a board becomes an (N, N, N) array, entry [r, c, k] = 1 when cell
(r, c) holds digit k + 1; an empty cell of a puzzle is all zeros.
"""
from __future__ import annotations

import numpy as np


def complete_board(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random complete board of size n: an (N, N) array of digits 1 … N."""
    N = n * n
    rows = [band * n + r for band in rng.permutation(n) for r in rng.permutation(n)]
    cols = [stack * n + c for stack in rng.permutation(n) for c in rng.permutation(n)]
    digits = rng.permutation(N) + 1
    base = lambda r, c: (n * (r % n) + r // n + c) % N  # noqa: E731 - the classic valid pattern
    board = np.array([[digits[base(r, c)] for c in cols] for r in rows], dtype=np.int64)
    return board.T.copy() if rng.random() < 0.5 else board


def count_solutions(puzzle: np.ndarray, n: int, limit: int = 2) -> int:
    """Number of completions of `puzzle` (0 = empty cell), counting stops at `limit`."""
    N = n * n
    full = (1 << N) - 1
    row_used, col_used, box_used = [0] * N, [0] * N, [0] * N
    empty = []
    for r in range(N):
        for c in range(N):
            v = int(puzzle[r, c])
            if v:
                bit = 1 << (v - 1)
                row_used[r] |= bit
                col_used[c] |= bit
                box_used[(r // n) * n + c // n] |= bit
            else:
                empty.append((r, c, (r // n) * n + c // n))

    def search(remaining: list) -> int:
        if not remaining:
            return 1
        # The most constrained cell first keeps the search small.
        best, best_free, best_count = 0, 0, N + 1
        for i, (r, c, b) in enumerate(remaining):
            free = full & ~(row_used[r] | col_used[c] | box_used[b])
            count = bin(free).count("1")
            if count < best_count:
                best, best_free, best_count = i, free, count
                if count <= 1:
                    break
        if best_count == 0:
            return 0
        r, c, b = remaining[best]
        rest = remaining[:best] + remaining[best + 1:]
        found = 0
        free = best_free
        while free and found < limit:
            bit = free & -free
            free ^= bit
            row_used[r] |= bit
            col_used[c] |= bit
            box_used[b] |= bit
            found += search(rest)
            row_used[r] ^= bit
            col_used[c] ^= bit
            box_used[b] ^= bit
        return found

    return search(empty)


def make_puzzle(n: int, rng: np.random.Generator, min_clues: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(puzzle, solution) as (N, N) digit arrays; the puzzle (0 = empty) has a unique solution."""
    solution = complete_board(n, rng)
    puzzle = solution.copy()
    N = n * n
    clues = N * N
    for cell in rng.permutation(N * N):
        if clues <= min_clues:
            break
        r, c = divmod(int(cell), N)
        kept = puzzle[r, c]
        puzzle[r, c] = 0
        if count_solutions(puzzle, n) != 1:
            puzzle[r, c] = kept
        else:
            clues -= 1
    return puzzle, solution


def one_hot(boards: np.ndarray, n: int) -> np.ndarray:
    """(B, N, N) digit boards (0 = empty) → (B, N, N, N) float one-hot arrays."""
    N = n * n
    encoded = np.zeros(boards.shape + (N,), dtype=np.float64)
    filled = boards > 0
    encoded[filled, boards[filled] - 1] = 1.0
    return encoded


def dataset(n: int, count: int, seed: int, min_clues: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` (puzzle, solution) pairs, one-hot (count, N, N, N), the same for the same seed."""
    rng = np.random.default_rng(seed)
    pairs = [make_puzzle(n, rng, min_clues) for _ in range(count)]
    puzzles = np.stack([p for p, _ in pairs])
    solutions = np.stack([s for _, s in pairs])
    return one_hot(puzzles, n), one_hot(solutions, n)


def is_valid_solution(board: np.ndarray, n: int) -> bool:
    """Every row, column and box of an (N, N) digit board is a permutation of 1 … N."""
    N = n * n
    target = set(range(1, N + 1))
    groups = [board[r, :] for r in range(N)] + [board[:, c] for c in range(N)]
    groups += [board[r:r + n, c:c + n].ravel() for r in range(0, N, n) for c in range(0, N, n)]
    return all(set(group.tolist()) == target for group in groups)
