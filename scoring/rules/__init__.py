"""Rule-set documents: validation, and the compiled rules the scorers run.

A rule-set document is the JSON described in docs/scoring.md.
`validate_document` checks one and returns the normalised document (every
optional field filled in) with the errors keyed by path. `compile_document`
turns a valid document into the frozen dataclasses that the Python scorer
(scoring.engine) and the SQL rescore (scoring.sql) both read.
"""

from scoring.rules.catalogue import (
    ACCOUNT_FIELD_TYPES,
    DOCUMENT_DEFAULTS,
    ENGAGEMENT_RULE_KEYS,
    EVENT_KINDS,
    FIT_RULE_KEYS,
    ICP_KEYS,
    LEAD_FIELD_TYPES,
    OPS,
    OPS_BY_TYPE,
    REQUIRED_FIELDS,
    FieldRef,
    FieldType,
    ValueType,
    is_number,
    show,
    to_decimal,
)
from scoring.rules.compiled import (
    Cap,
    CompiledRuleSet,
    EngagementRule,
    FitRule,
    compile_document,
    compile_ruleset,
    document_from_ruleset,
)
from scoring.rules.validation import validate_document

__all__ = [
    "ACCOUNT_FIELD_TYPES",
    "DOCUMENT_DEFAULTS",
    "ENGAGEMENT_RULE_KEYS",
    "EVENT_KINDS",
    "FIT_RULE_KEYS",
    "ICP_KEYS",
    "LEAD_FIELD_TYPES",
    "OPS",
    "OPS_BY_TYPE",
    "REQUIRED_FIELDS",
    "Cap",
    "CompiledRuleSet",
    "EngagementRule",
    "FieldRef",
    "FieldType",
    "FitRule",
    "ValueType",
    "compile_document",
    "compile_ruleset",
    "document_from_ruleset",
    "is_number",
    "show",
    "to_decimal",
    "validate_document",
]
