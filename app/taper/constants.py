"""The clinical numbers of the taper engine, each with its source.

ASAM 2025 = Joint Clinical Practice Guideline on Benzodiazepine Tapering (Brunner et al.,
J Gen Intern Med 2025, doi:10.1007/s11606-025-09499-2). Pottie 2018 = deprescribing.org BZRA
guideline and algorithm (Can Fam Physician 2018;64:339-351).
"""

from __future__ import annotations

from fractions import Fraction

from app.taper.model import Pace

# ASAM 2025 rec. 6: "typically not more than 25% every 2 weeks", applied to the current dose
# and to every step including the last ones (Pottie 2018: ~25% every two weeks at most).
MAX_REDUCTION = Fraction(1, 4)
MAX_REDUCTION_WEEKS = 2

# ASAM 2025 rec. 6: initial reductions of 5-10%. The first step is held to this band whenever one
# dispensable unit is at most MAX_REDUCTION of today's dose.
FIRST_REDUCTION_MIN = Fraction(1, 20)
FIRST_REDUCTION_MAX = MAX_REDUCTION

# ASAM 2025 rec. 6: "5-10% every 2-4 weeks". Each pace is (share of the starting dose per step,
# weeks between steps): standard = 10% every 2 weeks, slower = 10% every 4 weeks. A fixed share
# of the starting dose (not of the current one) ends the taper; the 25% cap slows the tail.
PACES: dict[Pace, tuple[Fraction, int]] = {
    Pace.STANDARD: (Fraction(1, 10), 2),
    Pace.SLOWER: (Fraction(1, 10), 4),
}

# Today's dose counts as held for 2 weeks before the first step: the card fires only on use of
# 4 weeks or more (ASAM 2025 Table 2: >= 1 month), and the planner asks for a dose in steady use.
CREDITED_WEEKS = 2

# After a switch (ER to IR, or to a long-acting benzodiazepine) the new dose is held for one
# standard interval (ASAM 2025 rec. 6: 2 weeks at least) before the first reduction, so sedation
# or withdrawal from an approximate equivalence can be adjusted first (ASAM 2025 rec. 7-9).
SWITCH_HOLD_WEEKS = 2

# ASAM 2025 rec. 7: "consider switching to a comparable dose of a longer-acting benzodiazepine";
# diazepam (2 mg scored tablets: 1 mg steps) is the default target, clonazepam the alternative.
LONG_ACTING_TARGETS = ("diazepam", "clonazepam")

# Diazepam equivalents in the terminology are "mg of the drug ~ 10 mg oral diazepam" (ASAM 2025
# Table 8, VA/DoD 2021 column; Ashton where VA/DoD has none).
DIAZEPAM_REFERENCE_MG = 10

# Not clinical: a plan that needs more pieces a day than this is not practical to dispense; the
# tablet chooser prefers strength sets that stay under it.
MAX_PIECES_PER_DAY = 6
# Not clinical: a guard against runaway plans; no real taper at these paces needs more steps.
MAX_STEPS = 80
