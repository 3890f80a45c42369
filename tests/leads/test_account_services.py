"""Account services: domain rules, lead linking and the leads they mark stale."""

import pytest

from leads import services
from leads.errors import AccountDomainTaken, AccountNotFound, InvalidAccountData
from leads.models import Account
from leads.services import (
    account_create,
    account_link_leads,
    account_update,
    clean_account_domain,
)
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("precision-parts.example", "precision-parts.example"),
        ("WWW.Precision-Parts.Example", "precision-parts.example"),
        ("https://www.precision-parts.example/contact?x=1", "precision-parts.example"),
        ("sales@precision-parts.example", "precision-parts.example"),
        ("plant2.precision-parts.co.uk", "plant2.precision-parts.co.uk"),
        ("", None),
        (None, None),
    ],
)
def test_clean_account_domain_normalises(value, domain):
    assert clean_account_domain(value) == domain


@pytest.mark.parametrize(
    "value", ["not a domain", "localhost", "http://[broken", "-bad-.example", "gmail.com"]
)
def test_clean_account_domain_rejects(value):
    with pytest.raises(InvalidAccountData) as raised:
        clean_account_domain(value)

    assert list(raised.value.extra["fields"]) == ["domain"]


def test_create_returns_linked_lead_ids():
    first = LeadFactory(email="a@cast-works.example", account=None)
    second = LeadFactory(email="b@cast-works.example", account=None)

    account, linked = account_create(fields={"name": "Cast Works", "domain": "cast-works.example"})

    assert linked == [first.pk, second.pk]
    assert set(account.leads.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_create_lost_race_for_domain_is_conflict(monkeypatch):
    AccountFactory(domain="cast-works.example")
    # The check passes as if the other account was inserted just after it; the index decides.
    monkeypatch.setattr(services, "_check_domain_free", lambda domain, account_id: None)

    with pytest.raises(AccountDomainTaken):
        account_create(fields={"name": "Cast Works", "domain": "cast-works.example"})

    assert Account.objects.count() == 1


def test_create_rejects_unknown_field():
    with pytest.raises(InvalidAccountData) as raised:
        account_create(fields={"name": "X", "lead_count": 3})

    assert raised.value.extra["fields"] == {"lead_count": ["Unknown account field."]}
    assert Account.objects.count() == 0


def test_update_country_derives_region():
    account = AccountFactory(country="Germany", region="europe")

    account, _ = account_update(account_id=account.pk, fields={"country": "Japan"})

    account.refresh_from_db()
    assert account.region == "asia_pacific"


def test_update_unknown_account_not_found():
    with pytest.raises(AccountNotFound):
        account_update(account_id=999999, fields={"name": "X"})


def test_update_same_domain_links_nothing():
    account = AccountFactory(domain="cast-works.example")
    lead = LeadFactory(email="a@cast-works.example", account=None)

    _, linked = account_update(account_id=account.pk, fields={"domain": "cast-works.example"})

    assert linked == []
    lead.refresh_from_db()
    assert lead.account is None


def test_link_leads_unknown_account_not_found():
    with pytest.raises(AccountNotFound):
        account_link_leads(account_id=999999)
