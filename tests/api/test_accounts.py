"""The account endpoints: list, detail, create, edit, lead linking and the account's leads."""

import pytest

from leads.models import Account, Lead, LeadStatus
from tests.factories import AccountFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounts/"


def ids(response):
    return [row["id"] for row in response.json()["results"]]


# List


def test_list_sorted_by_name_with_counts(marketer_api):
    beta = AccountFactory(name="Beta Castings")
    alpha = AccountFactory(name="Alpha Tooling")
    LeadFactory.create_batch(2, account=alpha)

    response = marketer_api.get(URL)

    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert ids(response) == [alpha.pk, beta.pk]
    assert [row["lead_count"] for row in response.json()["results"]] == [2, 0]


@pytest.mark.parametrize(
    ("query", "matching", "other"),
    [
        ("segment=aerospace", {"segment": "aerospace"}, {"segment": "automotive"}),
        ("region=asia", {"region": "asia"}, {"region": "europe"}),
        ("facility_type=rd_lab", {"facility_type": "rd_lab"}, {"facility_type": "plant"}),
        ("employees_min=1000", {"employee_count": 1000}, {"employee_count": 999}),
        ("employees_max=999", {"employee_count": 999}, {"employee_count": 1000}),
        ("revenue_min=50000000", {"annual_revenue_usd": 50_000_000}, {"annual_revenue_usd": 1}),
        ("revenue_max=1", {"annual_revenue_usd": 1}, {"annual_revenue_usd": 50_000_000}),
        (
            "domain=https://www.Cast-Works.example/about",
            {"domain": "cast-works.example"},
            {"domain": "other.example"},
        ),
        ("search=tooling", {"name": "Alpha Tooling"}, {"name": "Beta Castings"}),
        ("search=cast-works", {"domain": "cast-works.example"}, {"domain": "other.example"}),
    ],
)
def test_list_filters(marketer_api, query, matching, other):
    account = AccountFactory(**matching)
    AccountFactory(**other)

    response = marketer_api.get(f"{URL}?{query}")

    assert ids(response) == [account.pk]


def test_list_filter_owner(marketer_api, rep):
    owned = AccountFactory(owner=rep)
    AccountFactory(owner=None)

    response = marketer_api.get(f"{URL}?owner={rep.pk}")

    assert ids(response) == [owned.pk]


def test_list_ordering_by_lead_count(marketer_api):
    few = AccountFactory()
    many = AccountFactory()
    LeadFactory.create_batch(2, account=many)
    LeadFactory(account=few)

    response = marketer_api.get(f"{URL}?ordering=-lead_count")

    assert ids(response) == [many.pk, few.pk]


def test_list_queries_bounded(marketer_api, django_assert_max_num_queries):
    for account in AccountFactory.create_batch(15, owner=UserFactory(username="owner")):
        LeadFactory(account=account)

    # Token with user, the user's groups, the count, and the page with owners and lead counts.
    with django_assert_max_num_queries(4):
        response = marketer_api.get(f"{URL}?segment=automotive")

    assert response.json()["count"] == 15


# Detail


def test_detail_counts_and_roll_up(marketer_api, rep):
    account = AccountFactory(
        name="Precision Parts GmbH",
        domain="precision-parts.example",
        owner=rep,
        engagement_score=61.5,
        engaged_contacts=2,
    )
    LeadFactory.create_batch(2, account=account, status=LeadStatus.NEW)
    LeadFactory(account=account, status=LeadStatus.MQL)

    response = marketer_api.get(f"{URL}{account.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Precision Parts GmbH"
    assert body["domain"] == "precision-parts.example"
    assert body["owner"] == {"id": rep.pk, "username": "rep"}
    assert body["employee_band"] == "250-999"
    assert body["revenue_band"] == "50M-250M"
    assert body["engagement_score"] == 61.5
    assert body["engaged_contacts"] == 2
    assert body["lead_count"] == 3
    assert body["lead_counts"] == {
        "new": 2,
        "mql": 1,
        "sql": 0,
        "won": 0,
        "lost": 0,
        "nurture": 0,
        "disqualified": 0,
    }


def test_detail_unknown_account_not_found(marketer_api):
    response = marketer_api.get(f"{URL}999999/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "account_not_found",
        "message": "Account 999999 does not exist.",
        "fields": {},
    }


# Create


def test_create_normalises_domain_and_derives_region(marketer_api, rep):
    response = marketer_api.post(
        URL,
        {
            "name": "Cast Works",
            "domain": "https://WWW.Cast-Works.example/contact",
            "segment": "automotive",
            "country": "Germany",
            "employee_count": 1200,
            "processes": ["die_casting"],
            "owner": rep.pk,
        },
        format="json",
    )

    assert response.status_code == 201
    account = Account.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/accounts/{account.pk}/"
    assert response.json()["id"] == account.pk
    assert response.json()["lead_counts"]["new"] == 0
    assert account.domain == "cast-works.example"
    assert account.region == "europe"
    assert account.processes == ["die_casting"]
    assert account.owner == rep


def test_create_links_unlinked_leads_of_domain(marketer_api):
    unlinked = LeadFactory(email="dana@cast-works.example", account=None, score_stale=False)
    elsewhere = LeadFactory(email="lee@cast-works.example", account=AccountFactory())
    LeadFactory(email="sam@other.example", account=None)

    response = marketer_api.post(
        URL, {"name": "Cast Works", "domain": "cast-works.example"}, format="json"
    )

    account = Account.objects.get(domain="cast-works.example")
    assert response.json()["lead_count"] == 1
    unlinked.refresh_from_db()
    elsewhere.refresh_from_db()
    assert unlinked.account == account
    assert unlinked.score_stale is True
    assert elsewhere.account != account


def test_create_duplicate_domain_conflicts(marketer_api):
    existing = AccountFactory(domain="cast-works.example")

    response = marketer_api.post(
        URL, {"name": "Cast Works AG", "domain": "www.cast-works.example"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "code": "account_domain_taken",
        "message": f"Account {existing.pk} already has the domain cast-works.example; update "
        "that account instead.",
        "fields": {"domain": [f"Belongs to account {existing.pk}."]},
    }
    assert Account.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name": ["This field is required."]}),
        (
            {"name": "Freemail", "domain": "gmail.com"},
            {"domain": ["A free-mail domain cannot identify an account."]},
        ),
        (
            {"name": "Nowhere", "domain": "not a domain"},
            {"domain": ["Not a web domain, such as precision-parts.example."]},
        ),
        (
            {"name": "X", "employee_count": -1},
            {"employee_count": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"name": "X", "processes": [""]}, {"processes.0": ["This field may not be blank."]}),
        (
            {"name": "X", "parent": 999999},
            {"parent": ['Invalid pk "999999" - object does not exist.']},
        ),
        (
            {"name": "X", "lead_count": 3, "colour": "red"},
            {
                "colour": [
                    "Unknown field; put attributes of the source system in custom_attributes."
                ],
                "lead_count": ["Read-only; Leadflow sets it."],
            },
        ),
    ],
    ids=["no-name", "free-mail", "bad-domain", "negative", "blank-item", "parent", "unknown"],
)
def test_create_invalid_rejected(marketer_api, body, fields):
    response = marketer_api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == fields
    assert Account.objects.count() == 0


def test_create_nul_in_custom_attributes_rejected(marketer_api):
    response = marketer_api.post(
        URL, '{"name": "X", "custom_attributes": {"a": "\\u0000"}}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "custom_attributes": ["Contains a NUL character; remove it."]
    }
    assert Account.objects.count() == 0


# Edit


def test_edit_changes_given_fields_and_marks_leads_stale(marketer_api):
    account = AccountFactory(segment="automotive", city="Ulm")
    lead = LeadFactory(account=account, score_stale=False)

    response = marketer_api.patch(f"{URL}{account.pk}/", {"segment": "aerospace"}, format="json")

    assert response.status_code == 200
    assert response.json()["segment"] == "aerospace"
    account.refresh_from_db()
    lead.refresh_from_db()
    assert account.segment == "aerospace"
    assert account.city == "Ulm"
    assert lead.score_stale is True


def test_edit_of_unscored_field_leaves_scores(marketer_api):
    account = AccountFactory(name="Old Name")
    lead = LeadFactory(account=account, score_stale=False)

    marketer_api.patch(f"{URL}{account.pk}/", {"name": "New Name"}, format="json")

    lead.refresh_from_db()
    assert lead.score_stale is False


def test_edit_new_domain_links_its_leads(marketer_api):
    account = AccountFactory(domain="old.example")
    lead = LeadFactory(email="dana@new.example", account=None)

    response = marketer_api.patch(f"{URL}{account.pk}/", {"domain": "New.example"}, format="json")

    assert response.status_code == 200
    assert response.json()["domain"] == "new.example"
    lead.refresh_from_db()
    assert lead.account == account


def test_edit_duplicate_domain_conflicts(marketer_api):
    AccountFactory(domain="taken.example")
    account = AccountFactory(domain="mine.example", city="Ulm")

    response = marketer_api.patch(
        f"{URL}{account.pk}/", {"domain": "taken.example", "city": "Bonn"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "account_domain_taken"
    account.refresh_from_db()
    assert (account.domain, account.city) == ("mine.example", "Ulm")


def test_edit_subsidiary_as_parent_rejected(marketer_api):
    group = AccountFactory()
    plant = AccountFactory(parent=group)

    response = marketer_api.patch(f"{URL}{group.pk}/", {"parent": plant.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"parent": ["Would make the account its own parent."]}
    group.refresh_from_db()
    assert group.parent is None


def test_edit_without_fields_rejected(marketer_api):
    account = AccountFactory()

    response = marketer_api.patch(f"{URL}{account.pk}/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_account"


def test_edit_clears_domain(marketer_api):
    account = AccountFactory(domain="old.example")

    response = marketer_api.patch(f"{URL}{account.pk}/", {"domain": None}, format="json")

    assert response.status_code == 200
    account.refresh_from_db()
    assert account.domain is None


# Linking and the account's leads


def test_link_leads_links_unlinked_leads_of_domain(marketer_api):
    account = AccountFactory(domain="cast-works.example")
    first = LeadFactory(email="dana@cast-works.example", account=None, score_stale=False)
    second = LeadFactory(email="lee@cast-works.example", account=None)
    other_account = AccountFactory()
    kept = LeadFactory(email="sam@cast-works.example", account=other_account)
    LeadFactory(email="ann@sub.cast-works.example", account=None)
    LeadFactory(email=None, source_system="crm", external_id="C-1", account=None)

    response = marketer_api.post(f"{URL}{account.pk}/link-leads/")

    assert response.status_code == 200
    assert response.json() == {"linked": 2, "lead_ids": [first.pk, second.pk]}
    first.refresh_from_db()
    kept.refresh_from_db()
    assert first.account == account
    assert first.score_stale is True
    assert kept.account == other_account


def test_link_leads_again_links_nothing(marketer_api):
    account = AccountFactory(domain="cast-works.example")
    LeadFactory(email="dana@cast-works.example", account=None)
    marketer_api.post(f"{URL}{account.pk}/link-leads/")

    response = marketer_api.post(f"{URL}{account.pk}/link-leads/")

    assert response.json() == {"linked": 0, "lead_ids": []}


def test_link_leads_without_domain_links_nothing(marketer_api):
    account = AccountFactory(domain=None)
    lead = LeadFactory(email="dana@gmail.com", account=None)

    response = marketer_api.post(f"{URL}{account.pk}/link-leads/")

    assert response.json() == {"linked": 0, "lead_ids": []}
    lead.refresh_from_db()
    assert lead.account is None


def test_account_leads_listed_with_lead_filters(marketer_api):
    account = AccountFactory()
    mql = LeadFactory(account=account, status=LeadStatus.MQL)
    LeadFactory(account=account, status=LeadStatus.NEW)
    LeadFactory(status=LeadStatus.MQL)

    response = marketer_api.get(f"{URL}{account.pk}/leads/?status=mql")

    assert response.status_code == 200
    assert ids(response) == [mql.pk]
    assert response.json()["next"] is None


def test_account_leads_of_rep_only_owned(rep_api, rep):
    account = AccountFactory()
    owned = LeadFactory(account=account, owner=rep)
    LeadFactory(account=account, owner=None)

    response = rep_api.get(f"{URL}{account.pk}/leads/")

    assert ids(response) == [owned.pk]


def test_account_leads_of_unknown_account_not_found(marketer_api):
    response = marketer_api.get(f"{URL}999999/leads/")

    assert response.status_code == 404
    assert response.json()["code"] == "account_not_found"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", URL, {"name": "X"}),
        ("patch", URL + "{account}/", {"name": "X"}),
        ("post", URL + "{account}/link-leads/", None),
    ],
    ids=["create", "edit", "link"],
)
def test_sales_roles_cannot_change_accounts(client_for, rep, sales_manager, method, path, body):
    account = AccountFactory(name="Kept")
    LeadFactory(email="dana@precision-parts-x.example", account=None)

    for user in (rep, sales_manager):
        response = getattr(client_for(user), method)(
            path.format(account=account.pk), body, format="json"
        )

        assert response.status_code == 403
    assert Account.objects.count() == 1
    assert Account.objects.get().name == "Kept"
    assert Lead.objects.get().account is None


def test_create_replayed_with_idempotency_key(marketer_api):
    body = {"name": "Cast Works", "domain": "cast-works.example"}

    first = marketer_api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    second = marketer_api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")

    assert first.status_code == 201
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Account.objects.count() == 1


def test_link_leads_key_reused_for_other_account_rejected(marketer_api):
    first_account = AccountFactory()
    second_account = AccountFactory()
    marketer_api.post(f"{URL}{first_account.pk}/link-leads/", HTTP_IDEMPOTENCY_KEY="link-1")

    response = marketer_api.post(
        f"{URL}{second_account.pk}/link-leads/", HTTP_IDEMPOTENCY_KEY="link-1"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
