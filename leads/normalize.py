"""Normalisation of the values leads and accounts arrive with: e-mails, domains, titles, countries."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings

# Providers whose addresses say nothing about the employer; such leads never link to an account.
FREE_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "gmail.com",
        "googlemail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "hotmail.com",
        "hotmail.co.uk",
        "icloud.com",
        "live.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "rediffmail.com",
        "web.de",
        "yahoo.com",
        "yahoo.co.in",
        "yahoo.co.uk",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
        "163.com",
        "126.com",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "libero.it",
    }
)


def normalize_email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


def email_domain(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    return email.rsplit("@", 1)[1].strip().lower()


def is_free_mail(domain: str) -> bool:
    domain = domain.lower()
    return domain in FREE_MAIL_DOMAINS or domain in settings.FREE_MAIL_DOMAINS_EXTRA


def normalize_domain(value: str | None) -> str | None:
    """Reduce a URL, e-mail address or host to a bare lower-case host, without "www."."""
    value = (value or "").strip().lower()
    if not value:
        return None
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    if "//" not in value:
        value = "//" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        # urlsplit rejects malformed IPv6 brackets such as "name@[example"; no host to link.
        return None
    host = host.strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None


# Ordered: the first pattern that matches a title wins.
_SENIORITY_PATTERNS: list[tuple[str, str]] = [
    ("c_level", r"\b(ceo|cto|coo|cfo|cio|chief|president|owner|founder|managing director)\b"),
    ("vp", r"\b(vp|vice president|svp|evp)\b"),
    ("director", r"\b(director|head of)\b"),
    ("manager", r"\b(manager|lead|supervisor|superintendent)\b"),
    ("student", r"\b(student|intern|trainee|apprentice)\b"),
    ("individual", r"."),
]
_FUNCTION_PATTERNS: list[tuple[str, str]] = [
    ("student", r"\b(student|intern|graduate|phd candidate)\b"),
    ("executive", r"\b(ceo|coo|president|owner|founder|managing director|general manager)\b"),
    ("engineering", r"\b(engineer|engineering|r&d|design|cto|technical|mechanical|electrical)\b"),
    ("operations", r"\b(operations|plant|production|manufacturing|maintenance|facility)\b"),
    ("quality", r"\b(quality|qa|qc|compliance|regulatory)\b"),
    ("procurement", r"\b(procurement|purchasing|buyer|sourcing|supply chain)\b"),
    ("it", r"\b(it|information|cio|systems|software|data)\b"),
    ("finance", r"\b(finance|cfo|controller|accountant|accounting)\b"),
    ("sales", r"\b(sales|account executive|business development)\b"),
    ("marketing", r"\b(marketing|brand|communications)\b"),
    ("hr", r"\b(hr|human resources|recruiter|talent)\b"),
]


def derive_seniority(title: str) -> str:
    title = title.strip().lower()
    if not title:
        return ""
    for seniority, pattern in _SENIORITY_PATTERNS:
        if re.search(pattern, title):
            return seniority
    return ""


def derive_job_function(title: str) -> str:
    title = title.strip().lower()
    if not title:
        return ""
    for function, pattern in _FUNCTION_PATTERNS:
        if re.search(pattern, title):
            return function
    return "other"


REGION_BY_COUNTRY: dict[str, str] = {}
_REGIONS = {
    "north_america": ["united states", "usa", "us", "canada", "mexico"],
    "latin_america": ["brazil", "argentina", "chile", "colombia", "peru"],
    "europe": [
        "germany",
        "france",
        "united kingdom",
        "uk",
        "italy",
        "spain",
        "netherlands",
        "belgium",
        "poland",
        "sweden",
        "switzerland",
        "austria",
        "czech republic",
        "denmark",
        "finland",
        "norway",
        "ireland",
        "portugal",
        "hungary",
        "romania",
    ],
    "middle_east_africa": [
        "united arab emirates",
        "saudi arabia",
        "qatar",
        "kuwait",
        "oman",
        "bahrain",
        "israel",
        "turkey",
        "south africa",
        "nigeria",
        "kenya",
        "egypt",
        "ghana",
        "uganda",
        "tanzania",
        "liberia",
    ],
    "asia_pacific": [
        "india",
        "china",
        "japan",
        "south korea",
        "singapore",
        "australia",
        "new zealand",
        "indonesia",
        "malaysia",
        "thailand",
        "vietnam",
        "philippines",
        "philipines",
        "hong kong",
        "taiwan",
        "bangladesh",
        "sri lanka",
        "pakistan",
        "asia/pacific region",
        "jordan",
    ],
}
for _region, _countries in _REGIONS.items():
    for _country in _countries:
        REGION_BY_COUNTRY[_country] = _region


def region_for_country(country: str) -> str:
    return REGION_BY_COUNTRY.get(country.strip().lower(), "")


EMPLOYEE_BANDS = [
    (0, 49, "1-49"),
    (50, 249, "50-249"),
    (250, 999, "250-999"),
    (1000, 4999, "1000-4999"),
]
REVENUE_BANDS_USD = [
    (0, 9_999_999, "<10M"),
    (10_000_000, 49_999_999, "10M-50M"),
    (50_000_000, 249_999_999, "50M-250M"),
    (250_000_000, 999_999_999, "250M-1B"),
]


def employee_band(count: int | None) -> str:
    if count is None:
        return ""
    for low, high, label in EMPLOYEE_BANDS:
        if low <= count <= high:
            return label
    return "5000+"


def revenue_band(revenue_usd: int | None) -> str:
    if revenue_usd is None:
        return ""
    for low, high, label in REVENUE_BANDS_USD:
        if low <= revenue_usd <= high:
            return label
    return "1B+"
