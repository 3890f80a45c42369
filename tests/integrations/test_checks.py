from integrations.checks import check_api_key_views


def test_project_urls_pass_check():
    assert check_api_key_views() == []


def test_demo_urls_pass_check():
    assert check_api_key_views(urlconf="tests.integrations.urls") == []


def test_views_without_scope_check_reported():
    errors = check_api_key_views(urlconf="tests.integrations.broken_urls")

    assert [(error.id, error.msg) for error in errors] == [
        (
            "integrations.E001",
            "UncheckedKeyView at /demo/unchecked/ accepts API keys but does not check their scopes.",
        ),
        (
            "integrations.E002",
            "UnknownScopeView requires unknown scope leads:readall; the catalogue in "
            "integrations/scopes.py has events:write, events:read, leads:read, leads:write, "
            "accounts:read, accounts:write, rulesets:read, rulesets:write, handoffs:read, "
            "handoffs:write, reps:read, reps:write, routing:read, routing:write, reports:read, "
            "webhooks:read, webhooks:write.",
        ),
    ]
