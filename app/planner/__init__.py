"""The taper planner (issue #16): a clinician's page to adjust the card's taper, and the
patient's handout. Pure rendering over app/taper and app/cards/taper; routes in routes.py."""
