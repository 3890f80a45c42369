"""What the demo's marketer, reps and manager write: notes, qualification, next steps, reasons.

Each function fills its phrases from the lead and its account, so that the notes on
one handoff agree with the context the rep sees beside them.
"""

from __future__ import annotations

import datetime as dt
import random

from handoff.models import OutcomeReason, RejectReason
from leads.demo.catalog import PRODUCT_LINES
from leads.models import Lead

SEND_NOTES = (
    "Asked for pricing on {quantity} units at the booth; please call this week.",
    "Downloaded the {model} CAD model twice; the design review is next month.",
    "Came through the distributor; they want a direct technical contact.",
    "Attended the webinar and asked about lead times for the {model}.",
    "Replacing pneumatic axes; wants a quote before the budget round closes.",
)

CONFIRMED_NEEDS = (
    "Replacing {quantity} pneumatic axes with {product} on the {process} line; budget approved.",
    "New {process} cell for a customer programme starting next quarter; needs {product}.",
    "Unplanned downtime on the {process} line; evaluating {product} as a retrofit.",
    "Capacity expansion at the {city} site; {quantity} {product} in the first phase.",
)
PROCESS_FITS = (
    "{process} with {technology}; the {model} fits their cycle times.",
    "Runs {process} in three shifts; our {model} matches the duty cycle.",
    "{process} line already uses our competitor's drives; {model} is a drop-in replacement.",
)
TECHNICAL_REQUIREMENTS = (
    "IP69K washdown rating and food-grade lubricant.",
    "EtherCAT, 48 V supply, positioning repeatability of 0.02 mm.",
    "Cleanroom ISO class 7 and a documented material declaration.",
    "Retrofit into existing mounting holes; PROFINET interface.",
)
NEXT_STEPS = (
    "Site visit at the {city} plant with the plant engineering manager",
    "Technical call with our application engineer",
    "Send a quote for {quantity} {model}",
    "Pilot of the {model} on one line",
    "Demo at the Keller Motion lab",
)

REJECT_NOTES = {
    RejectReason.NOT_A_FIT: (
        "Job shop that buys used equipment; no budget for new {product}.",
        "They resell our products; passed to the channel team instead.",
        "{segment} plant without automated lines; nothing we sell fits.",
    ),
    RejectReason.NO_ACTIVE_NEED: (
        "Researching for a line planned in two years; no project yet.",
        "Collecting catalogues for the engineering library, no open project.",
        "Happy with the current supplier; asked us to stay in touch.",
    ),
    RejectReason.WRONG_CONTACT: (
        "{title} has no say in purchasing; asked for the plant engineering manager.",
        "Left the company last month; the e-mail bounces.",
        "Intern downloading CAD models for a thesis.",
    ),
    RejectReason.DUPLICATE: (
        "Same project already open with a colleague at {account}; merged into that opportunity.",
        "Second contact from the same buying team; the first is already an SQL.",
    ),
    RejectReason.BAD_TIMING: (
        "Budget frozen until the next fiscal year; call back in {month}.",
        "Plant shutdown for the rest of the quarter; revisit after it.",
        "Waiting for their customer's programme award before buying.",
    ),
}

OUTCOME_NOTES = {
    OutcomeReason.PRODUCT_FIT: "The {model} passed their pilot; first order of {quantity} units.",
    OutcomeReason.PRICE: "Beat the incumbent's price by a framework agreement over three years.",
    OutcomeReason.RELATIONSHIP: "Long-standing contact from the previous plant; ordered directly.",
    OutcomeReason.SERVICE_AND_SUPPORT: "Won on the local service team and next-day spare parts.",
    OutcomeReason.LOST_TO_COMPETITOR: "Chose a competitor's integrated drive package.",
    OutcomeReason.NO_BUDGET: "The budget moved to another plant's project.",
    OutcomeReason.NO_DECISION: "The project stalled after the plant manager left.",
    OutcomeReason.PRODUCT_GAP: "Needed a stroke length we do not offer.",
    OutcomeReason.TOO_EXPENSIVE: "Our quote was 20 % above the budget; they stayed pneumatic.",
    OutcomeReason.TIMING: "They needed delivery in four weeks; our lead time was ten.",
}

WITHDRAW_NOTES = (
    "The contact asked to go through their distributor first; back to nurture in marketing.",
    "Sent too early: the webinar follow-up sequence has not finished yet.",
)
REASSIGN_NOTE = "{rep} is out of office until {until:%Y-%m-%d}; moving the handoff on."


def _fields(lead: Lead, rng: random.Random) -> dict[str, str]:
    interest = next(iter(lead.interests or []), "linear_actuators")
    account = lead.account
    processes = list(account.processes or []) if account else []
    technologies = list(account.technologies or []) if account else []
    return {
        "product": interest.replace("_", " "),
        "model": rng.choice(PRODUCT_LINES.get(interest, PRODUCT_LINES["linear_actuators"])),
        "quantity": str(rng.choice((4, 6, 12, 20, 40))),
        "process": (rng.choice(processes) if processes else "assembly").replace("_", " "),
        "technology": (rng.choice(technologies) if technologies else "erp").upper(),
        "city": (account.city if account else lead.city) or "main",
        "segment": _sentence(((account.segment if account else "") or "their").replace("_", " ")),
        "account": account.name if account else lead.company_name or "the account",
        "title": lead.job_title or "The contact",
    }


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def send_note(lead: Lead, rng: random.Random) -> str:
    return rng.choice(SEND_NOTES).format(**_fields(lead, rng))


def qualification(lead: Lead, rng: random.Random, *, technical: bool) -> dict[str, str]:
    fields = _fields(lead, rng)
    values = {
        "confirmed_need": rng.choice(CONFIRMED_NEEDS).format(**fields),
        "process_fit": _sentence(rng.choice(PROCESS_FITS).format(**fields)),
    }
    if technical:
        values["technical_requirements"] = rng.choice(TECHNICAL_REQUIREMENTS)
    return values


def next_step(lead: Lead, rng: random.Random) -> str:
    return rng.choice(NEXT_STEPS).format(**_fields(lead, rng))


def reject_note(lead: Lead, reason: str, rng: random.Random, *, today: dt.date) -> str:
    month = (today + dt.timedelta(days=rng.choice((60, 90, 120)))).strftime("%B")
    return rng.choice(REJECT_NOTES[RejectReason(reason)]).format(**_fields(lead, rng), month=month)


def outcome_note(lead: Lead, reason: str, rng: random.Random) -> str:
    return OUTCOME_NOTES[OutcomeReason(reason)].format(**_fields(lead, rng))


def withdraw_note(rng: random.Random) -> str:
    return rng.choice(WITHDRAW_NOTES)


def reassign_note(rep_name: str, until: dt.date) -> str:
    return REASSIGN_NOTE.format(rep=rep_name, until=until)
