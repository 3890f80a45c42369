"""Lead pages through the Django test client: login, MQL queue, lead detail, transitions."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from leads import queue_pagination, services, views
from leads.labels import code_label, rule_label
from leads.models import Lead, LeadStatus, StatusChange
from leads.page_selectors import (
    TIMELINE_PAGE_SIZE,
    ScoreReason,
    score_band,
    score_band_condition,
    top_reasons,
)
from leads.templatetags.lead_pages import engagement
from tests.conftest import PASSWORD
from tests.factories import AccountFactory, EngagementEventFactory, LeadFactory, UserFactory
from tests.leads.page_data import make_breakdown, scored_lead

pytestmark = pytest.mark.django_db

QUEUE_URL = reverse("leads:queue")


def detail_url(lead):
    return reverse("leads:detail", args=[lead.pk])


def transition_url(lead):
    return reverse("leads:transition", args=[lead.pk])


def html(response):
    return response.content.decode()


def row_ids(response):
    return [row.lead.pk for row in response.context["rows"]]


@pytest.fixture
def marketer_client(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


# --- Login and logout -------------------------------------------------------------------------


def test_login_wrong_password_shows_message(client, marketer):
    response = client.post(reverse("login"), {"username": "marketer", "password": "wrong"})

    assert response.status_code == 200
    assert "The username and password do not match." in html(response)
    assert "_auth_user_id" not in client.session


def test_login_marketer_lands_on_queue(client, marketer):
    response = client.post(
        reverse("login"), {"username": "marketer", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain == [(reverse("home"), 302), (QUEUE_URL, 302)]
    assert response.status_code == 200
    assert "<h1>MQL queue</h1>" in html(response)


def test_logout_ends_session(marketer_client):
    response = marketer_client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert marketer_client.get(QUEUE_URL).status_code == 302


@pytest.mark.parametrize("url_name", ["leads:queue", "leads:detail", "leads:timeline"])
def test_anonymous_redirected_to_login(client, url_name):
    lead = scored_lead()
    url = QUEUE_URL if url_name == "leads:queue" else reverse(url_name, args=[lead.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_anonymous_transition_changes_nothing(client):
    lead = scored_lead()

    response = client.post(
        transition_url(lead), {"to_status": "nurture", "reason": "x", "expected_from": "mql"}
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.MQL
    assert StatusChange.objects.count() == 0


# --- Permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("user_fixture", ["marketer", "revops"])
def test_queue_open_to_marketing_and_revops(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))

    assert client.get(QUEUE_URL).status_code == 200


@pytest.mark.parametrize("user_fixture", ["rep", "sales_manager"])
def test_queue_forbidden_to_sales(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))

    response = client.get(QUEUE_URL)

    assert response.status_code == 403
    assert "The MQL queue is for marketing and revenue operations." in html(response)


def test_queue_forbidden_without_role(client):
    user = UserFactory(username="nobody")
    # UserFactory saves the password hash only when it adds roles; the session checks the hash.
    user.save()
    client.force_login(user)

    assert client.get(QUEUE_URL).status_code == 403


@pytest.mark.parametrize("user_fixture", ["marketer", "revops", "sales_manager"])
def test_detail_open_to_roles_seeing_all_leads(client, request, user_fixture):
    lead = scored_lead(owner=UserFactory(username="someone-else"))
    client.force_login(request.getfixturevalue(user_fixture))

    assert client.get(detail_url(lead)).status_code == 200


def test_detail_rep_opens_own_lead(rep_client, rep):
    lead = scored_lead(owner=rep)

    response = rep_client.get(detail_url(lead))

    assert response.status_code == 200
    assert response.context["can_transition"] is False
    assert 'data-testid="transition-form"' not in html(response)


def test_detail_rep_gets_404_for_colleagues_lead(rep_client):
    lead = scored_lead(owner=UserFactory(username="colleague", roles=["sales"]))

    response = rep_client.get(detail_url(lead))

    assert response.status_code == 404
    assert "Page not found" in html(response)


def test_detail_rep_gets_404_for_unowned_lead(rep_client):
    lead = scored_lead(owner=None)

    assert rep_client.get(detail_url(lead)).status_code == 404


def test_timeline_rep_gets_404_for_colleagues_lead(rep_client):
    lead = scored_lead(owner=UserFactory(username="colleague", roles=["sales"]))

    assert rep_client.get(reverse("leads:timeline", args=[lead.pk])).status_code == 404


def test_transition_rep_forbidden_on_own_lead(rep_client, rep):
    lead = scored_lead(owner=rep)

    response = rep_client.post(
        transition_url(lead),
        {"to_status": "nurture", "reason": "No budget", "expected_from": "mql"},
    )

    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.status == LeadStatus.MQL
    assert StatusChange.objects.count() == 0


def test_transition_rep_gets_404_for_colleagues_lead(rep_client):
    lead = scored_lead(owner=UserFactory(username="colleague", roles=["sales"]))

    response = rep_client.post(
        transition_url(lead),
        {"to_status": "nurture", "reason": "No budget", "expected_from": "mql"},
    )

    assert response.status_code == 404
    assert StatusChange.objects.count() == 0


def test_detail_unknown_lead_is_404(marketer_client):
    assert marketer_client.get(reverse("leads:detail", args=[999999])).status_code == 404


# --- Queue: content ---------------------------------------------------------------------------


def test_queue_lists_only_mql_leads(marketer_client):
    queued = scored_lead()
    LeadFactory(status=LeadStatus.NEW, fit_score=90, engagement_score=90)
    LeadFactory(status=LeadStatus.NURTURE, fit_score=90, engagement_score=90)
    LeadFactory(status=LeadStatus.SQL, fit_score=90, engagement_score=90)

    response = marketer_client.get(QUEUE_URL)

    assert row_ids(response) == [queued.pk]
    assert "<strong>1</strong> matching lead\n" in html(response)


def test_queue_row_shows_lead_facts(marketer_client):
    account = AccountFactory(name="Hartmann Gears", segment="automotive")
    lead = scored_lead(
        first_name="Ines",
        last_name="Vogel",
        job_title="Head of Production",
        account=account,
        region="europe",
        first_touch_source="trade_show",
        fit=72,
        engagement=48.25,
    )

    page = html(marketer_client.get(QUEUE_URL))

    assert f'<a class="lead-name" href="{detail_url(lead)}">Ines Vogel</a>' in page
    assert "Hartmann Gears" in page
    assert "Head of Production" in page
    assert '<span class="score high" data-testid="fit-score">72</span>' in page
    assert '<span class="score low" data-testid="engagement-score">48.3</span>' in page
    assert "<td>Europe</td>" in page
    assert "<td>Trade Show</td>" in page
    assert "2 days" in page


def test_queue_row_shows_top_three_reasons_with_negative_marked(marketer_client):
    scored_lead(
        breakdown=make_breakdown(
            fit=[
                ("segment", "Core industry segment", "firmographic", 20),
                ("student", "Student", "persona", -25),
                ("small", "Small plant", "firmographic", 5),
            ],
            engagement=[("rfq", "Quote or RFQ request", "intent", 40.0, 40.0, False, 1)],
        )
    )

    response = marketer_client.get(QUEUE_URL)

    assert response.context["rows"][0].reasons == [
        ScoreReason(label="Quote or RFQ request", points=40.0, scope="engagement"),
        ScoreReason(label="Student", points=-25.0, scope="fit"),
        ScoreReason(label="Core industry segment", points=20.0, scope="fit"),
    ]
    assert (
        '<li class="negative"><span class="reason-label">Student</span> '
        '<span class="points">\u221225</span></li>'
    ) in html(response)
    assert "Small plant" not in html(response)


def test_queue_row_without_breakdown_says_so(marketer_client):
    scored_lead(breakdown={})

    assert "No breakdown yet" in html(marketer_client.get(QUEUE_URL))


def test_queue_empty_says_how_leads_arrive(marketer_client):
    page = html(marketer_client.get(QUEUE_URL))

    assert "The MQL queue is empty" in page
    assert "check that events are arriving" in page


def test_queue_no_match_suggests_clearing_filters(marketer_client):
    scored_lead(region="europe")
    scored_lead(region="asia_pacific")

    page = html(marketer_client.get(QUEUE_URL, {"region": "europe", "q": "nobody-by-this-name"}))

    assert "No lead matches these filters" in page
    assert "Clear all filters" in page


# --- Queue: filters ---------------------------------------------------------------------------


def test_queue_filter_by_region(marketer_client):
    europe = scored_lead(region="europe")
    scored_lead(region="north_america")

    response = marketer_client.get(QUEUE_URL, {"region": "europe"})

    assert row_ids(response) == [europe.pk]


def test_queue_filter_by_segment(marketer_client):
    aerospace = scored_lead(account=AccountFactory(segment="aerospace"))
    scored_lead(account=AccountFactory(segment="automotive"))

    response = marketer_client.get(QUEUE_URL, {"segment": "aerospace"})

    assert row_ids(response) == [aerospace.pk]


def test_queue_filter_by_source(marketer_client):
    linkedin = scored_lead(first_touch_source="linkedin")
    scored_lead(first_touch_source="google")

    response = marketer_client.get(QUEUE_URL, {"source": "linkedin"})

    assert row_ids(response) == [linkedin.pk]


@pytest.mark.parametrize(
    ("fit", "engagement", "band"),
    [
        (70, 70, "A"),
        (95, 100, "A"),
        (69, 90, "B"),
        (90, 69.99, "B"),
        (50, 50, "B"),
        (49, 80, "C"),
        (30, 30, "C"),
        (29, 90, "D"),
        (90, 29.5, "D"),
        (-10, 0, "D"),
    ],
)
def test_score_band_boundaries(fit, engagement, band):
    assert score_band(fit, engagement).code == band


@pytest.mark.parametrize("band", ["A", "B", "C", "D"])
def test_queue_filter_by_band(marketer_client, band):
    leads = {
        "A": scored_lead(fit=80, engagement=75),
        "B": scored_lead(fit=60, engagement=90),
        "C": scored_lead(fit=45, engagement=45),
        "D": scored_lead(fit=80, engagement=10),
    }

    response = marketer_client.get(QUEUE_URL, {"band": band})

    assert row_ids(response) == [leads[band].pk]


def test_score_band_condition_unknown_code_raises():
    with pytest.raises(ValueError, match=r"^Unknown score band 'E'; use one of A, B, C, D\.$"):
        score_band_condition("E")


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ines", "vogel"),
        ("vogel@hartmann", "vogel"),
        ("Hartmann", "vogel"),
        ("ines VOGEL", "vogel"),
    ],
)
def test_queue_search_matches_name_email_company(marketer_client, search, expected):
    leads = {
        "vogel": scored_lead(
            first_name="Ines",
            last_name="Vogel",
            email="vogel@hartmann-gears.example",
            account=AccountFactory(name="Hartmann Gears"),
        ),
        "other": scored_lead(first_name="Tom", last_name="Baker", email="tom@acme.example"),
    }

    response = marketer_client.get(QUEUE_URL, {"q": search})

    assert row_ids(response) == [leads[expected].pk]


def test_queue_filter_options_come_from_queue(marketer_client):
    scored_lead(
        region="europe", first_touch_source="google", account=AccountFactory(segment="food")
    )
    scored_lead(region="europe", first_touch_source="linkedin", account=None)
    LeadFactory(status=LeadStatus.NEW, region="latin_america", first_touch_source="fax")

    form = marketer_client.get(QUEUE_URL).context["filterset"].form

    assert list(form.fields["region"].choices) == [("", "All regions"), ("europe", "Europe")]
    assert list(form.fields["source"].choices) == [
        ("", "All sources"),
        ("google", "Google"),
        ("linkedin", "LinkedIn"),
    ]
    assert list(form.fields["segment"].choices) == [("", "All segments"), ("food", "Food")]


def test_queue_invalid_filter_is_reported_and_others_apply(marketer_client):
    europe = scored_lead(region="europe", first_touch_source="google")
    scored_lead(region="north_america", first_touch_source="google")

    response = marketer_client.get(QUEUE_URL, {"region": "europe", "source": "carrier-pigeon"})

    assert row_ids(response) == [europe.pk]
    assert (
        "No lead in the queue has the first-touch source carrier-pigeon; pick one from the list."
        in html(response)
    )


# --- Queue: sort and pagination ---------------------------------------------------------------


@pytest.fixture
def sortable_leads():
    """Three leads whose fit, engagement and MQL date each give a different order."""
    return {
        "x": scored_lead(fit=90, engagement=40, days_in_queue=5),
        "y": scored_lead(fit=60, engagement=80, days_in_queue=1),
        "z": scored_lead(fit=75, engagement=60, days_in_queue=9),
    }


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-fit", "xzy"),
        ("fit", "yzx"),
        ("-engagement", "yzx"),
        ("engagement", "xzy"),
        ("-mql_since", "yxz"),
        ("mql_since", "zxy"),
    ],
)
def test_queue_sort(marketer_client, sortable_leads, sort, expected):
    response = marketer_client.get(QUEUE_URL, {"sort": sort})

    assert row_ids(response) == [sortable_leads[key].pk for key in expected]


def test_queue_default_sort_is_fit_descending(marketer_client, sortable_leads):
    response = marketer_client.get(QUEUE_URL)

    assert row_ids(response) == [sortable_leads[key].pk for key in "xzy"]
    assert response.context["sort"] == "-fit"


def test_queue_unknown_sort_falls_back_with_message(marketer_client, sortable_leads):
    response = marketer_client.get(QUEUE_URL, {"sort": "shoe_size"})

    assert row_ids(response) == [sortable_leads[key].pk for key in "xzy"]
    assert "Unknown sort order shoe_size; click a column heading to sort." in html(response)


def test_queue_sort_heading_toggles_direction(marketer_client, sortable_leads):
    response = marketer_client.get(QUEUE_URL, {"sort": "-engagement", "region": "europe"})
    columns = response.context["sort_columns"]

    assert columns["engagement"].next_sort == "engagement"
    assert columns["engagement"].aria_sort == "descending"
    assert columns["fit"].next_sort == "-fit"
    assert f'href="{QUEUE_URL}?sort=engagement&amp;region=europe"' in html(response)


def next_page(client, response, **params):
    """Follow the response's "Next" link, keeping the filters and sort in `params`."""
    return client.get(QUEUE_URL, {**params, "after": response.context["page"].next_cursor})


def test_queue_paginates_by_25(marketer_client):
    for score in range(27):
        scored_lead(fit=score)

    first = marketer_client.get(QUEUE_URL)
    second = next_page(marketer_client, first)

    assert len(first.context["rows"]) == 25
    assert [row.lead.fit_score for row in second.context["rows"]] == [1, 0]
    assert second.context["page"].next_cursor is None
    assert "<strong>27</strong> matching leads" in html(first)
    assert "showing 1\u201325" in html(first)
    assert "showing 26\u201327" in html(second)


def test_queue_previous_link_returns_to_first_page(marketer_client):
    for score in range(27):
        scored_lead(fit=score)
    first = marketer_client.get(QUEUE_URL)
    second = next_page(marketer_client, first)

    back = marketer_client.get(QUEUE_URL, {"before": second.context["page"].previous_cursor})

    assert row_ids(back) == row_ids(first)
    assert back.context["page"].previous_cursor is None
    assert back.context["page"].next_cursor is not None
    assert "showing 1\u201325" in html(back)


def test_queue_pages_cover_ties_once(marketer_client):
    """Leads with equal scores are split by id, so no lead repeats or goes missing."""
    leads = [scored_lead(fit=50, engagement=50) for _ in range(30)]

    first = marketer_client.get(QUEUE_URL)
    second = next_page(marketer_client, first)

    assert row_ids(first) + row_ids(second) == sorted((lead.pk for lead in leads), reverse=True)


@pytest.mark.parametrize("sort", ["-mql_since", "mql_since"])
def test_queue_pages_put_leads_without_mql_date_last(marketer_client, sort):
    dated = [scored_lead(days_in_queue=days) for days in range(20)]
    undated = [scored_lead() for _ in range(10)]
    Lead.objects.filter(pk__in=[lead.pk for lead in undated]).update(status_changed_at=None)

    first = marketer_client.get(QUEUE_URL, {"sort": sort})
    second = next_page(marketer_client, first, sort=sort)
    back = marketer_client.get(
        QUEUE_URL, {"sort": sort, "before": second.context["page"].previous_cursor}
    )

    by_date = sorted(dated, key=lambda lead: lead.status_changed_at, reverse=sort == "-mql_since")
    expected = [lead.pk for lead in by_date] + sorted(
        (lead.pk for lead in undated), reverse=sort == "-mql_since"
    )
    assert row_ids(first) + row_ids(second) == expected
    assert row_ids(back) == expected[:25]


def test_queue_page_links_keep_filters_and_sort(marketer_client):
    for score in range(27):
        scored_lead(fit=score, region="europe")
    scored_lead(region="north_america")

    response = marketer_client.get(
        QUEUE_URL, {"region": "europe", "sort": "fit", "q": "", "band": ""}
    )
    cursor = response.context["page"].next_cursor
    second = marketer_client.get(QUEUE_URL, {"region": "europe", "sort": "fit", "after": cursor})

    assert f'href="{QUEUE_URL}?region=europe&amp;sort=fit&amp;after={cursor}"' in html(response)
    assert [row.lead.fit_score for row in second.context["rows"]] == [25, 26]


def test_queue_invalid_cursor_shows_first_page_with_message(marketer_client):
    for score in range(27):
        scored_lead(fit=score)

    response = marketer_client.get(QUEUE_URL, {"after": "not-a-cursor"})

    assert [row.lead.fit_score for row in response.context["rows"]][:2] == [26, 25]
    assert "The page link is invalid or out of date; showing the first page." in html(response)


def test_queue_count_above_limit_shows_estimate(marketer_client, monkeypatch):
    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 2)
    monkeypatch.setattr(queue_pagination, "COUNT_LIMIT", 3)
    monkeypatch.setattr(queue_pagination, "_planner_estimate", lambda queryset: 98_437)
    for _ in range(5):
        scored_lead()

    response = marketer_client.get(QUEUE_URL)

    assert response.context["count"] == queue_pagination.LeadCount(98_000, "estimate")
    assert "about <strong>98,000</strong> matching leads" in html(response)


def test_queue_count_exact_on_later_page(marketer_client, monkeypatch):
    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 2)
    for _ in range(5):
        scored_lead()

    first = marketer_client.get(QUEUE_URL)
    second = next_page(marketer_client, first)

    assert second.context["count"] == queue_pagination.LeadCount(5, "exact")
    assert "<strong>5</strong> matching leads" in html(second)
    assert "showing 3\u20134" in html(second)


def test_queue_count_above_limit_without_estimate(marketer_client, monkeypatch):
    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 2)
    monkeypatch.setattr(queue_pagination, "COUNT_LIMIT", 3)
    monkeypatch.setattr(queue_pagination, "_planner_estimate", lambda queryset: None)
    for _ in range(5):
        scored_lead()

    response = marketer_client.get(QUEUE_URL)

    assert response.context["count"] == queue_pagination.LeadCount(3, "at_least")
    assert "more than <strong>3</strong> matching leads" in html(response)


# --- Queue: htmx ------------------------------------------------------------------------------


def test_queue_htmx_request_gets_results_fragment(marketer_client):
    europe = scored_lead(region="europe")
    scored_lead(region="north_america")

    response = marketer_client.get(
        QUEUE_URL, {"region": "europe", "q": "", "sort": "-fit"}, headers={"HX-Request": "true"}
    )

    page = html(response)
    assert row_ids(response) == [europe.pk]
    assert "<html" not in page
    assert 'id="queue-sort" value="-fit" hx-swap-oob="true"' in page
    assert response["HX-Push-Url"] == f"{QUEUE_URL}?region=europe&sort=-fit"
    assert "HX-Request" in response["Vary"]


def test_queue_htmx_history_restore_gets_full_page(marketer_client):
    response = marketer_client.get(
        QUEUE_URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in html(response)
    assert "HX-Push-Url" not in response


def test_queue_full_page_works_without_javascript(marketer_client):
    page = html(marketer_client.get(QUEUE_URL))

    assert (
        f'<form id="queue-filters" class="card filters" method="get" action="{QUEUE_URL}"' in page
    )
    assert "A: fit ≥ 70 and engagement ≥ 70" in page
    assert '<option value="B">B · both scores ≥ 50</option>' in page


# --- Queue: queries ---------------------------------------------------------------------------


def count_queue_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE_URL, {"region": "europe"})
    assert response.status_code == 200
    return len(queries)


def test_queue_query_count_does_not_grow_with_rows(marketer_client):
    for _ in range(3):
        scored_lead(region="europe")
    few = count_queue_queries(marketer_client)
    for _ in range(22):
        scored_lead(region="europe", owner=UserFactory())
    many = count_queue_queries(marketer_client)

    assert few == many
    # Session, user, groups, three filter menus, one page of leads. A first page without a
    # next page contains every matching lead, so it needs no count.
    assert many == 7


# --- Lead detail ------------------------------------------------------------------------------


def test_detail_shows_contact_and_account(marketer_client):
    account = AccountFactory(
        name="Hartmann Gears",
        segment="automotive",
        facility_type="plant",
        region="europe",
        employee_count=1200,
        annual_revenue_usd=90_000_000,
        processes=["cnc_machining", "heat_treatment"],
        technologies=["erp"],
    )
    lead = scored_lead(
        first_name="Ines",
        last_name="Vogel",
        job_title="Head of Production",
        job_function="operations",
        seniority="director",
        account=account,
        first_touch_source="google",
        first_touch_medium="cpc",
        first_touch_campaign="gearbox-2026",
        last_touch_source="newsletter",
        interests=["gear_units"],
        email_opt_out=True,
        custom_attributes={"plant_count": 3},
    )

    page = html(marketer_client.get(detail_url(lead)))

    for text in [
        "Head of Production",
        "<dd>Operations</dd>",
        "<dd>Director</dd>",
        "gearbox-2026",
        "newsletter",
        '<span class="chip">Gear Units</span>',
        "E-mail opted out",
        "Calls allowed",
        '<dt class="mono">plant_count</dt><dd>3</dd>',
        "<dd>Automotive</dd>",
        "<dd>Plant</dd>",
        "1000-4999",
        "USD 50M-250M",
        '<span class="chip">Heat Treatment</span>',
        '<span class="chip">ERP</span>',
    ]:
        assert text in page, text


def test_detail_without_account_explains_why(marketer_client):
    lead = scored_lead(account=None, company_name="Garage Tinkerers")

    page = html(marketer_client.get(detail_url(lead)))

    assert "No account. The lead's e-mail domain is a free-mail provider or missing" in page
    assert "The lead gave the company name “Garage Tinkerers”." in page


def test_detail_shows_breakdown_tables(marketer_client):
    lead = scored_lead(
        breakdown=make_breakdown(
            caps=[{"scope": "group", "name": "web", "cap": 30, "removed": 5.0}],
            fast_track={"kind": "quote_request", "event_id": 812},
        )
    )

    response = marketer_client.get(detail_url(lead))
    page = html(response)

    breakdown = response.context["breakdown"]
    assert [row.label for row in breakdown.fit] == [
        "Core industry segment",
        "Engineering function",
        "Free-mail address",
    ]
    assert [(row.points, row.events, row.capped) for row in breakdown.engagement] == [
        (40.0, 2, True),
        (12.5, 5, False),
    ]
    assert "Rule set version 3" in page
    assert '<td class="num points negative">\u221210</td>' in page
    assert 'capped</span> <span class="muted small">from +60</span>' in page
    assert "Group “Web”" in page
    assert "by a high-intent event: Quote/RFQ request (event #812)." in page


def test_detail_unscored_lead_says_not_scored(marketer_client):
    lead = LeadFactory(status=LeadStatus.NEW, score_breakdown={}, scored_at=None)

    assert "Not scored yet." in html(marketer_client.get(detail_url(lead)))


def test_detail_tolerates_malformed_breakdown(marketer_client):
    lead = scored_lead(
        breakdown={"fit": "oops", "engagement": [{"points": "many"}, 7], "caps": None}
    )

    response = marketer_client.get(detail_url(lead))

    assert response.status_code == 200
    assert response.context["breakdown"].fit == []
    assert [row.points for row in response.context["breakdown"].engagement] == [0.0]


def test_detail_timeline_merges_newest_first(marketer_client, marketer):
    lead = scored_lead()
    now = timezone.now()
    old_event = EngagementEventFactory(lead=lead, occurred_at=now - timedelta(days=3))
    new_event = EngagementEventFactory(lead=lead, occurred_at=now - timedelta(days=1))
    with time_machine.travel(now - timedelta(days=2), tick=False):
        change = services.lead_transition(
            lead_id=lead.pk, to_status="nurture", actor=marketer, reason="Budget next year"
        )

    entries = marketer_client.get(detail_url(lead)).context["timeline"].entries

    assert [(entry.event, entry.change) for entry in entries] == [
        (new_event, None),
        (None, change),
        (old_event, None),
    ]


def test_detail_timeline_limited_with_show_more(marketer_client):
    lead = scored_lead()
    for _ in range(TIMELINE_PAGE_SIZE + 5):
        EngagementEventFactory(lead=lead)

    page = html(marketer_client.get(detail_url(lead)))
    more = marketer_client.get(reverse("leads:timeline", args=[lead.pk]), {"timeline": 40})

    assert page.count('class="tl-item tl-event"') == TIMELINE_PAGE_SIZE
    assert "20 of 25 shown" in page
    assert f'hx-get="{reverse("leads:timeline", args=[lead.pk])}?timeline=40"' in page
    assert html(more).count('class="tl-item tl-event"') == 25
    assert 'data-testid="timeline-more"' not in html(more)


def test_detail_timeline_marks_scored_events(marketer_client):
    lead = scored_lead()
    event = EngagementEventFactory(lead=lead)
    lead.score_breakdown = make_breakdown(event_ids=[event.pk])
    lead.save()

    page = html(marketer_client.get(detail_url(lead)))

    assert "Scored by Quote or RFQ request, Pricing page view" in page


def test_detail_query_count_does_not_grow_with_timeline(marketer_client):
    # Nurture before and after the ten moves below, so the page offers the same one move.
    lead = scored_lead(status=LeadStatus.NURTURE)
    EngagementEventFactory(lead=lead)
    with CaptureQueriesContext(connection) as few:
        marketer_client.get(detail_url(lead))
    for _ in range(10):
        EngagementEventFactory(lead=lead)
        services.lead_transition(
            lead_id=lead.pk,
            to_status="nurture" if lead.status != "nurture" else "disqualified",
            reason="test",
        )
        lead.refresh_from_db()

    with CaptureQueriesContext(connection) as many:
        marketer_client.get(detail_url(lead))

    assert len(few) == len(many)


# --- Lead detail: transitions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        (LeadStatus.MQL, ["nurture", "disqualified"]),
        (LeadStatus.NEW, ["nurture", "disqualified"]),
        (LeadStatus.NURTURE, ["disqualified"]),
        (LeadStatus.DISQUALIFIED, ["nurture"]),
        (LeadStatus.LOST, ["nurture"]),
        (LeadStatus.WON, []),
    ],
)
def test_detail_buttons_follow_lifecycle(marketer_client, status, buttons):
    lead = scored_lead(status=status)

    response = marketer_client.get(detail_url(lead))

    assert [value for value, _ in response.context["transition_actions"]] == buttons
    for value in ["nurture", "disqualified"]:
        assert (f'data-testid="move-{value}"' in html(response)) is (value in buttons)


def test_detail_won_lead_explains_no_moves(marketer_client):
    lead = scored_lead(status=LeadStatus.WON)

    assert "A Won lead cannot be moved to nurture or disqualified from here." in html(
        marketer_client.get(detail_url(lead))
    )


def test_transition_to_nurture_records_and_reports(marketer_client, marketer):
    lead = scored_lead(first_name="Ines", last_name="Vogel", fit=61, engagement=44.5)

    response = marketer_client.post(
        transition_url(lead),
        {"to_status": "nurture", "reason": "Project starts next year", "expected_from": "mql"},
        follow=True,
    )

    lead.refresh_from_db()
    change = StatusChange.objects.get(lead=lead)
    page = html(response)
    assert response.redirect_chain == [(detail_url(lead), 302)]
    assert lead.status == LeadStatus.NURTURE
    assert (change.from_status, change.to_status) == ("mql", "nurture")
    assert change.actor == marketer
    assert change.reason == "Project starts next year"
    assert "Ines Vogel moved from MQL to Nurture." in page
    assert '<span class="badge status-nurture" data-testid="lead-status">Nurture</span>' in page
    assert '<p class="tl-reason">Project starts next year</p>' in page


def test_transition_disqualify_records_reason(marketer_client):
    lead = scored_lead()

    marketer_client.post(
        transition_url(lead),
        {"to_status": "disqualified", "reason": "Student", "expected_from": "mql"},
    )

    lead.refresh_from_db()
    assert lead.status == LeadStatus.DISQUALIFIED
    assert StatusChange.objects.get(lead=lead).reason == "Student"


@pytest.mark.parametrize("reason", ["", "   "])
def test_transition_without_reason_rejected(marketer_client, reason):
    lead = scored_lead()

    response = marketer_client.post(
        transition_url(lead), {"to_status": "nurture", "reason": reason, "expected_from": "mql"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "reason": ["Enter a reason; sales and marketing read it in the lead's timeline."]
    }
    assert escape("Enter a reason; sales and marketing read it in the lead's timeline.") in html(
        response
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.MQL
    assert StatusChange.objects.count() == 0


def test_transition_reason_too_long_rejected(marketer_client):
    lead = scored_lead()

    response = marketer_client.post(
        transition_url(lead),
        {"to_status": "nurture", "reason": "x" * 1001, "expected_from": "mql"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "reason": ["Shorten the reason to 1000 characters (it has 1001)."]
    }
    assert StatusChange.objects.count() == 0


def test_transition_to_status_outside_page_rejected(marketer_client):
    lead = scored_lead()

    response = marketer_client.post(
        transition_url(lead), {"to_status": "sql", "reason": "Ready", "expected_from": "mql"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "to_status": ["This page moves leads only to nurture or disqualified, not to sql."]
    }
    lead.refresh_from_db()
    assert lead.status == LeadStatus.MQL
    assert StatusChange.objects.count() == 0


def test_transition_illegal_move_shows_service_message(marketer_client):
    lead = scored_lead(status=LeadStatus.WON)

    response = marketer_client.post(
        transition_url(lead), {"to_status": "nurture", "reason": "Recycle", "expected_from": "won"}
    )

    message = f"Lead {lead.pk} cannot move from won to nurture; allowed next: none (final status)."
    assert response.status_code == 409
    assert response.context["transition_error"] == message
    assert message in html(response)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.WON
    assert StatusChange.objects.count() == 0


def test_transition_stale_page_rejected(marketer_client):
    lead = scored_lead(status=LeadStatus.NURTURE)

    response = marketer_client.post(
        transition_url(lead),
        {"to_status": "disqualified", "reason": "Student", "expected_from": "mql"},
    )

    message = f"Lead {lead.pk} is nurture, not mql; reload it and try again."
    assert response.status_code == 409
    assert response.context["transition_error"] == message
    assert response.context["form"].initial == {"expected_from": "nurture", "reason": "Student"}
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NURTURE
    assert StatusChange.objects.count() == 0


def test_transition_get_not_allowed(marketer_client):
    lead = scored_lead()

    assert marketer_client.get(transition_url(lead)).status_code == 405
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.MQL


def test_top_reasons_ties_keep_breakdown_order():
    breakdown = make_breakdown(
        fit=[("a", "A", "g", 10), ("b", "B", "g", -10)],
        engagement=[("c", "C", "g", 10.0, 10.0, False, 1), ("d", "D", "g", 10.0, 10.0, False, 1)],
    )

    assert [reason.label for reason in top_reasons(breakdown)] == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("north_america", "North America"),
        ("cnc_machining", "CNC Machining"),
        ("erp", "ERP"),
        ("linkedin", "LinkedIn"),
        ("250-999", "250-999"),
        ("Germany", "Germany"),
        ("", ""),
        ("vp", "VP"),
        ("cmms", "CMMS"),
        ("youtube", "YouTube"),
        ("cad_cam", "CAD/CAM"),
        ("scada", "SCADA"),
        ("r_and_d", "R&D"),
        ("rd_lab", "R&D Lab"),
        ("food_beverage", "Food & Beverage"),
        ("iiot_platform", "IIoT Platform"),
        ("head_of_it", "Head of IT"),
        ("mes", "MES"),
        ("plm", "PLM"),
        ("qa", "QA"),
        ("hr", "HR"),
    ],
)
def test_code_label(code, label):
    assert code_label(code) == label


@pytest.mark.parametrize(
    ("rule", "label"),
    [
        ("scoring.fast_track", "Scoring: fast track"),
        ("scoring.thresholds", "Scoring: thresholds"),
        ("handoff.sla", "Handoff: SLA"),
        ("handoff.generated_mqls", "Handoff: generated mqls"),
        ("manual", "Manual"),
        ("", ""),
    ],
)
def test_rule_label(rule, label):
    assert rule_label(rule) == label


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (40, "40.0"),
        (48.25, "48.3"),
        (52.46, "52.5"),
        (0, "0.0"),
        (-3.25, "\u22123.3"),
        (None, "\u2014"),
    ],
)
def test_engagement_filter_one_decimal(value, text):
    assert engagement(value) == text


def test_detail_timeline_shows_rule_readably(marketer_client):
    lead = scored_lead(status=LeadStatus.NEW)
    services.lead_transition(lead_id=lead.pk, to_status=LeadStatus.MQL, rule="scoring.fast_track")

    page = html(marketer_client.get(detail_url(lead)))

    assert 'by <span title="scoring.fast_track">Scoring: fast track</span>' in page
    assert "by rule" not in page


def test_detail_and_queue_show_engagement_alike(marketer_client):
    lead = scored_lead(fit=72, engagement=40)

    queue = html(marketer_client.get(QUEUE_URL))
    detail = html(marketer_client.get(detail_url(lead)))

    assert 'data-testid="engagement-score">40.0</span>' in queue
    assert 'data-testid="detail-engagement">40.0</span>' in detail
