"""factory_boy factories shared by the whole suite."""

from datetime import timedelta

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from leads.models import Account, EngagementEvent, EventKind, Lead


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@leadflow.test")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if not create:
            return
        for role in extracted or []:
            group, _ = Group.objects.get_or_create(name=role)
            self.groups.add(group)
        # Saves the password hash set by the post-generation call above.
        self.save()


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Precision Parts {n}")
    domain = factory.Sequence(lambda n: f"precision-parts-{n}.example")
    segment = "automotive"
    facility_type = "plant"
    country = "Germany"
    region = "europe"
    employee_count = 800
    annual_revenue_usd = 120_000_000
    processes = factory.LazyFunction(lambda: ["cnc_machining"])
    technologies = factory.LazyFunction(lambda: ["erp"])


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"engineer{n}@precision-parts.example")
    first_name = "Dana"
    last_name = factory.Sequence(lambda n: f"Keller{n}")
    job_title = "Manufacturing Engineer"
    job_function = "engineering"
    seniority = "individual"
    country = "Germany"
    region = "europe"
    first_touch_source = "google"
    account = factory.SubFactory(AccountFactory)
    score_stale = False


class EngagementEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EngagementEvent

    lead = factory.SubFactory(LeadFactory)
    kind = EventKind.PAGE_VIEW
    url = "https://www.example.com/products/"
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    external_id = factory.Sequence(lambda n: f"evt-{n}")


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.WebhookEndpoint"

    url = "http://127.0.0.1:9/hooks"
    secret = factory.Sequence(lambda n: f"whsec_test_secret_{n}")
    event_types = factory.LazyFunction(lambda: ["lead.status_changed"])
    is_active = True


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.WebhookDelivery"

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event_type = "lead.status_changed"
    payload = factory.LazyFunction(lambda: {"lead": {"id": 1, "status": "mql"}})
    max_attempts = 3
    next_attempt_at = factory.LazyFunction(timezone.now)


# --- handoff ---------------------------------------------------------------------------------

from handoff.models import Handoff, Rep, RoutingRule, Territory  # noqa: E402


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"territory-{n}")
    name = factory.LazyAttribute(lambda territory: territory.code.replace("-", " ").title())
    timezone = "UTC"


class RepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rep
        skip_postgeneration_save = True

    user = factory.SubFactory(
        UserFactory,
        username=factory.Sequence(lambda n: f"rep{n}"),
        first_name="Robin",
        last_name=factory.Sequence(lambda n: f"Seller{n}"),
        roles=["sales"],
    )
    capacity = 10

    @factory.post_generation
    def territories(self, create, extracted, **kwargs):
        if create and extracted:
            self.territories.set(extracted)


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: (n + 1) * 10)

    @factory.post_generation
    def reps(self, create, extracted, **kwargs):
        if create and extracted:
            self.reps.set(extracted)

    @factory.post_generation
    def territories(self, create, extracted, **kwargs):
        if create and extracted:
            self.territories.set(extracted)


class HandoffFactory(factory.django.DjangoModelFactory):
    """A pending handoff; tests that exercise routing create handoffs through handoff_send instead."""

    class Meta:
        model = Handoff

    lead = factory.SubFactory(LeadFactory, status="mql")
    rep = factory.SubFactory(RepFactory)
    context = factory.LazyFunction(dict)
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=8))
