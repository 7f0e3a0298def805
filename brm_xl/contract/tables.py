"""The workbook contract, declared once: input tables, their columns and kinds.

See ../shared/workbook-contract.md and the README's "Workbook contract" section. Every
reader, validator, template and test takes the table shapes from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Kinds of value a cell may hold (see `brm_xl.contract.kinds`).
ID, TEXT, EMAIL, MONTH, DATE, MONEY, RATE, UNIT_COST, SIGNED_MONEY, QUANTITY, COUNT, SCORE = (
    "id", "text", "email", "month", "date", "money", "rate", "unit_cost", "signed_money",
    "quantity", "count", "score",
)
CHOICE = "choice"  # one of Column.choices, matched ignoring case and spacing
SIGNED_QUANTITY = "signed_quantity"  # any number, negatives allowed (cloud credits)
FLAG = "flag"  # a Settings yes/no: yes, no, true, false, 1, 0 (or an Excel TRUE/FALSE cell)
FLAG_WORDS = {"yes": True, "true": True, "1": True, "y": True,
              "no": False, "false": False, "0": False, "n": False}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True
    default: object = None
    choices: tuple[str, ...] = ()
    help: str = ""
    as_text: bool = False  # formatted as text in new workbooks: an id like 012345678901 keeps its zero


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    required: bool = True
    help: str = ""
    unique: tuple[str, ...] = field(default=())
    needs_rows: bool = False  # an empty table is an error (no agencies: nothing to bill)

    @property
    def required_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def text_spec(name: str, columns: list[str]) -> TableSpec:
    """How an output table brm_xl appends to (a log) is read back: optional text columns."""
    return TableSpec(name, tuple(Column(c, TEXT, required=False) for c in columns),
                     required=False)


def header_key(text: object) -> str:
    """Headers match ignoring case, spaces, underscores and hyphens."""
    return re.sub(r"[\s_\-]+", "", str(text or "")).casefold()


def header_positions(headers: list[str]) -> dict[str, int]:
    """Header key -> position; where two headers match one key, the first one counts, for
    reading and for appending alike."""
    positions: dict[str, int] = {}
    for i, text in enumerate(headers):
        positions.setdefault(header_key(text), i)
    return positions


CHANNELS = (
    "In person - individual",
    "In person - group",
    "Virtual meeting",
    "Phone",
    "Email",
)
OUTCOME_STATUSES = ("On track", "At risk", "Off track", "Achieved")

AGENCIES = TableSpec(
    "Agencies",
    (
        Column("agency_id", ID, help="short code, e.g. DOT"),
        Column("agency_name", TEXT),
        Column("head_name", TEXT, required=False),
        Column("head_email", EMAIL, required=False),
        Column("brm_manager", TEXT, required=False),
        Column("brm_email", EMAIL, required=False),
        Column("contact_cadence_days", COUNT, required=False, default=30),
    ),
    help="One row per customer agency.",
    unique=("agency_id",),
    needs_rows=True,
)
RATE_CARD = TableSpec(
    "RateCard",
    (
        Column("service_id", ID),
        Column("service_name", TEXT),
        Column("tower", TEXT),
        Column("unit", TEXT),
        Column("rate", RATE),
        Column("effective_from", MONTH),
        Column("effective_to", MONTH, required=False),
    ),
    help="Price per unit of each service, effective-dated.",
    needs_rows=True,
)
USAGE = TableSpec(
    "Usage",
    (
        Column("period", MONTH),
        Column("agency_id", ID),
        Column("service_id", ID),
        Column("quantity", QUANTITY),
    ),
    help="Units each agency consumed of each service per month.",
)
HEADCOUNT = TableSpec(
    "Headcount",
    (Column("period", MONTH), Column("agency_id", ID), Column("users", COUNT)),
    help="Users an agency's IT serves each month: the divisor of cost per user.",
)
ADJUSTMENTS = TableSpec(
    "Adjustments",
    (
        Column("period", MONTH),
        Column("agency_id", ID),
        Column("service_id", ID, required=False),
        Column("amount", SIGNED_MONEY),
        Column("reason", TEXT),
    ),
    required=False,
    help="Credits and corrections; negative amounts are credits.",
)
COST_POOLS = TableSpec(
    "CostPools",
    (Column("period", MONTH), Column("service_id", ID), Column("cost", MONEY)),
    required=False,
    help="What providing each service cost the office each month.",
)
STANDALONE_COSTS = TableSpec(
    "StandaloneCosts",
    (Column("service_id", ID), Column("component", TEXT), Column("unit_cost", UNIT_COST)),
    required=False,
    help="What an agency would pay per unit if it ran the service on its own.",
)

SURVEY = TableSpec(
    "Survey",
    (
        Column("response_id", ID),
        Column("submitted_on", DATE),
        Column("agency_id", ID),
        Column("respondent", TEXT, required=False),  # blank: an anonymous response
        Column("service_id", ID, required=False),
        Column("score", SCORE, help="1 = very dissatisfied .. 5 = very satisfied"),
        Column("comment", TEXT, required=False),
        Column("followed_up_on", DATE, required=False),
        Column("follow_up_note", TEXT, required=False),
        Column("source", TEXT, required=False,
               help="the export file a response was imported from (import-survey fills it)"),
    ),
    required=False,
    help="Satisfaction survey responses, one row each.",
    unique=("response_id",),
)
ENGAGEMENTS = TableSpec(
    "Engagements",
    (
        Column("date", DATE),
        Column("agency_id", ID),
        Column("brm_manager", TEXT),
        Column("channel", CHOICE, choices=CHANNELS),
        Column("topic", TEXT),
        Column("attendees", TEXT, required=False),
        Column("notes", TEXT, required=False),
        Column("action_item", TEXT, required=False),
        Column("action_owner", TEXT, required=False),
        Column("action_due", DATE, required=False),
        Column("action_done_on", DATE, required=False),
        Column("touchpoint", TEXT, required=False,
               help="the CommsPlan touchpoint it keeps (Quarterly business review, Strategic "
                    "planning), or a Forums forum_id: a meeting of that forum"),
    ),
    required=False,
    help="Every contact with an agency, and the actions agreed.",
)

OUTCOMES = TableSpec(
    "Outcomes",
    (
        Column("agency_id", ID),
        Column("initiative", TEXT),
        Column("outcome", TEXT, required=False),
        Column("measure", TEXT, required=False),
        Column("baseline", TEXT, required=False),
        Column("target", TEXT, required=False),
        Column("actual", TEXT, required=False),
        Column("status", CHOICE, choices=OUTCOME_STATUSES),
        Column("as_of", DATE, required=False),
    ),
    required=False,
    help="Outcomes delivered with each agency: what was measured, the target, the result.",
)

# The Business Relationship Maturity Model's five levels, as the BRM Institute publishes them
MATURITY_LEVELS = ("Ad hoc", "Order taker", "Service provider", "Trusted advisor",
                   "Strategic partner")
ASSESSORS = ("office", "agency")
VALUE_KINDS = ("savings", "cost avoided", "revenue", "time saved")
PLAN_STATUSES = ("planned", "in progress", "delivered", "dropped")
FORUM_PURPOSES = ("strategic", "tactical")
INFLUENCE = ("high", "medium", "low")
SUPPORT = ("champion", "supporter", "neutral", "sceptic")

ASSESSMENTS = TableSpec(
    "Assessments",
    (
        Column("agency_id", ID),
        Column("assessed_on", DATE),
        Column("assessed_by", CHOICE, choices=ASSESSORS,
               help="office: the CIO's office rates the relationship; agency: the agency does"),
        Column("maturity", SCORE, help="1 Ad hoc, 2 Order taker, 3 Service provider, "
                                       "4 Trusted advisor, 5 Strategic partner"),
        Column("notes", TEXT, required=False),
    ),
    required=False,
    help="How mature each relationship is, rated by both sides (the BRM maturity model).",
)
ACCOUNT_PLANS = TableSpec(
    "AccountPlans",
    (
        Column("plan_id", ID),
        Column("agency_id", ID),
        Column("outcome_id", TEXT, required=False, help="the Outcomes row it serves"),
        Column("fiscal_year", TEXT, help="e.g. FY2027"),
        Column("goal", TEXT, help="the agency's goal, in its words"),
        Column("initiative", TEXT),
        Column("planned_value", MONEY),
        Column("value_kind", CHOICE, required=False, choices=VALUE_KINDS),
        Column("owner", TEXT, required=False),
        Column("due", DATE),
        Column("status", CHOICE, choices=PLAN_STATUSES),
    ),
    required=False,
    help="Each agency's account plan: its goals, the initiatives that serve them, the value "
         "each should deliver.",
    unique=("plan_id",),
)
VALUE_REALISED = TableSpec(
    "ValueRealised",
    (
        Column("plan_id", ID),
        Column("period", MONTH),
        Column("realised_value", MONEY),
        Column("evidence", TEXT, required=False),
    ),
    required=False,
    help="The value an account plan's initiative realised, month by month, with evidence.",
)
COMMS_PLAN = TableSpec(
    "CommsPlan",
    (
        Column("agency_id", ID),
        Column("touchpoint", TEXT, help="e.g. Quarterly business review, Strategic planning"),
        Column("every_days", COUNT),
        Column("starts_on", DATE),
    ),
    required=False,
    help="The communications plan: each planned touchpoint with an agency and how often.",
)
FORUMS = TableSpec(
    "Forums",
    (
        Column("forum_id", ID),
        Column("name", TEXT),
        Column("purpose", CHOICE, choices=FORUM_PURPOSES),
        Column("every_days", COUNT),
        Column("members", TEXT, help="agency ids, vendor ids and office roles, separated by ;"),
    ),
    required=False,
    help="Governance forums of CIO staff, agencies and trusted partners; an engagement whose "
         "touchpoint is a forum_id is a meeting of it.",
    unique=("forum_id",),
)
STAKEHOLDERS = TableSpec(
    "Stakeholders",
    (
        Column("agency_id", ID),
        Column("name", TEXT),
        Column("role", TEXT, required=False),
        Column("influence", CHOICE, choices=INFLUENCE),
        Column("support", CHOICE, required=False, choices=SUPPORT),
        Column("next_step", TEXT, required=False),
    ),
    required=False,
    help="The stakeholder map: who matters at each agency, and when they were last met.",
)
BRM_TABLES = (ASSESSMENTS, ACCOUNT_PLANS, VALUE_REALISED, COMMS_PLAN, FORUMS, STAKEHOLDERS)

FOCUS_MAP = TableSpec(
    "FocusMap",
    (
        Column("sub_account_id", TEXT, required=False, as_text=True),
        Column("sub_account_name", TEXT, required=False),
        Column("agency_id", ID),
    ),
    required=False,
    help="Which agency a cloud sub-account (account, subscription, project) belongs to.",
)
EXCHANGE_RATES = TableSpec(
    "ExchangeRates",
    (
        Column("period", MONTH),
        Column("currency", TEXT),
        Column("rate", QUANTITY, help="units of the workbook's currency per 1 of this currency"),
    ),
    required=False,
    help="What one unit of a cloud bill's BillingCurrency is worth in the workbook's currency, "
         "by month.",
    unique=("period", "currency"),
)

DRIVER_WORDS = ("users", "spend", "fixed")  # any other driver is named in Drivers
ALLOCATIONS = TableSpec(
    "Allocations",
    (
        Column("pool_id", ID, help="e.g. SECURITY"),
        Column("name", TEXT, help="what the agencies see, e.g. Enterprise security"),
        Column("service_id", ID, required=False,
               help="optional: the RateCard service whose cost the pool recovers"),
        Column("tower", TEXT),
        Column("monthly_amount", MONEY),
        Column("effective_from", MONTH),
        Column("effective_to", MONTH, required=False),
        Column("driver", TEXT, help="users, spend, fixed (AllocationShares) or a Drivers name"),
        Column("agencies", TEXT, required=False, help="optional: ids separated by ; (default all)"),
    ),
    required=False,
    help="Costs billed regardless of use, spread over agencies by a driver, effective-dated.",
)
ALLOCATION_SHARES = TableSpec(
    "AllocationShares",
    (Column("pool_id", ID), Column("agency_id", ID),
     Column("share", QUANTITY, help="percent; a pool's shares add up to 100")),
    required=False,
    help="The fixed shares of a pool whose driver is fixed.",
)
DRIVERS = TableSpec(
    "Drivers",
    (Column("period", MONTH), Column("agency_id", ID),
     Column("driver", TEXT, help="e.g. fte"), Column("value", QUANTITY)),
    required=False,
    help="Each agency's measure of a named driver by month (staff, devices, IT spend).",
)
REVIEW_CHOICES = ("approve", "hold")
REVIEW_DECISIONS = TableSpec(
    "ReviewDecisions",
    (
        Column("period", MONTH),
        Column("agency_id", ID, help="as in Review (UNALLOCATED for cloud cost no agency has)"),
        Column("service_id", ID),
        Column("decision", CHOICE, choices=REVIEW_CHOICES),
        Column("decided_by", TEXT),
        Column("decided_on", DATE),
        Column("note", TEXT, required=False),
    ),
    required=False,
    help="What finance decided about each Review flag: approve it, or hold the line to a "
         "later month.",
)
UNALLOCATED_AGENCY = "UNALLOCATED"  # Review's agency for cloud cost no agency was found for

CHARGEBACK_TABLES = (
    AGENCIES, RATE_CARD, USAGE, HEADCOUNT, ADJUSTMENTS, COST_POOLS, STANDALONE_COSTS,
    ALLOCATIONS, ALLOCATION_SHARES, DRIVERS, REVIEW_DECISIONS,
)
RELATIONSHIP_TABLES = (SURVEY, ENGAGEMENTS, OUTCOMES, *BRM_TABLES)
BUDGETS = TableSpec(
    "Budgets",
    (
        Column("fiscal_year", TEXT, help="e.g. FY2027"),
        Column("agency_id", ID),
        Column("amount", MONEY),
        Column("tower", TEXT, required=False, help="optional: a tower's share; rows add up"),
    ),
    required=False,
    help="What each agency has budgeted for shared IT in a fiscal year.",
)
DISPUTE_STATUSES = ("Open", "Accepted", "Rejected", "Withdrawn")
DISPUTES = TableSpec(
    "Disputes",
    (
        Column("dispute_id", ID),
        Column("agency_id", ID),
        Column("period", MONTH, help="the billed month the agency disputes"),
        Column("service_id", ID, required=False),
        Column("amount", MONEY, help="what the agency disputes"),
        Column("reason", TEXT),
        Column("raised_on", DATE),
        Column("status", CHOICE, choices=DISPUTE_STATUSES),
        Column("resolved_on", DATE, required=False),
        Column("resolution", TEXT, required=False),
        Column("credit", MONEY, required=False, help="credited when Accepted (default amount)"),
    ),
    required=False,
    help="An agency's challenge to a bill; Accepted, it is credited in an open month.",
    unique=("dispute_id",),
)
VENDORS = TableSpec(
    "Vendors",
    (Column("vendor_id", ID), Column("vendor_name", TEXT),
     Column("vendor_manager", TEXT, required=False), Column("vendor_email", EMAIL, required=False)),
    required=False, help="The vendors behind the services the office brokers.",
    unique=("vendor_id",),
)
CONTRACTS = TableSpec(
    "Contracts",
    (Column("contract_id", ID), Column("vendor_id", ID), Column("contract_name", TEXT),
     Column("start", DATE), Column("end", DATE, required=False),
     Column("annual_value", MONEY, required=False),
     Column("services", TEXT, help="RateCard service ids it delivers, separated by ;")),
    required=False, help="Each vendor contract and the services it delivers.",
    unique=("contract_id",),
)
SL_KINDS = ("critical", "key", "KPI")
SL_DIRECTIONS = ("higher", "lower")
SERVICE_LEVELS = TableSpec(
    "ServiceLevels",
    (Column("sl_id", ID), Column("contract_id", ID), Column("name", TEXT),
     Column("kind", CHOICE, choices=SL_KINDS), Column("unit", TEXT, required=False),
     Column("direction", CHOICE, choices=SL_DIRECTIONS, help="higher or lower is better"),
     Column("minimum", SIGNED_QUANTITY), Column("expected", SIGNED_QUANTITY),
     Column("weight", QUANTITY, help="per contract, summing to 100"),
     Column("credit_pct", QUANTITY, required=False,
            help="on a miss of a critical level: percent of the month's priced charges for "
                 "the contract's services the vendor credits"),
     Column("outcome", TEXT, required=False)),
    required=False, help="What each contract promises, month by month.",
    unique=("sl_id",),
)
SL_RESULTS = TableSpec(
    "SLResults",
    (Column("period", MONTH), Column("sl_id", ID), Column("actual", SIGNED_QUANTITY, required=False),
     Column("excluded", TEXT, required=False, help="why the month does not count, if it does not")),
    required=False, help="Each service level's measured result by month.",
)
CORRECTIVE_ACTIONS = TableSpec(
    "CorrectiveActions",
    (Column("cap_id", ID), Column("vendor_id", ID), Column("opened_on", DATE),
     Column("issue", TEXT), Column("root_cause", TEXT, required=False),
     Column("action", TEXT, required=False), Column("owner", TEXT, required=False),
     Column("due_on", DATE, required=False), Column("closed_on", DATE, required=False)),
    required=False, help="Corrective action plans agreed with vendors.",
    unique=("cap_id",),
)
VENDOR_TABLES = (VENDORS, CONTRACTS, SERVICE_LEVELS, SL_RESULTS, CORRECTIVE_ACTIONS)
GL_KINDS = ("Agency", "Service", "Adjustments")
GL_ACCOUNTS = TableSpec(
    "GLAccounts",
    (
        Column("kind", CHOICE, choices=GL_KINDS,
               help="Agency: what it is charged to; Service: where its revenue goes; "
                    "Adjustments: revenue of adjustments not tied to a service"),
        Column("id", ID, required=False, help="the agency_id or service_id (blank for Adjustments)"),
        Column("fund", TEXT, as_text=True),
        Column("department", TEXT, required=False, as_text=True),
        Column("account", TEXT, as_text=True),
    ),
    required=False,
    help="The general ledger accounts the closed month's journal debits and credits.",
)
INPUT_TABLES = CHARGEBACK_TABLES + RELATIONSHIP_TABLES + (FOCUS_MAP, EXCHANGE_RATES, GL_ACCOUNTS,
                                                          DISPUTES, BUDGETS, *VENDOR_TABLES)
TABLES_BY_NAME = {t.name: t for t in INPUT_TABLES}

# The tables brm_xl writes, and what each is for (the Instructions sheet, the README)
OUTPUT_TABLES: dict[str, str] = {
    "Charges": "every bill line: usage priced by the rate card, cloud costs, adjustments, "
               "credits and allocations, with the reason",
    "AgencySummary": "each agency's month: charges, users, cost per user, value, satisfaction",
    "Review": "charges that changed sharply, services new to an agency and unallocated "
              "cloud cost, for finance to approve or hold before the month closes",
    "Recovery": "each service's month: what it cost the office against what it charged",
    "FollowUps": "every score below the follow-up line, and whether it was called back",
    "Relationships": "each agency's relationship health and the reasons for it, maturity "
                     "rated by both sides, touchpoints kept",
    "ValueRealisation": "each account plan's initiative: planned value, realised to date, "
                        "whether it is overdue",
    "Unallocated": "cloud costs no agency could be found for (FOCUS bills)",
    "Sources": "the usage files and cloud bills a refresh read, known by their content",
    "DisputeLog": "each dispute's age, status and credit",
    "Scorecard": "each vendor's monthly score and grade against its service levels",
    "ServiceCredits": "credits vendors owe for missed critical service levels, by agency",
    "RefreshLog": "one row per refresh (appended)",
    "Closes": "each month closed or reopened, with its seal (written by close)",
    "PublishedCharges": "the bill lines of closed months as published (written by close)",
    "PublishedHeadcount": "the users of closed months as published (written by close)",
    "AuditLog": "every close, reopen, journal and send (appended; never edit it)",
    "Deliveries": "every value-report email sent or drafted (written by email)",
    "RateProposal": "next year's rates that recover each service's cost (brm-xl rates)",
    "RateEffect": "what those rates would change for each agency (brm-xl rates)",
}

MAIL_TRANSPORTS = ("smtp", "graph", "outlook")
SMTP_AUTHS = ("password", "oauth2", "none")

# Settings: key -> (kind, default). Keys match like headers do.
SETTINGS_DEFAULTS: dict[str, tuple[str, object]] = {
    "organization": (TEXT, "Office of the State CIO"),
    "currency": (TEXT, "USD"),
    "fiscal_year_start_month": (COUNT, 7),
    "follow_up_below": (SCORE, 4),
    "follow_up_days": (COUNT, 7),
    "sender_name": (TEXT, None),
    "sender_email": (EMAIL, None),
    "reply_to": (EMAIL, None),
    "smtp_host": (TEXT, None),
    "smtp_port": (COUNT, 587),
    # how mail goes (see README "Email"): smtp, graph (Microsoft Graph) or outlook (classic
    # Outlook on Windows, drafts only); smtp_auth password (default), oauth2 or none
    "mail_transport": (TEXT, "smtp"),
    "smtp_auth": (TEXT, "password"),
    "smtp_oauth_scope": (TEXT, "https://outlook.office365.com/.default"),
    # the office's Microsoft 365 app registration (never its secret: see README "Email")
    "graph_tenant_id": (TEXT, None),
    "graph_client_id": (TEXT, None),
    "graph_mailbox": (TEXT, None),  # blank: the signed-in BRM manager's own mailbox
    "graph_authority_host": (TEXT, "https://login.microsoftonline.com"),
    "graph_endpoint": (TEXT, "https://graph.microsoft.com"),
    # relationship health (see README "Relationship health")
    "in_person_within_days": (COUNT, 90),
    "csat_target_pct": (COUNT, 80),
    "csat_drop_points": (COUNT, 10),
    "csat_min_responses": (COUNT, 5),
    "report_templates": (TEXT, None),  # a folder of the office's own report templates
    "report_period": (TEXT, None),  # what the Excel report and email buttons cover
    # the office's working view (health, reasons, follow-ups) in agency heads' reports too
    "show_health_to_agencies": (FLAG, False),
    # the office's own details in agency heads' reports too: vendors' corrective actions,
    # scores and changes, the tool's version (the two audiences: reports.data.AgencyReport)
    "show_internal_to_agencies": (FLAG, False),
    # usage beyond a sheet, and cloud bills (see README "Usage files and FOCUS")
    "usage_files": (TEXT, None),  # globs relative to the workbook, separated by ;
    "focus_files": (TEXT, None),
    "focus_agency_tag": (TEXT, None),  # the Tags key naming the agency, e.g. agency
    "focus_cost_column": (TEXT, "EffectiveCost"),  # or BilledCost
    "focus_surcharge_pct": (QUANTITY, 0),  # the office's admin surcharge on cloud cost
    # survey import (see README "Survey import")
    "survey_score_map": (TEXT, None),  # another scale to 1..5: "0-6=1, 7-8=3, 9-10=5"
    "survey_date_order": (TEXT, None),  # mdy or dmy, where an export's dates cannot tell
    # the GL journal of a closed month (see README "The monthly close")
    "journal_template": (TEXT, None),  # an office's own journal template (its ERP's layout)
    "journal_date": (TEXT, "month end"),  # the posting date: month end, close date, run date
    "ledger_path": (TEXT, None),  # a folder on the office's share for the append-only ledger
    "dispute_window_cycles": (COUNT, 4),  # invoice cycles an agency has to dispute a bill
    # review before the statement (see README "Review before the statement")
    "review_change_pct": (QUANTITY, 50),  # a charge that changed by more than this percent
    "review_min_amount": (MONEY, 1000),  # ... and by more than this amount is flagged
    "rate_decimals": (COUNT, 4),  # places a proposed rate is rounded to (brm-xl rates)
    # vendor scorecards (see README "Vendor performance")
    "vendor_grades": (TEXT, "A=90; B=80; C=70; D=60"),  # lowest score for each grade; below: F
    "pass_through_credits": (FLAG, True),  # vendors' service credits onto agencies' bills
    # office templates' bounds (see README "Office templates"): Settings may lower them,
    # never raise them (CEILINGS)
    "template_seconds": (COUNT, 30),  # how long one template may render
    "template_max_mb": (COUNT, 50),  # how much one template may write
}
CEILINGS = ("template_seconds", "template_max_mb")  # their defaults are the most allowed
TEMPLATE_LOOP_STEPS = 5_000_000  # loop items and range() numbers one template may spend
# Settings rows `agency_alias:TEXT` = agency id: another name an agency goes by in exports
AGENCY_ALIAS_PREFIX = "agency_alias:"
# Settings rows `survey_date_order:TOOL` = mdy or dmy: the date order a person gave for a
# tool's exports whose dates cannot tell (kept by `import-survey --date-order`)
SURVEY_DATE_ORDER_PREFIX = "survey_date_order:"
# Rows brm_xl adds to Settings (an alias, a date order), as the Settings sheet is laid out
SETTINGS_ROWS = text_spec("Settings", ["key", "value"])
SECRET_WORDS = ("password", "passwd", "secret", "token", "apikey")
