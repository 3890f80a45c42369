"""Readable labels for the codes that leads, accounts and the audit trail store.

Codes such as "cnc_machining" or "scoring.fast_track" are stable values for filters,
rules and the API; pages show them through these functions.
"""

from __future__ import annotations

# Whole codes whose label is not the title case of their words.
_CODE_LABELS = {
    "cad_cam": "CAD/CAM",
    "c_level": "C-level",
    "r_and_d": "R&D",
    "r_d": "R&D",
    "rnd": "R&D",
    "rd_lab": "R&D Lab",
    "food_beverage": "Food & Beverage",
    "food_and_beverage": "Food & Beverage",
    "aerospace_defence": "Aerospace & Defence",
    "aerospace_defense": "Aerospace & Defense",
    "plastics_rubber": "Plastics & Rubber",
    "middle_east_africa": "Middle East & Africa",
    "asia_pacific": "Asia-Pacific",
    "e_mail": "E-mail",
}
# Words of codes written as acronyms, brand names or in lower case rather than in title case.
_WORD_LABELS = {
    # Acronyms of manufacturing systems and roles.
    "ai": "AI",
    "aps": "APS",
    "cad": "CAD",
    "cam": "CAM",
    "cmms": "CMMS",
    "cnc": "CNC",
    "crm": "CRM",
    "ehs": "EHS",
    "erp": "ERP",
    "hr": "HR",
    "iiot": "IIoT",
    "iot": "IoT",
    "it": "IT",
    "mes": "MES",
    "mro": "MRO",
    "oem": "OEM",
    "pcb": "PCB",
    "plc": "PLC",
    "plm": "PLM",
    "qa": "QA",
    "qc": "QC",
    "rfq": "RFQ",
    "scada": "SCADA",
    "sla": "SLA",
    "vp": "VP",
    "svp": "SVP",
    "evp": "EVP",
    # Marketing channels and brands.
    "ppc": "PPC",
    "seo": "SEO",
    "sem": "SEM",
    "utm": "UTM",
    "hubspot": "HubSpot",
    "linkedin": "LinkedIn",
    "tiktok": "TikTok",
    "wechat": "WeChat",
    "whatsapp": "WhatsApp",
    "youtube": "YouTube",
    # Short words that stay lower case inside a label.
    "and": "and",
    "of": "of",
    "or": "or",
    "to": "to",
}


def code_label(value: str) -> str:
    """Turn a stored code such as "cnc_machining" into "CNC Machining" for display.

    A value with capitals or spaces is already meant for people and stays as it is.
    """
    if value != value.lower() or " " in value:
        return value
    if value in _CODE_LABELS:
        return _CODE_LABELS[value]
    words = value.replace("_", " ").split()
    return " ".join(_WORD_LABELS.get(word, word.capitalize()) for word in words)


def rule_label(rule: str) -> str:
    """Turn a system rule such as "scoring.fast_track" into "Scoring: fast track".

    The part before the first dot names the app that acted; the rest reads as lower-case
    words, with acronyms such as SLA kept.
    """
    app, separator, name = rule.partition(".")
    if not separator:
        return code_label(rule)
    words = name.replace("_", " ").replace(".", " ").split()
    readable = " ".join(_WORD_LABELS.get(word, word) for word in words)
    return f"{code_label(app)}: {readable}" if readable else code_label(app)
