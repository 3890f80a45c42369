"""Generation of the demo data set: accounts, leads and six months of engagement from a fixed seed.

The same seed and `now` give the same data. Each lead follows one of four
behaviours. Most are cold: a few old page views and e-mails. Some are warm:
product pages, downloads and webinars. A minority is hot: pricing pages, CAD
models and recent quote, demo or sample requests. Students browse careers
pages and download CAD models without any intent to buy.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from leadflow.db import refresh_planner_statistics
from leads.demo import catalog
from leads.demo.catalog import Country, Segment
from leads.models import Account, EngagementEvent, EventKind, Lead, LeadStatus, StatusChange
from leads.normalize import derive_job_function, derive_seniority, region_for_country

DEMO_SOURCE_SYSTEM = "leadflow-demo"
# Marks demo accounts in custom_attributes, so that a reset deletes only them.
DEMO_ACCOUNT_MARK = "demo_seed"
DEFAULT_SEED = 1912
HISTORY_DAYS = 182

BEHAVIOURS = ("cold", "warm", "hot", "student")
# Relative number of events per behaviour, before per-lead noise.
BEHAVIOUR_ACTIVITY = {"cold": 1.0, "warm": 3.5, "hot": 9.0, "student": 2.5}
# Chance of each behaviour, by title profile.
BEHAVIOUR_ODDS = {
    "buyer": {"cold": 52, "warm": 34, "hot": 14},
    "influencer": {"cold": 64, "warm": 30, "hot": 6},
    "outsider": {"cold": 83, "warm": 15, "hot": 2},
    "student": {"student": 100},
}
EVENT_KINDS = {
    "cold": {
        "page_view": 40,
        "website_visit": 15,
        "email_open": 22,
        "email_click": 6,
        "content_download": 7,
        "spec_sheet_download": 2,
        "webinar_attended": 2,
        "form_submit": 2,
        "chat": 1,
        "unsubscribe": 1,
    },
    "warm": {
        "page_view": 30,
        "website_visit": 10,
        "email_open": 12,
        "email_click": 10,
        "content_download": 10,
        "spec_sheet_download": 8,
        "cad_download": 6,
        "webinar_attended": 6,
        "trade_show_visit": 3,
        "form_submit": 3,
        "chat": 2,
    },
    "hot": {
        "page_view": 30,
        "website_visit": 8,
        "email_click": 8,
        "email_open": 6,
        "spec_sheet_download": 12,
        "cad_download": 12,
        "webinar_attended": 5,
        "trade_show_visit": 5,
        "form_submit": 4,
        "chat": 4,
        "phone_call": 2,
    },
    "student": {
        "page_view": 40,
        "cad_download": 20,
        "content_download": 15,
        "website_visit": 10,
        "webinar_attended": 8,
        "email_open": 5,
        "form_submit": 2,
    },
}
INTENT_KINDS = {
    "quote_request": 5,
    "demo_request": 4,
    "sample_request": 3,
    "meeting_request": 3,
    "technical_consultation": 3,
}
PAGE_TYPES = {
    "cold": {"blog": 45, "product": 30, "home": 15, "careers": 10},
    "warm": {"product": 45, "blog": 20, "case_study": 15, "pricing": 10, "cad_library": 10},
    "hot": {"pricing": 30, "product": 40, "case_study": 15, "cad_library": 10, "contact": 5},
    "student": {"careers": 40, "blog": 30, "product": 20, "cad_library": 10},
}
# Product lines each segment looks at first.
SEGMENT_PRODUCTS = {
    "automotive": ("servo_drives", "robot_grippers", "linear_actuators"),
    "aerospace_defence": ("linear_actuators", "machine_vision", "gearboxes"),
    "medical_devices": ("linear_actuators", "machine_vision", "robot_grippers"),
    "food_beverage": ("linear_actuators", "machine_vision"),
    "chemicals": ("linear_actuators", "gearboxes"),
    "plastics_rubber": ("robot_grippers", "servo_drives"),
    "metal_fabrication": ("servo_drives", "gearboxes", "robot_grippers"),
    "electronics": ("machine_vision", "robot_grippers", "linear_actuators"),
    "industrial_machinery": ("servo_drives", "gearboxes", "linear_actuators"),
    "packaging": ("machine_vision", "servo_drives", "linear_actuators"),
    "energy": ("gearboxes", "servo_drives"),
    "pharmaceuticals": ("machine_vision", "linear_actuators"),
}
FREE_MAIL_SHARE = {"buyer": 0.08, "influencer": 0.12, "outsider": 0.2, "student": 0.75}


@dataclass
class DemoSummary:
    accounts: int = 0
    leads: int = 0
    events: int = 0


@dataclass
class _PlannedLead:
    lead: Lead
    behaviour: str
    country: Country
    segment: Segment | None
    products: list[str]
    events: list[EngagementEvent] = field(default_factory=list)


def demo_data_generate(
    *,
    accounts: int = 300,
    leads: int = 2000,
    events: int = 20_000,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    account_owners: list[User] | None = None,
) -> DemoSummary:
    """Insert the demo accounts, leads and events with bulk queries and return their counts.

    `account_owners` are sales users; some large accounts get one as owner.
    The caller runs this in a transaction.
    """
    generator = _Generator(random.Random(seed), now or timezone.now(), seed)

    account_rows = generator.accounts(accounts, account_owners or [])
    Account.objects.bulk_create(account_rows)
    generator.link_subsidiaries(account_rows)

    planned = [generator.lead(index, account_rows) for index in range(leads)]
    for plan, count in zip(planned, generator.event_counts(planned, events), strict=True):
        plan.events = generator.events(plan, count)
        generator.finish_lead(plan)
    Lead.objects.bulk_create([plan.lead for plan in planned])

    event_rows = []
    for plan in planned:
        for event in plan.events:
            event.lead_id = plan.lead.pk
            event_rows.append(event)
    EngagementEvent.objects.bulk_create(event_rows, batch_size=2000)

    # created_at is auto_now_add, so the backdated value is written after the insert.
    for plan in planned:
        plan.lead.created_at = generator.created_at(plan)
    Lead.objects.bulk_update([plan.lead for plan in planned], ["created_at"], batch_size=500)

    refresh_planner_statistics(Account, Lead, EngagementEvent)
    return DemoSummary(accounts=len(account_rows), leads=len(planned), events=len(event_rows))


class _Generator:
    def __init__(self, rng: random.Random, now: datetime, seed: int):
        self.rng = rng
        self.now = now
        self.seed = seed
        self.used_domains: set[str] = set()
        self.used_emails: set[str] = set()
        self.trade_shows = self._trade_show_dates()
        self.used_names: set[str] = set()
        self.webinars = [
            (
                title,
                (now - timedelta(days=days)).replace(hour=15, minute=0, second=0, microsecond=0),
            )
            for title, days in zip(catalog.WEBINARS, (18, 52, 97, 141), strict=True)
        ]

    # Accounts

    def accounts(self, count: int, owners: list[User]) -> list[Account]:
        rows = []
        for _ in range(count):
            segment = self._weighted(catalog.SEGMENTS, [s.weight for s in catalog.SEGMENTS])
            country = self._weighted(catalog.COUNTRIES, [c.weight for c in catalog.COUNTRIES])
            facility = self._weighted(
                list(catalog.FACILITY_TYPES), [v[0] for v in catalog.FACILITY_TYPES.values()]
            )
            _, low, high = catalog.FACILITY_TYPES[facility]
            employees = round(math.exp(self.rng.uniform(math.log(low), math.log(high))))
            city = self.rng.choice(country.cities)
            name, domain_base = self._company_name(country, segment, city)

            account = Account(
                name=name,
                domain=self._unique_domain(domain_base, city),
                segment=segment.slug,
                facility_type=facility,
                country=country.name,
                region=region_for_country(country.name),
                city=city,
                employee_count=employees,
                annual_revenue_usd=round(
                    employees * segment.revenue_per_employee * self.rng.uniform(0.6, 1.5), -5
                ),
                processes=self._processes(segment, facility),
                technologies=self._technologies(employees),
                custom_attributes={DEMO_ACCOUNT_MARK: self.seed},
            )
            if (
                owners
                and (employees >= 1000 or facility == "headquarters")
                and self.rng.random() < 0.4
            ):
                account.owner = self.rng.choice(owners)
            rows.append(account)
        return rows

    def link_subsidiaries(self, accounts: list[Account]) -> None:
        """Make some plants and distribution centres part of a headquarters of their segment."""
        headquarters: dict[str, list[Account]] = {}
        for account in accounts:
            if account.facility_type == "headquarters":
                headquarters.setdefault(account.segment, []).append(account)
        subsidiaries = []
        for account in accounts:
            parents = headquarters.get(account.segment)
            if (
                parents
                and account.facility_type in ("plant", "distribution_centre")
                and self.rng.random() < 0.25
            ):
                account.parent = self.rng.choice(parents)
                subsidiaries.append(account)
        Account.objects.bulk_update(subsidiaries, ["parent"])

    def _processes(self, segment: Segment, facility: str) -> list[str]:
        if facility == "distribution_centre":
            return []
        if facility == "rd_lab":
            return sorted({"additive_manufacturing", self.rng.choice(segment.processes)})
        count = self.rng.randint(1, min(4, len(segment.processes)))
        return sorted(self.rng.sample(segment.processes, count))

    def _technologies(self, employees: int) -> list[str]:
        count = max(1, min(len(catalog.TECHNOLOGIES), round(math.log10(employees) * 1.6)))
        chosen: set[str] = set()
        while len(chosen) < count:
            chosen.add(self._weighted(catalog.TECHNOLOGIES, catalog.TECHNOLOGY_WEIGHTS))
        return sorted(chosen)

    def _company_name(self, country: Country, segment: Segment, city: str) -> tuple[str, str]:
        """Return an unused company name and the base of its domain, such as "Weber Plastics GmbH"."""
        founder, noun = "", ""
        for _ in range(20):
            founder = self.rng.choice(catalog.PEOPLE_NAMES[country.names][1])
            noun = self.rng.choice(segment.nouns)
            if f"{founder} {noun}" not in self.used_names:
                break
        else:
            noun = f"{noun} {city}"
        self.used_names.add(f"{founder} {noun}")
        return f"{founder} {noun} {self.rng.choice(country.legal_suffixes)}", f"{founder}-{noun}"

    def _unique_domain(self, base: str, city: str) -> str:
        for candidate in (base, f"{base}-{city}"):
            domain = f"{_slug(candidate)}.example"
            if domain not in self.used_domains:
                self.used_domains.add(domain)
                return domain
        number = 2
        while f"{_slug(base)}-{number}.example" in self.used_domains:
            number += 1
        domain = f"{_slug(base)}-{number}.example"
        self.used_domains.add(domain)
        return domain

    # Leads

    def lead(self, index: int, accounts: list[Account]) -> _PlannedLead:
        title, _, profile = self._weighted(catalog.TITLES, [t[1] for t in catalog.TITLES])
        behaviour = self._weighted(
            list(BEHAVIOUR_ODDS[profile]), list(BEHAVIOUR_ODDS[profile].values())
        )
        account: Account | None = None
        if self.rng.random() >= FREE_MAIL_SHARE[profile] and accounts:
            account = self._weighted(accounts, [math.sqrt(a.employee_count or 1) for a in accounts])

        if account is not None:
            country = next(c for c in catalog.COUNTRIES if c.name == account.country)
        else:
            country = self._weighted(catalog.COUNTRIES, [c.weight for c in catalog.COUNTRIES])
        segment = next((s for s in catalog.SEGMENTS if account and s.slug == account.segment), None)
        first_names, last_names = catalog.PEOPLE_NAMES[country.names]
        first_name, last_name = self.rng.choice(first_names), self.rng.choice(last_names)
        domain = account.domain if account else self.rng.choice(country.free_mail)
        source, medium, campaign = self._first_touch()

        lead = Lead(
            email=self._unique_email(first_name, last_name, domain or "example.com"),
            source_system=DEMO_SOURCE_SYSTEM,
            external_id=f"demo-{index + 1:05d}",
            first_name=first_name,
            last_name=last_name,
            job_title=title,
            job_function=derive_job_function(title),
            seniority=derive_seniority(title),
            phone=self._phone(country) if self.rng.random() < 0.6 else "",
            company_name=account.name if account else self._free_mail_company(profile, accounts),
            account=account,
            country=country.name,
            region=region_for_country(country.name),
            city=account.city if account else self.rng.choice(country.cities),
            first_touch_source=source,
            first_touch_medium=medium,
            first_touch_campaign=campaign,
            email_opt_out=self.rng.random() < 0.04,
            call_opt_out=self.rng.random() < 0.08,
            marketing_notes=self.rng.choice(catalog.MARKETING_NOTES)
            if behaviour == "hot" and self.rng.random() < 0.3
            else "",
        )
        focus = SEGMENT_PRODUCTS.get(segment.slug if segment else "", tuple(catalog.PRODUCT_LINES))
        products = self.rng.sample(focus, min(len(focus), self.rng.randint(1, 2)))
        return _PlannedLead(
            lead=lead, behaviour=behaviour, country=country, segment=segment, products=products
        )

    def _free_mail_company(self, profile: str, accounts: list[Account]) -> str:
        if profile == "student":
            return self.rng.choice(
                ("", "TU Munich", "Politecnico di Milano", "Georgia Tech", "IIT Madras")
            )
        if accounts and self.rng.random() < 0.5:
            return self.rng.choice(accounts).name
        return ""

    def _unique_email(self, first_name: str, last_name: str, domain: str) -> str:
        first, last = _slug(first_name, "."), _slug(last_name, "")
        local = self.rng.choice(
            (f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last[0]}", f"{last}.{first}")
        )
        email = f"{local}@{domain}"
        number = 2
        while email in self.used_emails:
            email = f"{local}{number}@{domain}"
            number += 1
        self.used_emails.add(email)
        return email

    def _phone(self, country: Country) -> str:
        if country.phone_prefix == "+1":
            # The North American Numbering Plan reserves 555-0100 to 555-0199 for fictional use.
            return f"+1 {self.rng.randint(200, 989)} 555 01{self.rng.randint(0, 99):02d}"
        digits = "".join(str(self.rng.randint(0, 9)) for _ in range(8))
        return f"{country.phone_prefix} {self.rng.randint(20, 89)} {digits}"

    def _first_touch(self) -> tuple[str, str, str]:
        source, medium, campaign, _ = self._weighted(
            catalog.FIRST_TOUCHES, [t[3] for t in catalog.FIRST_TOUCHES]
        )
        if source == "trade_show":
            campaign = self.rng.choice(self.trade_shows)[0]
        elif source == "webinar":
            campaign = f"Webinar: {self.rng.choice(self.webinars)[0]}"
        return source, medium, campaign

    def finish_lead(self, plan: _PlannedLead) -> None:
        """Derive interests and last touch from the lead's events."""
        viewed = Counter(
            event.properties["product_line"]
            for event in plan.events
            if "product_line" in event.properties
        )
        plan.lead.interests = sorted(product for product, count in viewed.items() if count >= 2)

        touches = [event for event in plan.events if event.campaign]
        if touches:
            last = max(touches, key=lambda event: event.occurred_at)
            plan.lead.last_touch_source, plan.lead.last_touch_medium = _touch_of(last.kind)
            plan.lead.last_touch_campaign = last.campaign
        else:
            plan.lead.last_touch_source = plan.lead.first_touch_source
            plan.lead.last_touch_medium = plan.lead.first_touch_medium
            plan.lead.last_touch_campaign = plan.lead.first_touch_campaign

    def created_at(self, plan: _PlannedLead) -> datetime:
        first = min((event.occurred_at for event in plan.events), default=self.now)
        return first - timedelta(hours=self.rng.uniform(0.1, 72))

    # Events

    def event_counts(self, plans: list[_PlannedLead], total: int) -> list[int]:
        """Split `total` events over the leads by behaviour; every lead gets one when there are enough."""
        if not plans:
            return []
        base = 1 if total >= len(plans) else 0
        weights = [
            BEHAVIOUR_ACTIVITY[plan.behaviour] * self.rng.lognormvariate(0, 0.4) for plan in plans
        ]
        remaining = total - base * len(plans)
        shares = [remaining * weight / sum(weights) for weight in weights]
        counts = [base + math.floor(share) for share in shares]
        # Largest remainders first, so the counts add up to the total exactly.
        order = sorted(
            range(len(plans)), key=lambda i: shares[i] - math.floor(shares[i]), reverse=True
        )
        for index in order[: total - sum(counts)]:
            counts[index] += 1
        return counts

    def events(self, plan: _PlannedLead, count: int) -> list[EngagementEvent]:
        intent = 0
        if plan.behaviour == "hot":
            intent = min(count, self.rng.choice((1, 1, 2, 2, 3)))
        elif plan.behaviour == "warm" and self.rng.random() < 0.05:
            intent = min(count, 1)

        events = []
        for _ in range(intent):
            kind = self._weighted(list(INTENT_KINDS), list(INTENT_KINDS.values()))
            events.append(self._event(plan, kind, self._recent_time(days=35)))
        kinds = EVENT_KINDS[plan.behaviour]
        for _ in range(count - intent):
            kind = self._weighted(list(kinds), list(kinds.values()))
            if kind == "unsubscribe" and any(event.kind == "unsubscribe" for event in events):
                kind = "page_view"
            events.append(self._event(plan, kind, self._time(plan.behaviour)))
        for number, event in enumerate(events, start=1):
            event.external_id = f"demo-{self.seed}-{plan.lead.external_id}-{number:03d}"
        return events

    def _time(self, behaviour: str) -> datetime:
        if behaviour == "hot":
            days = 75 * self.rng.random() ** 1.6
        elif behaviour == "warm":
            days = 130 * self.rng.random()
        else:
            days = HISTORY_DAYS * self.rng.random() ** 0.6
        return self.now - timedelta(days=days)

    def _recent_time(self, *, days: int) -> datetime:
        return self.now - timedelta(days=days * self.rng.random())

    def _event(self, plan: _PlannedLead, kind: str, occurred_at: datetime) -> EngagementEvent:
        product = (
            self.rng.choice(plan.products)
            if self.rng.random() < 0.8
            else self.rng.choice(list(catalog.PRODUCT_LINES))
        )
        model = self.rng.choice(catalog.PRODUCT_LINES[product])
        product_path = f"{catalog.VENDOR_SITE}/products/{product.replace('_', '-')}/{_slug(model)}"
        url, asset, campaign = "", "", ""
        properties: dict[str, Any] = {}

        if kind == "page_view":
            url, page = self._page_url(plan.behaviour, product, model)
            properties = {"seconds_on_page": self.rng.randint(8, 420)}
            if page in ("product", "pricing", "cad_library"):
                properties["product_line"] = product
        elif kind == "website_visit":
            url = f"{catalog.VENDOR_SITE}/"
            properties = {
                "pages": self.rng.randint(1, 9),
                "seconds_on_site": self.rng.randint(20, 1500),
            }
        elif kind == "content_download":
            asset = self.rng.choice(catalog.WHITEPAPERS)
            url = f"{catalog.VENDOR_SITE}/resources/{_slug(asset)}"
        elif kind == "spec_sheet_download":
            asset = f"{model} spec sheet (PDF)"
            url = f"{catalog.VENDOR_SITE}/downloads/{_slug(model)}-spec-sheet.pdf"
            properties = {"product_line": product}
        elif kind == "cad_download":
            asset = f"{model} STEP model"
            url = f"{catalog.VENDOR_SITE}/cad-library/{_slug(model)}.step"
            properties = {
                "product_line": product,
                "format": self.rng.choice(("STEP", "IGES", "SolidWorks")),
            }
        elif kind == "webinar_attended":
            title, occurred_at = self.rng.choice(self.webinars)
            asset, campaign = title, f"Webinar: {title}"
            properties = {"minutes_attended": self.rng.randint(5, 60)}
        elif kind in ("email_open", "email_click", "unsubscribe"):
            campaign = self._email_campaign(occurred_at)
            if kind == "email_click" and self.rng.random() < 0.6:
                url = product_path
                properties = {"product_line": product}
            elif kind == "email_click":
                url = f"{catalog.VENDOR_SITE}/blog/{self.rng.choice(catalog.BLOG_POSTS)}"
        elif kind == "trade_show_visit":
            campaign, occurred_at = self.rng.choice(self.trade_shows)
            occurred_at += timedelta(hours=self.rng.uniform(0, 72))
            asset = f"Booth demo: {model}"
            properties = {"badge_scanned": True}
        elif kind == "form_submit":
            form = self.rng.choice(("contact", "newsletter", "download-gate"))
            url = f"{catalog.VENDOR_SITE}/{form}"
            properties = {"form": form}
        elif kind == "chat":
            url = product_path
            properties = {
                "topic": self.rng.choice(
                    ("lead time", "sizing", "pricing", "CAD formats", "distributor")
                )
            }
        elif kind == "phone_call":
            properties = {"direction": "inbound", "minutes": self.rng.randint(3, 40)}
        elif kind == "quote_request":
            url, asset = f"{catalog.VENDOR_SITE}/rfq", model
            properties = {
                "product_line": product,
                "quantity": self.rng.choice((2, 5, 10, 25, 50, 120)),
                "target_delivery_weeks": self.rng.randint(4, 26),
            }
        elif kind == "demo_request":
            url, asset = f"{catalog.VENDOR_SITE}/demo", model
            properties = {"product_line": product}
        elif kind == "sample_request":
            url, asset = f"{catalog.VENDOR_SITE}/samples", model
            properties = {"product_line": product}
        elif kind == "meeting_request":
            url = f"{catalog.VENDOR_SITE}/contact/sales"
            if self.rng.random() < 0.4:
                campaign = self.rng.choice(self.trade_shows)[0]
        elif kind == "technical_consultation":
            url, asset = (
                f"{catalog.VENDOR_SITE}/application-engineering",
                "Application engineering review",
            )
            properties = {
                "product_line": product,
                "topic": self.rng.choice(
                    ("washdown sizing", "duty cycle", "retrofit", "cleanroom class")
                ),
            }

        return EngagementEvent(
            kind=kind,
            url=url,
            asset=asset,
            campaign=campaign,
            occurred_at=min(occurred_at, self.now),
            properties=properties,
            source="demo",
        )

    def _page_url(self, behaviour: str, product: str, model: str) -> tuple[str, str]:
        page = self._weighted(list(PAGE_TYPES[behaviour]), list(PAGE_TYPES[behaviour].values()))
        site, category = catalog.VENDOR_SITE, product.replace("_", "-")
        urls = {
            "product": f"{site}/products/{category}/{_slug(model)}",
            "pricing": f"{site}/pricing/{category}",
            "cad_library": f"{site}/cad-library/{category}",
            "case_study": f"{site}/case-studies/{self.rng.choice(catalog.CASE_STUDIES)}",
            "blog": f"{site}/blog/{self.rng.choice(catalog.BLOG_POSTS)}",
            "careers": f"{site}/careers/{self.rng.choice(catalog.CAREERS)}",
            "contact": f"{site}/contact",
            "home": f"{site}/",
        }
        return urls[page], page

    def _email_campaign(self, occurred_at: datetime) -> str:
        name = self.rng.choice(catalog.EMAIL_CAMPAIGNS)
        return f"{name} {occurred_at:%Y-%m}" if name == "Newsletter" else name

    def _trade_show_dates(self) -> list[tuple[str, datetime]]:
        """Return each show's latest edition within the history window, named with its year."""
        shows = []
        for name, month in catalog.TRADE_SHOWS:
            year = self.now.year if month <= self.now.month else self.now.year - 1
            start = self.now.replace(
                year=year, month=month, day=12, hour=9, minute=0, second=0, microsecond=0
            )
            if start > self.now:
                start = start.replace(year=year - 1)
            if (self.now - start).days <= HISTORY_DAYS:
                shows.append((f"{name} {start.year}", start))
        if not shows:
            name, _ = catalog.TRADE_SHOWS[0]
            shows.append((f"{name} {self.now.year}", self.now - timedelta(days=30)))
        return shows

    def _weighted(self, items: Any, weights: Any) -> Any:
        return self.rng.choices(items, weights=weights, k=1)[0]


def _touch_of(kind: str) -> tuple[str, str]:
    if kind == EventKind.TRADE_SHOW_VISIT or kind == EventKind.MEETING_REQUEST:
        return "trade_show", "event"
    if kind == EventKind.WEBINAR_ATTENDED:
        return "webinar", "event"
    return "newsletter", "email"


def _slug(text: str, separator: str = "-") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", separator, ascii_text.lower()).strip(separator)


def demo_data_exists() -> bool:
    return Lead.objects.filter(source_system=DEMO_SOURCE_SYSTEM).exists()


def demo_data_delete() -> DemoSummary:
    """Delete the demo leads (with their events) and the demo accounts; other data stays."""
    leads = Lead.objects.filter(source_system=DEMO_SOURCE_SYSTEM)
    summary = DemoSummary(
        accounts=Account.objects.filter(custom_attributes__has_key=DEMO_ACCOUNT_MARK).count(),
        leads=leads.count(),
        events=EngagementEvent.objects.filter(lead__source_system=DEMO_SOURCE_SYSTEM).count(),
    )
    leads.delete()
    Account.objects.filter(custom_attributes__has_key=DEMO_ACCOUNT_MARK).delete()
    return summary


def demo_mql_dates_set(*, dates: dict[int, datetime]) -> int:
    """Date the move to MQL of each demo lead in `dates` at its time there; return the leads changed.

    Scoring moves the demo leads to MQL while `seed_demo` runs, so without this every demo
    MQL would date from that moment, after the handoffs the demo backdates. Only leads of the
    demo that are MQL now change: their latest status change to MQL and their
    `status_changed_at`. The audit trail is append-only for real use, so this bulk update
    is for generated data alone.
    """
    latest: dict[int, int] = {}
    for change_id, lead_id in (
        StatusChange.objects.filter(
            lead_id__in=list(dates),
            lead__source_system=DEMO_SOURCE_SYSTEM,
            lead__status=LeadStatus.MQL,
            to_status=LeadStatus.MQL,
        )
        .order_by("created_at", "id")
        .values_list("id", "lead_id")
    ):
        latest[lead_id] = change_id

    changes = [
        StatusChange(pk=change_id, created_at=dates[lead_id])
        for lead_id, change_id in latest.items()
    ]
    StatusChange.objects.bulk_update(changes, ["created_at"], batch_size=500)
    leads = [Lead(pk=lead_id, status_changed_at=dates[lead_id]) for lead_id in latest]
    Lead.objects.bulk_update(leads, ["status_changed_at"], batch_size=500)
    return len(latest)
