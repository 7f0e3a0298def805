"""Demo data a state CIO's office would recognise, and `brm-xl demo` that shows it off.

25 agencies from a 50-user arts council to a 20,000-user human services department,
four BRM managers (one holding twelve agencies), about thirty services across TBM towers
at public-sector rates (an email mailbox is $4 a month), 24 months with a mid-year rate
change, adjustments with reasons, cost pools and standalone costs. Seeded: the same
workbook every run.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from brm_xl.app.template import build_workbook

D = Decimal

MANAGERS = {
    "Maria Gonzalez": "maria.gonzalez@cio.state.example",
    "James Whitfield": "james.whitfield@cio.state.example",
    "Priya Raman": "priya.raman@cio.state.example",
    "Daniel Okafor": "daniel.okafor@cio.state.example",
}

# id, name, head, users (latest), manager, cadence (days)
AGENCIES = [
    ("DHS", "Department of Human Services", "Angela Brooks", 20000, "Maria Gonzalez", 14),
    ("DOT", "Department of Transportation", "Robert Kim", 9800, "James Whitfield", 21),
    ("DOC", "Department of Corrections", "Sandra Lee", 12500, "Maria Gonzalez", 30),
    ("DOR", "Department of Revenue", "Michael Chen", 4200, "James Whitfield", 30),
    ("DOH", "Department of Health", "Patricia Nguyen", 6100, "Priya Raman", 21),
    ("DPS", "Department of Public Safety", "William Harris", 7300, "Maria Gonzalez", 21),
    ("DOE", "Department of Education", "Linda Martinez", 1900, "Priya Raman", 30),
    ("DOL", "Department of Labor", "Thomas Wright", 2600, "Maria Gonzalez", 30),
    ("DNR", "Department of Natural Resources", "Karen Lopez", 3400, "Daniel Okafor", 45),
    ("AGR", "Department of Agriculture", "Steven Clark", 1100, "Maria Gonzalez", 45),
    ("DOA/OTS", "Department of Administration - Office of Technology Services",
     "Nancy Young", 850, "James Whitfield", 30),
    ("SOS", "Secretary of State", "Mark Allen", 420, "Maria Gonzalez", 60),
    ("TRE", "State Treasurer", "Barbara Scott", 180, "Maria Gonzalez", 60),
    ("DEQ", "Department of Environmental Quality", "Paul Adams", 1300, "Daniel Okafor", 45),
    ("DVA", "Department of Veterans Affairs", "Donna Baker", 2200, "Priya Raman", 30),
    ("DOI", "Department of Insurance", "George Nelson", 380, "Maria Gonzalez", 60),
    ("DMV", "Division of Motor Vehicles", "Michelle Carter", 3100, "James Whitfield", 21),
    ("COM", "Department of Commerce", "Kenneth Mitchell", 640, "Maria Gonzalez", 45),
    ("PUC", "Public Utilities Commission", "Carol Perez", 260, "Daniel Okafor", 60),
    ("LIB", "State Library", "Edward Roberts", 95, "Maria Gonzalez", 90),
    ("DJJ", "Department of Juvenile Justice", "Sharon Turner", 1700, "Priya Raman", 30),
    ("OEM", "Office of Emergency Management", "Brian Phillips", 310, "Maria Gonzalez", 21),
    ("DCFS", "Department of Children and Family Services", "Laura Campbell", 5200,
     "Priya Raman", 21),
    ("DFW", "Department of Fish and Wildlife", "Jason Parker", 1450, "Daniel Okafor", 45),
    ("ART", "State Arts Council", "Emily Evans", 50, "Maria Gonzalez", 90),
]

# id, name, tower, unit, rate before, rate from the mid-year change (None = unchanged),
# units per user (usage driver), standalone multiple of the rate
SERVICES = [
    ("EMAIL-STD", "Email mailbox (4 GB)", "End User", "mailbox-month", "4.00", None, 1.02, 1.45),
    ("EMAIL-GB", "Email extra storage", "End User", "GB-month", "1.00", None, 0.6, 1.3),
    ("EMAIL-DIS", "Disabled mailbox", "End User", "mailbox-month", "2.00", None, 0.05, 1.2),
    ("M365-G3", "Microsoft 365 G3 licence", "End User", "user-month", "32.75", "34.10", 0.9, 1.15),
    ("M365-G5", "Microsoft 365 G5 licence", "End User", "user-month", "54.20", "56.45", 0.06, 1.15),
    ("DESKTOP", "Desktop and laptop support", "End User", "device-month", "42.50", None, 0.95, 1.6),
    ("MOBILE", "Mobile device management", "End User", "device-month", "3.25", None, 0.35, 1.5),
    ("SERVICEDESK", "Service desk", "End User", "user-month", "6.75", "7.10", 1.0, 1.7),
    ("PRINT", "Managed print", "End User", "device-month", "18.40", None, 0.04, 1.4),
    ("VM-STD", "Virtual server, standard", "Compute", "VM-month", "185.00", "172.50", 0.02, 1.55),
    ("VM-LARGE", "Virtual server, large", "Compute", "VM-month", "420.00", "398.00", 0.004, 1.5),
    ("MAINFRAME", "Mainframe processing", "Compute", "MIPS-month", "1150.00", None, 0.0006, 1.8),
    ("HOSTING", "Data centre rack space", "Compute", "rack-month", "1250.00", None, 0.0005, 2.1),
    ("STOR-T1", "SAN storage, tier 1", "Storage", "GB-month", "0.1250", "0.1100", 18.0, 1.9),
    ("STOR-T2", "SAN storage, tier 2", "Storage", "GB-month", "0.0450", None, 35.0, 1.8),
    ("BACKUP", "Backup and recovery", "Storage", "GB-month", "0.0300", None, 40.0, 2.0),
    ("WAN", "WAN circuit", "Network", "site-month", "650.00", None, 0.002, 1.35),
    ("LAN", "LAN port", "Network", "port-month", "8.50", None, 1.1, 1.5),
    ("VPN", "Remote access VPN", "Network", "user-month", "2.10", None, 0.45, 1.6),
    ("VOIP", "Voice over IP line", "Network", "line-month", "19.95", "18.75", 0.7, 1.3),
    ("SEC-EDR", "Endpoint detection and response", "Security & Compliance", "device-month",
     "4.15", None, 1.0, 1.9),
    ("SEC-SOC", "Security operations centre", "Security & Compliance", "user-month", "3.05",
     None, 1.0, 2.6),
    ("SEC-IAM", "Identity and access management", "Security & Compliance", "user-month",
     "1.85", None, 1.0, 1.7),
    ("SEC-VULN", "Vulnerability scanning and patching", "Security & Compliance",
     "asset-month", "2.40", None, 1.2, 2.2),
    ("APP-HOST", "Application hosting", "Application", "app-month", "310.00", None, 0.003, 1.6),
    ("DB-SQL", "Managed SQL database", "Application", "instance-month", "275.00", None, 0.002,
     1.7),
    ("GIS", "GIS platform", "Application", "user-month", "45.00", None, 0.03, 1.4),
    ("ERP", "Statewide ERP (financials and HR)", "Application", "user-month", "28.50", None,
     1.0, 1.25),
    ("DATA-ANL", "Data and analytics platform", "Application", "user-month", "12.80", None,
     0.08, 1.5),
    ("GOVDELIVERY", "Citizen notification service", "Application", "message-thousand",
     "6.20", None, 0.3, 1.3),
]
LARGE_ONLY = {"MAINFRAME", "HOSTING", "VM-LARGE", "DB-SQL", "WAN"}

COMPONENTS = {  # share of standalone cost by component, per tower
    "End User": [("Hardware refresh", 35), ("Security patching", 15), ("Staff", 40),
                 ("Electricity and cooling", 5), ("Data centre floor space", 5)],
    "Compute": [("Data centre floor space", 15), ("Backup generators", 7),
                ("Electricity and cooling", 13), ("Security patching", 10),
                ("Hardware refresh", 25), ("Staff", 30)],
    "Storage": [("Data centre floor space", 15), ("Backup generators", 8),
                ("Electricity and cooling", 15), ("Hardware refresh", 37), ("Staff", 25)],
    "Network": [("Hardware refresh", 30), ("Security patching", 15), ("Staff", 35),
                ("Electricity and cooling", 10), ("Backup generators", 10)],
    "Security & Compliance": [("Security patching", 35), ("Staff", 50), ("Hardware refresh", 15)],
    "Application": [("Data centre floor space", 10), ("Electricity and cooling", 10),
                    ("Security patching", 15), ("Hardware refresh", 20), ("Staff", 45)],
}

FIRST_MONTH = dt.date(2024, 11, 1)
MONTHS = 24
RATE_CHANGE = dt.date(2026, 1, 1)  # mid fiscal year 2026


def months(first: dt.date = FIRST_MONTH, count: int = MONTHS) -> list[dt.date]:
    out = []
    y, m = first.year, first.month
    for _ in range(count):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def demo_rows(seed: int = 2026) -> dict[str, list[tuple[Any, ...]]]:
    rng = random.Random(seed)
    periods = months()
    rows: dict[str, list[tuple[Any, ...]]] = {}
    rows["Agencies"] = [
        (aid, name, head, _email(head, aid), mgr, MANAGERS[mgr], cadence)
        for aid, name, head, _users, mgr, cadence in AGENCIES
    ]
    rows["RateCard"] = _rate_card()
    users = _headcount(rng, periods)
    rows["Headcount"] = [(p, aid, n) for (p, aid), n in sorted(users.items())]
    rows["Usage"] = _usage(rng, periods, users)
    rows["Adjustments"] = _adjustments(periods)
    rows["CostPools"] = _cost_pools(rng, periods, rows["Usage"])
    rows["StandaloneCosts"] = _standalone()
    rows["Survey"] = _survey(rng, periods)
    rows["Engagements"] = _engagements(rng)
    rows["Outcomes"] = OUTCOMES
    rows["Engagements"] += _touchpoint_contacts()
    rows.update(BRM_ROWS)
    rows["Disputes"] = DISPUTES
    rows["GLAccounts"] = _gl_accounts()
    rows["Budgets"] = _budgets(rows["Headcount"])
    rows.update(_vendors(rng))
    rows.update(_allocations(rows["Headcount"]))
    rows["FocusMap"] = [(account, name, aid) for aid, account, name, _services in CLOUD]
    rows["ReviewDecisions"] = REVIEW_DECISIONS
    return rows


# Costs billed regardless of use (Allocations): the security programme by users, the CIO
# office by spend, the GIS licence by fixed shares (renewed mid-year at a new price), the
# ERP programme by full-time staff (Drivers) for the agencies on it
POOLS: list[tuple[Any, ...]] = [
    ("SECURITY", "Enterprise security programme", None, "Security & Compliance",
     D("85000.00"), FIRST_MONTH, None, "users", None),
    ("CIO-OFFICE", "Office of the State CIO", None, "Governance", D("120000.00"), FIRST_MONTH,
     None, "spend", None),
    ("GIS-ELA", "GIS enterprise licence", "GIS", "Application", D("18000.00"), FIRST_MONTH,
     dt.date(2026, 6, 1), "fixed", None),
    ("GIS-ELA", "GIS enterprise licence", "GIS", "Application", D("19440.00"),
     dt.date(2026, 7, 1), None, "fixed", None),
    ("ERP-MOD", "ERP modernisation programme", None, "Application", D("42000.00"), FIRST_MONTH,
     None, "fte", "DHS; DOT; DOC; DOR; DOH; DPS; DCFS"),
]
GIS_SHARES = [("GIS-ELA", "DOT", D("40")), ("GIS-ELA", "DNR", D("25")),
              ("GIS-ELA", "DEQ", D("15")), ("GIS-ELA", "DFW", D("12.5")),
              ("GIS-ELA", "AGR", D("7.5"))]
FTE_SHARE = D("0.62")  # full-time staff per user, near enough for the ERP programme's driver


def _allocations(headcount: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    erp = {a.strip() for a in str(POOLS[-1][-1]).split(";")}
    drivers = [(p, aid, "fte", (D(n) * FTE_SHARE).quantize(D("1")))
               for p, aid, n in headcount if aid in erp]
    return {"Allocations": POOLS, "AllocationShares": GIS_SHARES, "Drivers": drivers}


# Cloud bills in FOCUS, written beside the workbook (Settings focus_files): agency, sub
# account, its name, and (service, category, provider, monthly cost, list price over cost)
CLOUD: list[tuple[str, str, str, list[tuple[str, str, str, str, str]]]] = [
    ("DHS", "111122223333", "dhs-benefits-prod", [
        ("Amazon Elastic Compute Cloud", "Compute", "AWS", "9400", "1.31"),
        ("Amazon Simple Storage Service", "Storage", "AWS", "2100", "1.18")]),
    ("DOT", "444455556666", "dot-traffic-data", [
        ("Amazon Elastic Compute Cloud", "Compute", "AWS", "3900", "1.31"),
        ("Amazon Simple Storage Service", "Storage", "AWS", "1650", "1.18")]),
    ("DPS", "sub-dps-records", "dps-records", [
        ("Azure Virtual Machines", "Compute", "Microsoft", "6200", "1.27")]),
    ("DOH", "777788889999", "doh-surveillance", [
        ("Amazon Elastic Compute Cloud", "Compute", "AWS", "2800", "1.31")]),
]
CLOUD_FOLDER = "cloud-bills"
CLOUD_SURCHARGE_PCT = 3
# the review flags of the latest month, decided: a body-camera pilot's cloud spend agreed
# in advance, and a machine-learning service nobody at DOH asked for, held while it is found
SPIKE = ("DPS", "Azure Virtual Machines", D("3.1"))  # the month's cost, times this
SURPRISE = ("DOH", "777788889999", "Amazon SageMaker", "Machine Learning", "AWS", D("7400"),
            D("1.22"))
REVIEW_DECISIONS: list[tuple[Any, ...]] = [
    # DOL's mainframe use is one or two blocks a month: each doubling is flagged, and agreed
    *[(dt.date.fromisoformat(m + "-01"), "DOL", "MAINFRAME", "approve", "Finance Clerk",
       dt.date.fromisoformat(m + "-01") + dt.timedelta(days=36),
       "Quarter-end batch runs: a second mainframe block, as DOL planned")
      for m in ("2025-03", "2025-05", "2025-07", "2025-10", "2026-03", "2026-05")],
    (dt.date(2026, 10, 1), "DPS", "Azure Virtual Machines", "approve", "Finance Clerk",
     dt.date(2026, 11, 4), "Body-camera video pilot moved to Azure; agreed at the ITGOV board"),
    (dt.date(2026, 10, 1), "DOH", "Amazon SageMaker", "hold", "Finance Clerk",
     dt.date(2026, 11, 4), "DOH did not request this service; the sub-account is being checked "
     "(INC0051177)"),
]
FOCUS_HEADERS = ["BillingAccountId", "BillingPeriodStart", "ChargePeriodStart", "ChargeCategory",
                 "ServiceName", "ServiceCategory", "SubAccountId", "SubAccountName",
                 "ProviderName", "BillingCurrency", "EffectiveCost", "ListCost"]


def write_cloud_bills(folder: Path, seed: int = 2026) -> list[Path]:
    """One FOCUS 1.x CSV per month and provider billing account, as the providers export
    them: the cost the state pays under its agreements and the list price beside it."""
    import csv

    rng = random.Random(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    periods = months()
    for p in periods:
        start = f"{p:%Y-%m}-01T00:00:00Z"
        rows = []
        for aid, account, name, services in CLOUD:
            for service, category, provider, monthly, markup in services:
                cost = D(monthly) * D(str(round(rng.uniform(0.94, 1.06), 3)))
                if p == periods[-1] and (aid, service) == SPIKE[:2]:
                    cost *= SPIKE[2]
                rows.append((provider, account, name, service, category, cost.quantize(D("0.01")),
                             (cost * D(markup)).quantize(D("0.01"))))
            if p == periods[-1] and aid == SURPRISE[0]:
                rows.append((SURPRISE[4], SURPRISE[1], name, SURPRISE[2], SURPRISE[3],
                             SURPRISE[5], (SURPRISE[5] * SURPRISE[6]).quantize(D("0.01"))))
        for provider, billing in (("AWS", "AWS-ORG-STATE"), ("Microsoft", "EA-STATE-0042")):
            path = folder / f"focus-{provider.lower()}-{p:%Y-%m}.csv"
            with path.open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(FOCUS_HEADERS)
                for prov, account, name, service, category, cost, listed in rows:
                    if prov == provider:
                        writer.writerow([billing, start, start, "Usage", service, category,
                                         account, name, provider, "USD", cost, listed])
            paths.append(path)
    return paths


# Six vendors of the kinds a state office brokers, their contracts and service levels:
# (vendor id, name, manager, contract, services, [(sl, name, kind, unit, direction,
#  minimum, expected, weight, credit_pct, outcome, typical result, spread)])
VENDORS: list[tuple[str, str, str, str, str, list[tuple[Any, ...]]]] = [
    ("NETCO", "Statewide Network Carrier", "Dana Ortiz", "Managed WAN and voice", "WAN; LAN; VPN; VOIP", [
        ("NET-AVAIL", "Network availability", "critical", "%", "higher", "99.90", "99.95", 40, 5,
         "Offices and field staff stay connected to state systems", "99.96", "0.04"),
        ("NET-MTTR", "Time to restore a site", "key", "hours", "lower", "8", "4", 30, None,
         "A branch office is back online the same day", "3.5", "1.5"),
        ("NET-VOICE", "Call quality (MOS)", "KPI", "MOS", "higher", "3.6", "4.0", 30, None,
         "Citizens' calls to agencies are clear", "4.1", "0.15")]),
    ("DCOPS", "Data Centre Operator", "Lee Fraser", "Hosting and storage", "HOSTING; VM-STD; VM-LARGE; STOR-T1; STOR-T2; BACKUP", [
        ("DC-AVAIL", "Hosting availability", "critical", "%", "higher", "99.95", "99.99", 50, 8,
         "Benefits and licensing systems are up when citizens need them", "99.99", "0.015"),
        ("DC-RESTORE", "Backup restore success", "key", "%", "higher", "98", "99.5", 30, None,
         "Lost data can be recovered", "99.6", "0.6"),
        ("DC-PUE", "Power usage effectiveness", "KPI", "PUE", "lower", "1.6", "1.4", 20, None,
         "Lower energy cost per server", "1.45", "0.05")]),
    ("CLOUDR", "Cloud Reseller", "Ana Kim", "Cloud platform services", "APP-HOST; DB-SQL; DATA-ANL", [
        ("CL-AVAIL", "Platform availability", "critical", "%", "higher", "99.9", "99.95", 60, 5,
         "Agency applications in the cloud stay available", "99.97", "0.03"),
        ("CL-TICKET", "Support response (P1)", "key", "minutes", "lower", "30", "15", 40, None,
         "Outages are worked on at once", "12", "6")]),
    ("DESKCO", "Service Desk Outsourcer", "Ravi Shah", "Service desk and end-user support", "SERVICEDESK; DESKTOP; MOBILE; PRINT", [
        ("SD-FCR", "First-contact resolution", "key", "%", "higher", "70", "78", 35, None,
         "Staff get back to work on the first call", "79", "3"),
        ("SD-ANSWER", "Calls answered in 60 s", "critical", "%", "higher", "80", "90", 40, 4,
         "Staff are not left waiting on the phone", "91", "4"),
        ("SD-CSAT", "Ticket satisfaction", "KPI", "%", "higher", "85", "92", 25, None,
         "Staff rate the help they get", "93", "2")]),
    ("M365R", "Microsoft 365 Reseller", "Jo Bell", "Microsoft 365 licensing and support", "EMAIL-STD; EMAIL-GB; EMAIL-DIS; M365-G3; M365-G5", [
        ("MS-PROV", "Licence provisioning in 1 day", "key", "%", "higher", "95", "99", 50, None,
         "New staff have email on their first day", "99.2", "0.8"),
        ("MS-ESC", "Escalations closed in 5 days", "KPI", "%", "higher", "85", "95", 50, None,
         "Problems with Microsoft are chased to the end", "96", "3")]),
    ("SOCPRO", "Security Operations Provider", "Morgan Lee", "Managed security operations", "SEC-SOC; SEC-EDR; SEC-VULN", [
        ("SOC-DETECT", "Critical alerts triaged in 15 min", "critical", "%", "higher", "95", "99", 50, 10,
         "Attacks on state systems are caught early", "99.3", "0.6"),
        ("SOC-PATCH", "Critical patches in 14 days", "key", "%", "higher", "90", "97", 30, None,
         "Known weaknesses are closed before they are used", "97.5", "2"),
        ("SOC-REPORT", "Monthly threat report on time", "KPI", "%", "higher", "100", "100", 20, None,
         "Agency heads know the threats they face", "100", "0")]),
]
# the two missed critical levels that earn credits, and the one open corrective action
MISSES = {("DC-AVAIL", "2026-06"): "99.90", ("SD-ANSWER", "2026-09"): "74.5",
          ("SD-ANSWER", "2026-10"): "76.0"}


def _vendors(rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    periods = list(months())[-12:]  # a year of results
    rows: dict[str, list[tuple[Any, ...]]] = {"Vendors": [], "Contracts": [],
                                                "ServiceLevels": [], "SLResults": [],
                                                "CorrectiveActions": []}
    for vendor, name, manager, contract, services, levels in VENDORS:
        email = manager.lower().replace(" ", ".") + "@" + vendor.lower() + ".example"
        rows["Vendors"].append((vendor, name, manager, email))
        contract_id = f"C-{vendor}"
        rows["Contracts"].append((contract_id, vendor, contract, dt.date(2024, 7, 1),
                                  dt.date(2029, 6, 30), None, services))
        for sl, sl_name, kind, unit, direction, low, high, weight, pct, outcome, typical, spread in levels:
            rows["ServiceLevels"].append((sl, contract_id, sl_name, kind, unit, direction, D(low),
                                          D(high), weight, pct, outcome))
            for period in periods:
                label = f"{period:%Y-%m}"
                value = MISSES.get((sl, label))
                if value is None:
                    wobble = D(str(round(rng.uniform(-0.4, 1) * float(spread), 3)))
                    value = str(D(typical) + (wobble if direction == "higher" else -wobble))
                    if direction == "higher" and D(value) > 100 and unit == "%":
                        value = "100"
                excluded = "Planned data centre move (contract clause 7.3)" \
                    if (sl, label) == ("DC-PUE", "2026-02") else None
                rows["SLResults"].append((period, sl, D(value), excluded))
    rows["CorrectiveActions"].append((
        "CAP-DESK-1", "DESKCO", dt.date(2026, 10, 6), "Calls answered in 60 s missed two months "
        "running", "Night shift understaffed after a contract change", "Hire six agents; "
        "weekly staffing report", "Ravi Shah", dt.date(2026, 11, 30), None))
    return rows


# Three disputes: one accepted (credited in the first open month), one still open, one
# raised long after its bill (outside the 4-cycle window)
DISPUTES = [
    ("DSP-001", "DOT", "2026-08", "EMAIL-STD", D("412.00"), "Mailboxes of 103 retired staff "
     "billed after their accounts were closed", dt.date(2026, 9, 12), "Accepted",
     dt.date(2026, 10, 2), "Confirmed against HR exits; credited", D("412.00")),
    ("DSP-002", "DHS", "2026-09", "VM-LARGE", D("1196.00"), "Three servers decommissioned in "
     "August still billed", dt.date(2026, 10, 20), "Open", None, None, None),
    ("DSP-003", "DOC", "2025-12", "DESKTOP", D("850.00"), "Devices billed twice in December",
     dt.date(2026, 10, 28), "Rejected", dt.date(2026, 11, 4), "Raised outside the 4-cycle "
     "window; the December bill stands", None),
]


def _gl_accounts() -> list[tuple[Any, ...]]:
    """A fund and expense account per agency; a revenue account per service."""
    rows: list[tuple[Any, ...]] = [("Agency", aid, f"{1000 + 10 * i:04d}", aid, "5310")
                                   for i, (aid, *_rest) in enumerate(AGENCIES)]
    rows += [("Service", sid, "7200", "OCIO", f"{4100 + i}") for i, (sid, *_r) in enumerate(SERVICES)]
    # the cloud services and the cost pools earn revenue accounts of their own
    cloud = sorted({s[0] for *_a, services in CLOUD for s in services} | {SURPRISE[2]})
    rows += [("Service", sid, "7200", "OCIO", f"{4300 + i}") for i, sid in enumerate(cloud)]
    pools = sorted({p[0] for p in POOLS if p[2] is None})  # GIS-ELA earns as GIS
    rows += [("Service", pid, "7200", "OCIO", f"{4400 + i}") for i, pid in enumerate(pools)]
    rows.append(("Adjustments", None, "7200", "OCIO", "4199"))
    return rows


def _budgets(headcount: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """FY2027 budgets: a year of the agency's users at about the statewide cost per user,
    most with room to spare, a few (every fifth) set tighter than their use."""
    latest = {aid: n for _p, aid, n in sorted(headcount)}
    return [("FY2027", aid, (D(latest.get(aid, 0)) * D("170") * 12
                             * (D("0.93") if i % 5 == 0 else D("1.06"))).quantize(D("1")), None)
            for i, (aid, *_rest) in enumerate(AGENCIES)]


def _email(name: str, agency: str) -> str:
    first, last = name.lower().split()[0], name.lower().split()[-1]
    domain = agency.lower().replace("/", "-")
    return f"{first}.{last}@{domain}.state.example"


def _rate_card() -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    before_change = dt.date(2025, 12, 1)
    for sid, name, tower, unit, rate, new_rate, _per_user, _mult in SERVICES:
        if new_rate is None:
            out.append((sid, name, tower, unit, D(rate), dt.date(2024, 7, 1), None))
        else:
            out.append((sid, name, tower, unit, D(rate), dt.date(2024, 7, 1), before_change))
            out.append((sid, name, tower, unit, D(new_rate), RATE_CHANGE, None))
    return out


def _headcount(rng: random.Random, periods: list[dt.date]) -> dict[tuple[dt.date, str], int]:
    out = {}
    for aid, _name, _head, latest, _mgr, _cad in AGENCIES:
        level = latest * rng.uniform(0.93, 0.99)
        for p in periods:
            level *= rng.uniform(0.998, 1.006)
            out[(p, aid)] = max(1, round(level))
    return out


def _usage(rng: random.Random, periods: list[dt.date],
           users: dict[tuple[dt.date, str], int]) -> list[tuple[Any, ...]]:
    out = []
    for aid, _name, _head, latest, _mgr, _cad in AGENCIES:
        uses = [s for s in SERVICES if not (s[0] in LARGE_ONLY and latest < 1000)]
        uses = [s for s in uses if latest >= 2000 or rng.random() < 0.8]
        for p in periods:
            n = users[(p, aid)]
            for sid, *_rest, per_user, _mult in uses:
                qty = n * per_user * rng.uniform(0.97, 1.03)
                unit = SERVICE_UNIT[sid]
                quantity: Any = round(qty, 1) if unit.startswith("GB") else max(1, round(qty))
                out.append((p, aid, sid, quantity))
    return out


SERVICE_UNIT = {s[0]: s[3] for s in SERVICES}


def _adjustments(periods: list[dt.date]) -> list[tuple[Any, ...]]:
    p = periods
    return [
        (p[3], "DOT", "VM-STD", D("-1850.00"),
         "Credit: ten decommissioned servers billed after retirement (INC0048211)"),
        (p[5], "DHS", "EMAIL-STD", D("-412.00"), "Correction: duplicate mailbox count in January"),
        (p[8], "DOR", None, D("2500.00"), "One-time: tax season capacity surge support"),
        (p[11], "DPS", "WAN", D("-650.00"), "Credit: circuit outage over 72 hours (SLA)"),
        (p[14], "DOC", "DESKTOP", D("-1275.00"), "Disputed charge upheld: 30 devices in storage"),
        (p[17], "DOH", "APP-HOST", D("930.00"), "Back-billing: two applications onboarded late"),
        (p[20], "DMV", "SERVICEDESK", D("-355.25"), "Credit: ticket surge from vendor outage"),
        (p[22], "DCFS", "M365-G5", D("-1693.50"), "Correction: 30 G5 licences downgraded to G3"),
        (p[23], "ART", None, D("-25.00"), "Goodwill credit: onboarding month"),
        (p[23], "DOT", None, D("1200.00"), "Project: traffic camera network design support"),
    ]


def _cost_pools(rng: random.Random, periods: list[dt.date],
                usage: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    rates = {s[0]: (D(s[4]), D(s[5]) if s[5] else D(s[4])) for s in SERVICES}
    charged: dict[tuple[dt.date, str], Decimal] = {}
    for p, _aid, sid, qty in usage:
        rate = rates[sid][1] if p >= RATE_CHANGE else rates[sid][0]
        charged[(p, sid)] = charged.get((p, sid), D(0)) + D(str(qty)) * rate
    return [(p, sid, (amount * D(str(round(rng.uniform(0.9, 1.08), 3)))).quantize(D("0.01")))
            for (p, sid), amount in sorted(charged.items())]


def _standalone() -> list[tuple[Any, ...]]:
    out = []
    for sid, _name, tower, _unit, rate, new_rate, _per_user, mult in SERVICES:
        total = D(new_rate or rate) * D(str(mult))
        for component, share in COMPONENTS[tower]:
            out.append((sid, component, (total * share / 100).quantize(D("0.0001"))))
    return out


AS_OF = dt.date(2026, 11, 15)
# How each agency's relationship has gone: steady, slipping (recent scores fall, contact
# lapses) or strained (low scores unanswered, no in-person meeting for months).
STRAINED = {"DOC", "DMV", "DJJ"}
SLIPPING = {"DOR", "DCFS", "PUC", "LIB"}
COMMENTS_LOW = [
    "Tickets for the district offices sit for days before anyone calls back.",
    "VPN drops several times a day for field staff.",
    "The invoice is hard to read; we cannot tell what we pay for.",
    "Laptop refresh has slipped twice this year.",
    "- slow onboarding of new hires (accounts take a week)",
    "Storage charges went up and nobody explained why.",
    "=ask why email storage costs more than last year",
]
COMMENTS_HIGH = [
    "Service desk resolved our outage quickly.",
    "Our BRM manager understands our programs.",
    "Migration to the new tenant went smoothly.",
    "",
    "",
]
TOPICS = [
    "Quarterly business review", "FY budget and rate preview", "Security posture briefing",
    "Project intake: case management modernisation", "Invoice walk-through",
    "Service desk performance review", "Cloud migration planning", "Outage follow-up",
]


def _survey(rng: random.Random, periods: list[dt.date]) -> list[tuple[Any, ...]]:
    rows = []
    n = 0
    for aid, _name, _head, latest, _mgr, _cad in AGENCIES:
        per_month = 1 + min(4, latest // 4000)
        for i, p in enumerate(periods):
            recent = i >= len(periods) - 6
            for _ in range(per_month if rng.random() < 0.8 else 0):
                n += 1
                if aid in STRAINED:
                    score = rng.choice([1, 2, 3, 4, 4] if recent else [2, 3, 4, 4, 5])
                elif aid in SLIPPING and recent:
                    score = rng.choice([2, 3, 4, 4, 5])
                else:
                    score = rng.choice([3, 4, 4, 5, 5, 5])
                day = p + dt.timedelta(days=rng.randint(0, 27))
                if day > AS_OF:
                    continue
                comment = rng.choice(COMMENTS_LOW if score < 4 else COMMENTS_HIGH) or None
                followed = None
                note = None
                if score < 4:
                    late = aid in STRAINED and recent or (AS_OF - day).days < 12
                    if not late:
                        followed = day + dt.timedelta(days=rng.randint(1, 6))
                        note = "Called the respondent; agreed next steps"
                respondent = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} ({aid})"
                rows.append((f"R{n:05d}", day, aid, respondent,
                             rng.choice([s[0] for s in SERVICES[:10]]), score, comment,
                             followed, note))
    return rows


FIRST_NAMES = ["Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
               "Drew", "Harper", "Rowan", "Sam", "Cameron", "Reese"]
LAST_NAMES = ["Smith", "Johnson", "Lee", "Brown", "Garcia", "Davis", "Miller", "Wilson",
              "Moore", "Taylor", "Anderson", "Thomas", "Jackson", "White", "Martin"]


def _engagements(rng: random.Random) -> list[tuple[Any, ...]]:
    channels = ["In person - individual", "In person - group", "Virtual meeting", "Phone",
                "Email"]
    rows = []
    start = FIRST_MONTH
    for aid, _name, head, _latest, mgr, cadence in AGENCIES:
        day = start + dt.timedelta(days=rng.randint(0, cadence))
        stop = AS_OF - dt.timedelta(days=80 if aid in STRAINED else 0)
        while day <= stop:
            lapsing = aid in SLIPPING and day > AS_OF - dt.timedelta(days=120)
            weights = [1, 1, 3, 3, 4] if aid in STRAINED or lapsing else [4, 3, 3, 1, 1]
            channel = rng.choices(channels, weights)[0]
            topic = rng.choice(TOPICS)
            action = owner = due = done = None
            if rng.random() < 0.45:
                action = rng.choice(["Send revised rate sheet", "Schedule architecture review",
                                     "Follow up on open tickets", "Share cost-per-user trend",
                                     "Confirm laptop refresh dates"])
                owner = rng.choice([mgr, head])
                due = day + dt.timedelta(days=rng.randint(7, 30))
                if not (aid in STRAINED and day > AS_OF - dt.timedelta(days=200)) and due < AS_OF:
                    done = due - dt.timedelta(days=rng.randint(0, 5))
            rows.append((day, aid, mgr, channel, topic, f"{head}; {mgr}", None, action, owner,
                         due, done))
            gap = cadence * (2 if lapsing else 1)
            day += dt.timedelta(days=max(5, int(gap * rng.uniform(0.5, 1.0))))
    return rows


OUTCOMES = [
    ("DHS", "Benefits eligibility system to the cloud", "Faster eligibility decisions",
     "Median days to decide", "21", "10", "12", "On track", dt.date(2026, 10, 31)),
    ("DHS", "Call centre modernisation", "Shorter waits for families", "Average wait (min)",
     "18", "5", "6", "On track", dt.date(2026, 10, 31)),
    ("DOT", "Traffic camera network", "Incidents cleared faster", "Minutes to clear",
     "47", "35", "33", "Achieved", dt.date(2026, 9, 30)),
    ("DOC", "Offender management system replacement", "One record per person",
     "Duplicate records", "4,100", "0", "2,900", "Off track", dt.date(2026, 10, 31)),
    ("DOC", "Facility Wi-Fi for staff", "Staff online at every facility", "Sites covered",
     "9 of 31", "31 of 31", "14 of 31", "At risk", dt.date(2026, 10, 31)),
    ("DOR", "Online filing uptime", "Filing open in tax season", "Availability",
     "99.2%", "99.9%", "99.95%", "Achieved", dt.date(2026, 4, 30)),
    ("DOH", "Immunisation registry upgrade", "Clinics report same day", "Same-day reports",
     "62%", "90%", "84%", "On track", dt.date(2026, 10, 31)),
    ("DMV", "Online licence renewal", "Fewer office visits", "Renewals online",
     "35%", "60%", "41%", "At risk", dt.date(2026, 10, 31)),
    ("DOA/OTS", "Shared service desk onboarding", "One desk for all staff",
     "Tickets resolved first contact", "58%", "75%", "77%", "Achieved", dt.date(2026, 8, 31)),
    ("DCFS", "Caseworker mobile app", "Visits recorded in the field", "Visits logged same day",
     "40%", "85%", "71%", "On track", dt.date(2026, 10, 31)),
]


# The BRM practice (no random numbers: the rest of the demo stays as it was). Both sides'
# maturity ratings over two years: DOC's gap of two, DOR's fall, DOH's agency rating above
# the office's, DMV's agency rating falling, DPS rated by the office only, most not yet.
_ASSESSMENTS = [
    ("DHS", "2025-01-20", "office", 3, "Responsive, not yet consulted early"),
    ("DHS", "2025-01-20", "agency", 3, None),
    ("DHS", "2026-01-15", "office", 4, "Invited to the benefits roadmap sessions"),
    ("DHS", "2026-01-22", "agency", 4, None),
    ("DOT", "2025-02-10", "office", 3, None), ("DOT", "2025-02-10", "agency", 2, None),
    ("DOT", "2026-02-12", "office", 4, None), ("DOT", "2026-02-12", "agency", 3, None),
    ("DOC", "2025-01-28", "office", 3, None), ("DOC", "2025-01-28", "agency", 3, None),
    ("DOC", "2026-09-15", "office", 4, "We see ourselves in their planning"),
    ("DOC", "2026-09-15", "agency", 2, "Tickets are handled, but we are not asked"),
    ("DOR", "2025-03-05", "office", 4, None), ("DOR", "2025-03-05", "agency", 4, None),
    ("DOR", "2026-08-20", "office", 3, "Contact has lapsed since the spring"),
    ("DOR", "2026-08-20", "agency", 3, None),
    ("DOH", "2025-04-01", "office", 2, None), ("DOH", "2025-04-01", "agency", 4, None),
    ("DOH", "2026-04-02", "office", 3, None), ("DOH", "2026-04-02", "agency", 4, None),
    ("DPS", "2026-05-12", "office", 3, "The agency's own rating is still to come"),
    ("DMV", "2025-06-10", "office", 3, None), ("DMV", "2025-06-10", "agency", 2, None),
    ("DMV", "2026-06-15", "office", 3, None),
    ("DMV", "2026-06-15", "agency", 1, "Renewal backlog"),
    ("DCFS", "2026-03-17", "office", 3, None), ("DCFS", "2026-03-17", "agency", 3, None),
]
# plan, agency, outcome it serves, FY, goal, initiative, planned value, kind, owner, due,
# status: DOT's delivered, DOC's overdue, DMV's dropped
_PLANS = [
    ("P-DHS-01", "DHS", "Benefits eligibility system to the cloud", "FY2027",
     "Families get benefits decisions faster", "Benefits eligibility system to the cloud",
     "450000.00", "savings", "Maria Gonzalez", "2027-06-30", "in progress"),
    ("P-DHS-02", "DHS", "Call centre modernisation", "FY2026", "Shorter waits for families",
     "Call centre modernisation", "120000.00", "cost avoided", "Maria Gonzalez", "2026-06-30",
     "delivered"),
    ("P-DOT-01", "DOT", "Traffic camera network", "FY2027", "Clear incidents faster",
     "Traffic camera network", "80000.00", "time saved", "James Whitfield", "2026-09-30",
     "delivered"),
    ("P-DOC-01", "DOC", "Offender management system replacement", "FY2027",
     "One record for every person in custody", "Offender management system replacement",
     "300000.00", "savings", "Maria Gonzalez", "2026-09-30", "in progress"),
    ("P-DOC-02", "DOC", "Facility Wi-Fi for staff", "FY2027", "Staff online at every facility",
     "Facility Wi-Fi for staff", "60000.00", "time saved", "Maria Gonzalez", "2027-03-31",
     "planned"),
    ("P-DOR-01", "DOR", "Online filing uptime", "FY2027", "Filing open all tax season",
     "Online filing uptime", "25000.00", "revenue", "James Whitfield", "2027-04-30",
     "in progress"),
    ("P-DMV-01", "DMV", "Online licence renewal", "FY2027", "Fewer office visits",
     "Online licence renewal", "150000.00", "savings", "James Whitfield", "2026-12-31",
     "in progress"),
    ("P-DMV-02", "DMV", None, "FY2027", "Fewer office visits", "Queue kiosks in field offices",
     "40000.00", "savings", "James Whitfield", "2026-10-15", "dropped"),
    ("P-DCFS-01", "DCFS", "Caseworker mobile app", "FY2027", "Visits recorded in the field",
     "Caseworker mobile app", "95000.00", "time saved", "Priya Raman", "2027-02-28",
     "in progress"),
]
_REALISED = [
    ("P-DHS-01", "2026-08", "35000.00", "Mainframe MIPS released, finance sign-off"),
    ("P-DHS-01", "2026-09", "42000.00", "Hosting invoices against the old data centre"),
    ("P-DHS-01", "2026-10", "40500.00", "Hosting invoices against the old data centre"),
    ("P-DHS-02", "2026-03", "40000.00", "Overtime no longer paid"),
    ("P-DHS-02", "2026-05", "45000.00", "Overtime no longer paid"),
    ("P-DHS-02", "2026-07", "38000.00", "Overtime no longer paid (after go-live)"),
    ("P-DOT-01", "2026-07", "30000.00", "Patrol hours saved, DOT operations report"),
    ("P-DOT-01", "2026-09", "52000.00", "Patrol hours saved, DOT operations report"),
    ("P-DOC-01", "2026-08", "25000.00", "Duplicate records merged"),
    ("P-DOR-01", "2026-10", "4000.00", "Late-filing penalties avoided"),
    ("P-DMV-01", "2026-09", "12000.00", "Counter transactions moved online"),
    ("P-DMV-01", "2026-10", "15500.00", "Counter transactions moved online"),
    ("P-DCFS-01", "2026-09", "9000.00", "Caseworker mileage and overtime"),
    ("P-DCFS-01", "2026-10", "11000.00", "Caseworker mileage and overtime"),
]
_COMMS_PLAN = [
    ("DHS", "Quarterly business review", 90, "2025-01-01"),
    ("DHS", "Strategic planning", 365, "2025-07-01"),
    ("DOT", "Quarterly business review", 90, "2025-01-01"),
    ("DOT", "Strategic planning", 365, "2025-07-01"),
    ("DOC", "Quarterly business review", 90, "2025-01-01"),
    ("DOC", "Strategic planning", 365, "2025-07-01"),
    ("DOR", "Quarterly business review", 90, "2025-01-01"),
    ("DOR", "Strategic planning", 365, "2025-07-01"),
    ("DMV", "Quarterly business review", 90, "2025-01-01"),
    ("DMV", "Service desk user group", 30, "2026-01-01"),  # the forum, by its name
    ("DCFS", "Quarterly business review", 90, "2025-01-01"),
    ("DOH", "Budget review", 180, "2026-07-01"),
]
# a strategic forum with vendors among its members, and a tactical one that has lapsed
_FORUMS = [
    ("ITGOV", "IT Governance Board", "strategic", 90,
     "DHS; DOT; DOC; DOR; DOH; NETCO; DCOPS; State CIO; Deputy CIO"),
    ("SDUSERS", "Service desk user group", "tactical", 30,
     "DOT; DMV; DCFS; DJJ; DESKCO; Service desk manager"),
]
_STAKEHOLDERS = [
    ("DHS", "Angela Brooks", "Secretary", "high", "champion",
     "Invite to the FY2028 planning session"),
    ("DHS", "Marcus Hill", "Deputy Secretary for Operations", "medium", "supporter",
     "Share the cloud savings figures"),
    ("DOT", "Robert Kim", "Secretary", "high", "supporter", "Quarterly review in person"),
    ("DOC", "Sandra Lee", "Secretary", "high", "sceptic",
     "Meet in person about the offender system"),
    ("DOC", "Raymond Cole", "Facilities Director", "high", "neutral", "Walk the Wi-Fi sites"),
    ("DMV", "Michelle Carter", "Commissioner", "high", "neutral", "Renewal backlog plan"),
]


def _typed(rows: list[tuple[Any, ...]], dates: tuple[int, ...] = (),
           money: tuple[int, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows written above as text: dates (YYYY-MM-DD, or a month YYYY-MM) and money typed."""
    def cell(j: int, value: Any) -> Any:
        if value is None:
            return None
        if j in dates:
            return dt.date.fromisoformat(value if len(value) == 10 else value + "-01")
        return D(value) if j in money else value
    return [tuple(cell(j, v) for j, v in enumerate(row)) for row in rows]


BRM_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "Assessments": _typed(_ASSESSMENTS, dates=(1,)),
    "AccountPlans": _typed(_PLANS, dates=(9,), money=(6,)),
    "ValueRealised": _typed(_REALISED, dates=(1,), money=(2,)),
    "CommsPlan": _typed(_COMMS_PLAN, dates=(3,)),
    "Forums": _FORUMS,
    "Stakeholders": _STAKEHOLDERS,
}
# (day, agency, channel, touchpoint): business reviews, strategic planning, forum meetings
_TOUCHPOINTS = [
    *[(d, "DHS", "In person - group", "Quarterly business review")
      for d in ("2026-01-20", "2026-04-21", "2026-07-22", "2026-10-20")],
    ("2026-03-10", "DHS", "In person - group", "Strategic planning"),
    *[(d, "DOT", "Virtual meeting", "Quarterly business review")
      for d in ("2026-02-10", "2026-05-12", "2026-08-11")],
    ("2025-09-16", "DOT", "In person - group", "Strategic planning"),
    *[(d, "DOC", "Virtual meeting", "Quarterly business review")
      for d in ("2026-02-18", "2026-05-19")],
    ("2026-09-02", "DOR", "In person - individual", "Quarterly business review"),
    ("2026-06-09", "DOR", "In person - group", "Strategic planning"),
    ("2026-03-03", "DMV", "Virtual meeting", "Quarterly business review"),
    ("2026-08-25", "DCFS", "In person - group", "Quarterly business review"),
    # forum meetings, logged against the agency that hosted them: a contact of every member
    *[(d, "DHS", "In person - group", "ITGOV")
      for d in ("2026-02-24", "2026-05-26", "2026-08-25")],
    *[(d, "DOT", "Virtual meeting", "SDUSERS") for d in ("2026-07-14", "2026-08-18",
                                                          "2026-09-15")],
]


def _touchpoint_contacts() -> list[tuple[Any, ...]]:
    agencies = {a[0]: a for a in AGENCIES}
    titles = {"ITGOV": "IT Governance Board", "SDUSERS": "Service desk user group"}
    rows = []
    for day, aid, channel, touchpoint in _TOUCHPOINTS:
        _aid, _name, head, _users, mgr, _cadence = agencies[aid]
        rows.append((dt.date.fromisoformat(day), aid, mgr, channel,
                     titles.get(touchpoint, touchpoint), f"{head}; {mgr}", None, None, None,
                     None, None, touchpoint))
    return rows


DEMO_SETTINGS = [
    ("organization", "Office of the State Chief Information Officer"),
    ("currency", "USD"),
    ("fiscal_year_start_month", 7),
    ("follow_up_below", 4),
    ("follow_up_days", 7),
    ("sender_name", "Office of the State CIO"),
    ("sender_email", "brm@cio.state.example"),
    ("smtp_host", "smtp.state.example"),
    ("smtp_port", 587),
]


def write_demo_workbook(path: Path) -> None:
    """The demo workbook, with its cloud bills in a folder beside it."""
    rows: dict[str, Any] = demo_rows()
    write_cloud_bills(path.parent / CLOUD_FOLDER)
    build_workbook(path, rows, [*DEMO_SETTINGS, ("focus_files", f"{CLOUD_FOLDER}/*.csv"),
                                ("focus_surcharge_pct", CLOUD_SURCHARGE_PCT)])


def run_demo(directory: Path, as_of: dt.date | None = None) -> Iterator[str]:
    """Write the demo workbook, refresh it, and say what was done (one line at a time)."""
    from brm_xl.app.refresh import refresh

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "chargeback-demo.xlsx"
    write_demo_workbook(path)
    yield (f"Wrote demo workbook {path}: {len(AGENCIES)} agencies, {len(SERVICES)} services, "
           f"{MONTHS} months from {FIRST_MONTH:%Y-%m}, a rate change in {RATE_CHANGE:%Y-%m}")
    result = refresh(path, as_of=as_of or AS_OF)
    tables = ", ".join(f"{name} {rows:,} rows" for name, rows in result.tables.items())
    yield f"Refreshed it: {tables}"
    # the last month billed in full (a line held for review waits in the month after it)
    latest = max(r.period for r in result.chargeback.summary if r.users)
    rows = [r for r in result.chargeback.summary if r.period == latest]
    total = sum((r.charges for r in rows), D(0))
    statewide = rows[0].statewide_cost_per_user if rows else None
    yield f"{latest}: {len(rows)} agencies charged ${total:,.2f}; statewide cost per user ${statewide:,.2f}"
    for r in sorted(rows, key=lambda r: -r.charges)[:3]:
        yield (f"  {r.agency_id:<8} ${r.charges:>12,.2f}  cost per user ${r.cost_per_user:,.2f}"
               f"  net value ${r.net_value:,.2f}")
    view = result.relationships
    if view.relationships:
        health = {h: [r.agency_id for r in view.relationships if r.health == h]
                  for h in ("Healthy", "Watch", "At risk")}
        yield (f"Relationships as of {as_of or AS_OF:%Y-%m-%d}: {len(health['Healthy'])} "
               f"healthy, {len(health['Watch'])} to watch, {len(health['At risk'])} at risk")
        for rel in view.relationships:  # every one counted above is named
            if rel.health == "At risk":
                yield f"  {rel.agency_id:<8} at risk: {rel.reasons}"
    if view.value:
        kept = [v for v in view.value if v.status != "dropped"]
        yield (f"Account plans: {len(view.value)} initiatives, ${sum(v.realised_to_date for v in kept):,.2f} "
               f"realised of ${sum(v.planned_value for v in kept):,.2f} planned (dropped ones "
               f"aside); {sum(v.overdue for v in view.value)} overdue")
    if view.follow_ups is not None:
        overdue = sum(f.overdue for f in view.follow_ups)
        yield f"Follow-ups: {len(view.follow_ups)} low scores to call back, {overdue} overdue"
    flags = result.chargeback.flags
    held = [f for f in flags if f.decision == "hold"]
    yield (f"Review before the statement: {len(flags)} charges flagged, "
           f"{sum(f.decision == 'approve' for f in flags)} approved, {len(held)} held"
           + "".join(f"; {f.agency_id} {f.service_id} ${f.amount:,.2f} held from {f.period}"
                     for f in held))
    if result.warnings:
        yield f"{len(result.warnings)} warning(s); run brm-xl check {path} to list them"
    yield from _close(path, latest)
    yield from _reports(path, latest, as_of or AS_OF)
    yield f"Open {path} in Excel or LibreOffice to see the Charges and AgencySummary sheets."


def _close(path: Path, latest: str) -> Iterator[str]:
    """Close every month up to the latest and write the latest month's GL journal."""
    from brm_xl.app.close import close
    from brm_xl.app.journal import write_journal
    first = f"{FIRST_MONTH:%Y-%m}"
    done = close(path, f"{first}..{latest}", user="finance.clerk")
    yield (f"Closed {done.months} months ({done.period}): {done.lines:,} bill lines, "
           f"${done.total:,.2f} published and sealed (seal {done.seal[:12]}); a later edit to "
           "them is named at its cell")
    written = write_journal(path, latest).written[-1]
    yield f"GL journal: {written.journal.summary}, in {written.path}"


def _reports(path: Path, period: str, as_of: dt.date) -> Iterator[str]:
    from brm_xl.app.usecases import draft_emails, make_all_reports, make_reports
    from brm_xl.delivery.journal import DELIVERIES_SPEC
    from brm_xl.pipeline.model import model_for_period

    # the month's reports are judged on its last day, as `brm-xl report` judges them
    model = model_for_period(path, period, None, previous=(DELIVERIES_SPEC,))
    _, written, portfolio = make_all_reports(path, period, model=model)
    folder = written[0].path.parent if written else path.parent
    agencies = len({w.agency for w in written})
    yield f"Value reports for {period}: {agencies} agencies x HTML, PDF, XLSX in {folder}"
    for w in portfolio:
        yield f"Portfolio for the CIO: {w.path}"
    plans = make_reports(path, period, plans=True, model=model)
    yield (f"Account plans for the BRM managers' quarterly reviews: "
           f"{len({w.agency for w in plans})} agencies x HTML, PDF, XLSX in {folder}")
    pdfs = {w.agency: {"pdf": w.path.read_bytes()} for w in written
            if w.extension == "pdf" and w.agency is not None}
    when = dt.datetime.combine(as_of, dt.time(9, 0)).astimezone()
    _, drafts = draft_emails(path, period, as_of=as_of, when=when, model=model, rendered=pdfs)
    yield (f"Email drafts for {period}: {len(drafts)} .eml files in "
           f"{drafts[0].parent if drafts else path.parent} (open one in Outlook to review and "
           "send; nothing was sent)")
