"""The load_ruleset, export_ruleset and rescore management commands."""

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from leads.models import Lead
from scoring import services
from scoring.models import RescoreRun, RuleSet
from scoring.rules import document_from_ruleset
from tests.factories import EngagementEventFactory, LeadFactory
from tests.scoring.helpers import document, engagement_rule, fit_rule

pytestmark = pytest.mark.django_db

VALID_DOC = document(
    fit_rules=[fit_rule("account.segment", "eq", "automotive", id="segment", points=60)],
    engagement_rules=[engagement_rule("page_view", 5, id="pages", cap=20, half_life_days=30)],
)


def _write(tmp_path, content, name="rules.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _call(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_load_ruleset_stores_draft(tmp_path):
    path = _write(tmp_path, VALID_DOC)

    out, _ = _call("load_ruleset", str(path))

    ruleset = RuleSet.objects.get(version=2)
    assert ruleset.status == RuleSet.Status.DRAFT
    assert out == f"Loaded {path} as rule set version 2 (draft).\n"


def test_load_ruleset_publish_archives_previous(tmp_path):
    path = _write(tmp_path, VALID_DOC)

    _call("load_ruleset", str(path), "--publish")

    statuses = dict(RuleSet.objects.values_list("version", "status"))
    assert statuses == {1: RuleSet.Status.ARCHIVED, 2: RuleSet.Status.PUBLISHED}


def test_load_ruleset_invalid_prints_errors_per_path(tmp_path):
    path = _write(
        tmp_path,
        document(
            fit_rules=[fit_rule("account.employee_count", "between", 5)],
            engagement_rules=[engagement_rule("rfq")],
        ),
    )
    err = StringIO()

    with pytest.raises(CommandError, match="is invalid; nothing was loaded"):
        call_command("load_ruleset", str(path), stderr=err)

    lines = err.getvalue().splitlines()
    assert lines[0] == "fit_rules[0].value: 'between' needs a [low, high] list, got 5."
    assert lines[1].startswith('engagement_rules[0].kind: "rfq" is not an event kind; use one of ')
    assert len(lines) == 2
    assert RuleSet.objects.count() == 1


def test_load_ruleset_invalid_exits_with_status_1(tmp_path):
    path = _write(tmp_path, document(fit_threshold="high"))

    completed = subprocess.run(
        [sys.executable, "manage.py", "load_ruleset", str(path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 1
    assert 'fit_threshold: "high" is not a whole number' in completed.stderr


def test_load_ruleset_reports_json_syntax_error(tmp_path):
    path = _write(tmp_path, '{"name": "x",\n  "fit_rules": [}')

    with pytest.raises(
        CommandError, match=r"is not valid JSON: Expecting value at line 2, column 17"
    ):
        _call("load_ruleset", str(path))


def test_load_ruleset_reports_missing_file(tmp_path):
    with pytest.raises(
        CommandError, match=r"Cannot read .*missing.json: No such file or directory"
    ):
        _call("load_ruleset", str(tmp_path / "missing.json"))


def test_export_ruleset_writes_published_version_to_stdout():
    out, _ = _call("export_ruleset")

    assert json.loads(out) == document_from_ruleset(services.ruleset_active())


def test_export_ruleset_version_to_file(tmp_path):
    services.ruleset_load(document=VALID_DOC)
    path = tmp_path / "v2.json"

    out, err = _call("export_ruleset", "2", "--output", str(path))

    assert out == ""
    assert err == f"Wrote rule set version 2 to {path}.\n"
    assert json.loads(path.read_text())["fit_rules"][0]["id"] == "segment"


def test_export_ruleset_unknown_version():
    with pytest.raises(
        CommandError, match=r"Rule set version 7 does not exist; existing versions: 1\."
    ):
        _call("export_ruleset", "7")


@pytest.mark.parametrize("version", [1, 2])
def test_export_load_round_trip_is_lossless(tmp_path, version):
    services.ruleset_load(document=VALID_DOC)
    exported, _ = _call("export_ruleset", str(version))
    path = _write(tmp_path, exported)

    _call("load_ruleset", str(path))
    reexported, _ = _call("export_ruleset", "3")

    assert reexported == exported
    original = RuleSet.objects.get(version=version)
    copy = RuleSet.objects.get(version=3)
    assert document_from_ruleset(copy) == document_from_ruleset(original)


def test_rescore_prints_progress_per_chunk():
    leads = [LeadFactory(score_stale=True) for _ in range(5)]
    EngagementEventFactory(lead=leads[0], kind="quote_request")

    out, _ = _call("rescore", "--chunk-size", "2")

    run = RescoreRun.objects.get()
    assert out.splitlines() == [
        f"Run {run.pk}: 2/5 leads (40%), up to lead id {leads[1].pk}, 1 entered MQL",
        f"Run {run.pk}: 4/5 leads (80%), up to lead id {leads[3].pk}, 1 entered MQL",
        f"Run {run.pk}: 5/5 leads (100%), up to lead id {leads[4].pk}, 1 entered MQL",
        f"Rescore run {run.pk} done with rule set version 1: 5 leads, 1 entered MQL.",
    ]
    assert Lead.objects.filter(score_stale=True).count() == 0


def test_rescore_without_published_ruleset_fails():
    RuleSet.objects.all().delete()

    with pytest.raises(CommandError, match="No rule set is published"):
        _call("rescore")


def test_rescore_rejects_chunk_size_zero():
    with pytest.raises(CommandError, match=r"--chunk-size must be 1 or more, got 0\."):
        _call("rescore", "--chunk-size", "0")


def test_rescore_resume_continues_unfinished_run():
    leads = [LeadFactory(score_stale=True) for _ in range(3)]
    run = RescoreRun.objects.create(
        ruleset=RuleSet.objects.get(version=1),
        status=RescoreRun.Status.RUNNING,
        total_leads=3,
        done_leads=1,
        last_lead_id=leads[0].pk,
        max_lead_id=leads[-1].pk,
    )

    out, _ = _call("rescore", "--resume", str(run.pk))

    assert out.splitlines() == [
        f"Run {run.pk}: 3/3 leads (100%), up to lead id {leads[2].pk}, 0 entered MQL",
        f"Rescore run {run.pk} done with rule set version 1: 3 leads, 0 entered MQL.",
    ]
    assert list(Lead.objects.filter(score_stale=True).values_list("pk", flat=True)) == [leads[0].pk]


def test_rescore_resume_unknown_run():
    with pytest.raises(CommandError, match=r"Rescore run 999 does not exist\."):
        _call("rescore", "--resume", "999")
