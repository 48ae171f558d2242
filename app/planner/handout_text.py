"""What the patient's handout says, in plain words, each statement with its source beside it.

Aimed at a reading age of about 12 (tests/planner/test_readability.py measures it with
textstat). ``{drug}`` and ``{visit}`` are filled in per plan; nothing else varies.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES: dict[str, str] = {
    "ASAM2025": "ASAM 2025 Joint Clinical Practice Guideline on Benzodiazepine Tapering "
    "(J Gen Intern Med; doi:10.1007/s11606-025-09499-2)",
    "POTTIE2018": "Pottie et al. 2018, deprescribing benzodiazepine receptor agonists "
    "(Can Fam Physician 64:339-351) and the deprescribing.org BZRA algorithm",
    "FDA2020": "FDA 2020 boxed warning for all benzodiazepines",
    "FDA2016": "FDA 2016 boxed warning: opioids with benzodiazepines",
    "CDC2022": "CDC 2022 opioid prescribing guideline, recommendation 11",
    "ACP2016": "American College of Physicians 2016: CBT-I first for chronic insomnia",
    "AASM2021": "American Academy of Sleep Medicine 2021: behavioral treatments for insomnia",
    "EMPOWER": "EMPOWER brochure (Tannenbaum et al., JAMA Intern Med 2014), deprescribing.org",
    "VA": "US Department of Veterans Affairs: CBT-i Coach app (free)",
    "988": "988 Suicide & Crisis Lifeline (SAMHSA)",
}


@dataclass(frozen=True)
class Statement:
    text: str
    source: str  # a key of SOURCES

    def render(self, **values: str) -> str:
        return self.text.format(**values)


@dataclass(frozen=True)
class Section:
    heading: str
    statements: tuple[Statement, ...]
    kind: str = "text"  # "text" paragraphs or "list" bullets


S = Statement

WHY = Section(
    "Why we lower the dose slowly",
    (
        # ASAM 2025 (news release and Table 2): nearly everyone who takes a benzodiazepine
        # regularly for more than a month becomes physically dependent.
        S("You have taken {drug} for a long time, so your body has got used to it.", "ASAM2025"),
        # FDA 2020: dependence "can occur when benzodiazepines are taken steadily ... even as
        # prescribed"; ASAM 2025: only about 1.5% develop a use disorder.
        S(
            "This is called dependence. It is the way the body adapts to the medicine. It is not a "
            "weakness, and it is not the same as addiction.",
            "FDA2020",
        ),
        # FDA 2020 boxed warning; ASAM 2025 rec. 2: avoid stopping abruptly.
        S(
            "Stopping all at once can be dangerous. Going down a little at a time is safer.",
            "FDA2020",
        ),
        # Pottie 2018: expected benefits of tapering (alertness, cognition, fewer falls).
        S(
            "Many people feel more awake and clear-headed once they are off it, and they fall "
            "less.",
            "POTTIE2018",
        ),
    ),
)

EXPECT = Section(
    "What to expect",
    (
        # Pottie 2018: withdrawal symptoms (insomnia, anxiety, irritability, sweating, GI upset).
        S(
            "As the dose goes down, you may sleep badly or feel worried or tense for a while. You "
            "may "
            "also sweat, feel cross, or have an upset stomach.",
            "POTTIE2018",
        ),
        # CDC 2022 rec. 11 ("rebound anxiety") and ASAM 2025 (withdrawal can mimic the condition).
        S(
            "These feelings can seem like the problem you first took the medicine for. Most often "
            "they are your body getting used to less medicine. They do not mean the old problem is "
            "back.",
            "CDC2022",
        ),
        # Pottie 2018: symptoms are usually mild and last days to a few weeks.
        S(
            "They are most often mild. They usually pass in a few days to a few weeks.",
            "POTTIE2018",
        ),
        # ASAM 2025 rec. 8-9: tailor the pace; slow or pause when symptoms appear.
        S(
            "We can slow the plan down at any time. Going slower is fine. What matters is that you "
            "keep going.",
            "ASAM2025",
        ),
    ),
)

FLARE = Section(
    "If sleep or worry gets worse",
    (
        # Pottie 2018 algorithm: hold the dose 1-2 weeks, then continue more slowly.
        S(
            "Stay on the dose you take now for 1 or 2 more weeks. Then go on more slowly. Call us "
            "and we will change the dates.",
            "POTTIE2018",
        ),
        # ASAM 2025 rec. 4: shared decisions; changes go through the prescriber.
        S("Do not take extra tablets or go back up on your own. Talk to us first.", "ASAM2025"),
        # Pottie 2018 behavioral sleep advice; AASM 2021 stimulus control.
        S("Get up at the same time every day, even after a bad night.", "AASM2021"),
        S(
            "Go to bed only when you feel sleepy. If you are awake for more than about 20 minutes, "
            "get up and do something calm. Go back to bed when you feel sleepy.",
            "AASM2021",
        ),
        S(
            "Have no coffee, tea or cola after lunch. Do not nap in the day. Keep active in the "
            "day.",
            "POTTIE2018",
        ),
    ),
    kind="list",
)

CALL = Section(
    "When to call",
    (
        # Pottie 2018 (reassess after 1-2 weeks); ASAM 2025 rec. 8-9 (check at each step).
        S(
            "Call the clinic if the symptoms are hard to live with, or are not getting better "
            "after "
            "2 weeks.",
            "POTTIE2018",
        ),
        # FDA 2020 boxed warning (seizures); CDC 2022 rec. 11 (hallucinations, delirium).
        S(
            "Call 911 or go to the emergency room if you have a seizure (a fit), feel very "
            "confused, "
            "or see or hear things that are not there.",
            "FDA2020",
        ),
        S("If you have thoughts of hurting yourself, call or text 988 at any time.", "988"),
        # FDA 2016 boxed warning; CDC 2022 rec. 11: opioids, alcohol and sedatives together.
        S(
            "Do not drink alcohol or take other sleep pills or opioid pain pills unless your "
            "doctor "
            "says so. Together they can slow your breathing.",
            "FDA2016",
        ),
    ),
    kind="list",
)

VISIT = Section(
    "Your next visit",
    (
        # ASAM 2025 rec. 1 and 8: review the plan and check for withdrawal at each step.
        S(
            "See us by {visit}. We will ask how you feel and change the pace if you need it.",
            "ASAM2025",
        ),
    ),
)

HELP = Section(
    "Help that works",
    (
        # ACP 2016 and AASM 2021: CBT-I is the first treatment for long-term insomnia.
        S(
            "A talking therapy for sleep, called CBT-I, is the first treatment doctors advise for "
            "long-term sleep problems.",
            "ACP2016",
        ),
        # ASAM 2025 rec. 10: offer CBT or CBT-I during the taper.
        S(
            "Ask us about CBT-I, or about CBT for worry. You can do it with a therapist, in a "
            "group, "
            "or online.",
            "ASAM2025",
        ),
        S("CBT-i Coach is a free phone app for sleep.", "VA"),
        S(
            "The leaflet You May Be at Risk at deprescribing.org tells the stories of people who "
            "stopped.",
            "EMPOWER",
        ),
    ),
    kind="list",
)

SECTIONS: tuple[Section, ...] = (WHY, EXPECT, FLARE, CALL, VISIT, HELP)

SWITCH = S(
    "First you change from {old} to {drug}, a medicine that lasts longer in the body. "
    "This makes the steps smoother. Tell us if you feel too sleepy or shaky in the "
    "first 2 weeks.",
    "ASAM2025",
)  # ASAM 2025 rec. 7 (and 'guidance only' equivalence)
STOP_ROW = S("Stop. You have finished the plan.", "ASAM2025")
NOW_ROW = S("Keep taking your usual dose.", "ASAM2025")


def used_sources() -> list[str]:
    """Source keys in the order they first appear in the handout."""
    keys: list[str] = []
    for statement in (SWITCH, *(s for sec in SECTIONS for s in sec.statements)):
        if statement.source not in keys:
            keys.append(statement.source)
    return keys
