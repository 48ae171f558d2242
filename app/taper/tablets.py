"""Which doses real tablets can make, and which tablets make each dose of a plan."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import combinations

from app.taper.constants import MAX_PIECES_PER_DAY
from app.taper.model import Administration, Piece, Product

Cost = tuple[int, int]  # (pieces, split pieces): fewer pieces first, then fewer splits


def _grid(pieces: Iterable[Piece]) -> Fraction:
    """The largest step every piece is a whole multiple of."""
    sizes = [p.mg for p in pieces]
    num = math.gcd(*(s.numerator for s in sizes))
    den = math.lcm(*(s.denominator for s in sizes))
    return Fraction(num, den)


@dataclass(frozen=True, slots=True)
class Doses:
    """The daily doses a set of pieces can make, up to a ceiling, with their cheapest make-up."""

    grid: Fraction
    best: tuple[tuple[Cost, tuple[Piece, ...]] | None, ...]  # index k: dose k * grid

    @classmethod
    def build(cls, pieces: Sequence[Piece], ceiling: Fraction) -> Doses:
        grid = _grid(pieces)
        top = math.floor(ceiling / grid)
        # The search runs on each piece's rank in Piece order: ints compare in C where Pieces
        # compare Fractions in Python (most of a plan's cost), and ties break the same way.
        ordered = sorted(set(pieces))
        rank = {piece: index for index, piece in enumerate(ordered)}
        sized = [(rank[p], int(p.mg / grid), p.parts > 1) for p in pieces]
        best: list[tuple[Cost, tuple[int, ...]] | None] = [((0, 0), ())] + [None] * top
        for k in range(1, top + 1):
            options = []
            for index, size, split in sized:
                prev = best[k - size] if size <= k else None
                if prev is not None:
                    (count, splits), used = prev
                    options.append(
                        ((count + 1, splits + split), tuple(sorted((*used, index), reverse=True)))
                    )
            best[k] = min(options, default=None)
        return cls(
            grid,
            tuple(
                None if found is None else (found[0], tuple(ordered[i] for i in found[1]))
                for found in best
            ),
        )

    def makes(self, dose: Fraction) -> bool:
        k = dose / self.grid
        return (
            k.denominator == 1
            and 0 <= k.numerator < len(self.best)
            and self.best[k.numerator] is not None
        )

    def pieces_for(self, dose: Fraction) -> tuple[Piece, ...] | None:
        if not self.makes(dose):
            return None
        found = self.best[int(dose / self.grid)]
        return found[1] if found else None


def all_pieces(prod: Product) -> tuple[Piece, ...]:
    out = {Piece(s.mg, parts) for s in prod.strengths for parts in (1, 2, 4) if parts <= s.parts}
    return tuple(sorted(out, key=lambda p: (p.mg, p.parts)))


def smallest_unit(prod: Product) -> Fraction:
    return min(p.mg for p in all_pieces(prod))


def _split_times(dose: Fraction, grid: Fraction, n: int) -> list[Fraction]:
    """``dose`` in ``n`` near-equal parts on the grid; the larger parts go to the later times."""
    units = int(dose / grid)
    base, extra = divmod(units, n)
    return [(base + (1 if i >= n - extra else 0)) * grid for i in range(n)]


def _group(pieces: Iterable[Piece]) -> tuple[tuple[Piece, int], ...]:
    counts: dict[Piece, int] = {}
    for piece in pieces:
        counts[piece] = counts.get(piece, 0) + 1
    return tuple(sorted(counts.items(), key=lambda item: (-item[0].strength_mg, item[0].parts)))


def _strength_sets(prod: Product) -> list[tuple[Fraction, ...]]:
    mgs = [s.mg for s in prod.strengths]
    return [combo for size in range(1, len(mgs) + 1) for combo in combinations(mgs, size)]


def choose_tablets(
    prod: Product,
    doses: Sequence[Fraction],
    times: Sequence[str],
    prefer_mg: Fraction | None = None,
) -> dict[Fraction, tuple[Administration, ...]]:
    """How to take each dose with the fewest strengths over the whole plan (pharmacy-friendly)."""
    return dict(_choose(prod, tuple(sorted({d for d in doses if d > 0})), tuple(times), prefer_mg))


@lru_cache(maxsize=1024)
def _choose(
    prod: Product, wanted: tuple[Fraction, ...], times: tuple[str, ...], prefer_mg: Fraction | None
) -> tuple[tuple[Fraction, tuple[Administration, ...]], ...]:
    """Cached body of choose_tablets (plans repeat across requests: same drug, same doses).

    Among strength sets that make every dose, prefer at most MAX_PIECES_PER_DAY pieces a day
    (or, when no set keeps under it, the fewest pieces), then fewer strengths, the order's own
    strength, fewer pieces a day, fewer split pieces.
    """
    if not wanted:
        return ()
    ceiling = max(wanted)
    slots = list(times) if times else [None]
    best_key: tuple[int, ...] | None = None
    best: dict[Fraction, tuple[Administration, ...]] = {}
    for chosen in _strength_sets(prod):
        allowed = [p for p in all_pieces(prod) if p.strength_mg in chosen]
        table = Doses.build(allowed, ceiling)
        step = min(p.mg for p in allowed)
        plan: dict[Fraction, tuple[Administration, ...]] = {}
        for dose in wanted:
            on_step = (dose / step).denominator == 1
            parts = (
                _split_times(dose, step if on_step else table.grid, len(slots))
                if table.makes(dose)
                else []
            )
            made = [table.pieces_for(p) for p in parts] if parts else []
            if len(slots) > 1 and (
                not made or any(m is None for m in made) or any(p == 0 for p in parts)
            ):
                parts, made = [dose], [table.pieces_for(dose)]
                timed: list[str | None] = [None]
            else:
                timed = list(slots)
            if not made or any(m is None for m in made):
                break
            plan[dose] = tuple(
                Administration(when, part, _group(m or ()))
                for when, part, m in zip(timed, parts, made, strict=True)
            )
        else:
            per_day = [sum(c for a in admins for _, c in a.pieces) for admins in plan.values()]
            splits = sum(
                c for admins in plan.values() for a in admins for p, c in a.pieces if p.parts > 1
            )
            over = max(per_day) > MAX_PIECES_PER_DAY
            # Past the cap (high doses), fewer pieces matter more than fewer strengths: 54 mg of
            # diazepam is 5 x 10 mg + 2 x 2 mg, never 27 x 2 mg.
            key = (
                int(over),
                max(per_day) if over else 0,
                len(chosen),
                int(prefer_mg is not None and prefer_mg not in chosen),
                max(per_day),
                splits,
                sum(per_day),
            )
            if best_key is None or key < best_key:
                best_key, best = key, plan
    return tuple(best.items())
