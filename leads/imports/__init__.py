"""CSV import of leads and their engagement: the column mapping, row conversion and the service."""

from leads.imports.mapping import ImportMapping, MappingError, load_mapping, parse_mapping
from leads.imports.rows import ImportFileError
from leads.imports.service import ImportReport, RowResult, leads_import_csv

__all__ = [
    "ImportFileError",
    "ImportMapping",
    "ImportReport",
    "MappingError",
    "RowResult",
    "leads_import_csv",
    "load_mapping",
    "parse_mapping",
]
