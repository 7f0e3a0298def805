"""The HTML reports in a real browser (headless Chromium through selenium): the portfolio
sorts by every column both ways, Health by severity; the agency report reads at a phone's
390 px and at 1280 px without running off the side. Skipped, with the reason, where no
browser is installed (.ci/run installs Debian's chromium and chromium-driver)."""

from __future__ import annotations

import os
import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest

from brm_xl.pipeline.model import build_model
from brm_xl.reports.run import make_reports
from tests.helpers import ROOT, write_book
from tests.reports.test_reports import AS_OF, report_book

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    driver_path = shutil.which("chromedriver")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not driver_path or not binary:
        pytest.skip("no Chromium here (Debian: apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    path = write_book(folder / "b.xlsx", report_book())
    model = build_model(path, AS_OF)
    agency = make_reports(path, "2026-09", ["DOT"], ["html"], model=model)
    portfolio = make_reports(path, "2026-09", portfolio=True, formats=["html"], model=model)
    return agency[0].path, portfolio[0].path


def column(driver, index):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#portfolio tbody tr'))"
        ".map(r => r.cells[arguments[0]].dataset.value);", index)


def key(value, numeric):
    if not numeric:
        return value
    return D(value) if value not in ("", None) else D("Infinity")


def ordered(driver, index, numeric, descending):
    """Whether a column reads in order: numbers by value with blanks after them (before
    them, descending), text as the browser collates it."""
    values = column(driver, index)
    if numeric:
        keys = [key(v, True) for v in values]
        return keys == sorted(keys, reverse=descending)
    return driver.execute_script(
        "const v = arguments[0], d = arguments[1] ? -1 : 1;"
        "return v.every((x, i) => i === 0 || v[i - 1].localeCompare(x) * d <= 0);",
        values, descending)


def test_the_portfolio_sorts_by_every_column_both_ways(browser, written):
    browser.set_window_size(1280, 900)
    browser.get(written[1].as_uri())
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1"), \
        "the portfolio runs off the side of a 1280 px window"
    headers = browser.find_elements("css selector", "#portfolio th")
    names = [h.text.rstrip(" \u25b2\u25bc") for h in headers]
    health = names.index("Health")
    assert headers[health].get_attribute("aria-sort") == "ascending"  # as written
    assert ordered(browser, health, True, False)  # At risk, Watch, Healthy
    assert len(column(browser, 0)) >= 2
    for i, header in enumerate(headers):
        numeric = header.get_attribute("data-type") == "num"
        for direction in ("ascending", "descending"):
            header.click()
            if header.get_attribute("aria-sort") != direction:
                header.click()
            assert header.get_attribute("aria-sort") == direction, names[i]
            assert ordered(browser, i, numeric, direction == "descending"), (names[i], direction)
            others = [h.get_attribute("aria-sort") for j, h in enumerate(headers) if j != i]
            assert not any(others), "only one column shows a sort direction"


@pytest.mark.parametrize("width", [390, 1280])
def test_the_agency_report_reads_at_phone_and_desktop_widths(browser, written, width):
    browser.set_window_size(width, 900)
    browser.get(written[0].as_uri())
    inner = browser.execute_script("return window.innerWidth")
    scroll = browser.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= inner + 1, f"the page is {scroll} px wide in a {inner} px window"
    tiles = browser.find_elements("css selector", ".headline .tile")
    assert len(tiles) == 4
    lefts = {round(t.rect["x"]) for t in tiles}
    if width == 390:
        assert len(lefts) == 1  # stacked, one under another
    else:
        assert len(lefts) == 4  # side by side
    text = browser.find_element("tag name", "body").text
    assert "Your bill of IT" in text and "Relationship health" not in text


AXE = ROOT / ".ci" / "node" / "node_modules" / "axe-core" / \
    "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(driver, page: Path) -> list[tuple[str, str, list[str]]]:
    """axe-core's violations of WCAG 2.1 A and AA (and its best practices) on a page."""
    if not AXE.is_file():
        if os.environ.get("BRM_REQUIRE_AXE"):
            pytest.fail(f"axe-core is not installed at {AXE} (.ci/run installs it with npm)")
        pytest.skip("axe-core is not installed (npm install --prefix .ci/node axe-core@4.14.1)")
    driver.get(page.as_uri())
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations.map(v => [v.id, v.impact,"
        " v.nodes.map(n => n.target.join(' '))])));", AXE_TAGS)
    return [tuple(v) for v in found]


@pytest.fixture(scope="module")
def demo_pages(tmp_path_factory):
    """The demo's reports as agency heads and the CIO get them: two agencies, the
    portfolio, two vendor scorecards, two account plans and an email body."""
    import email
    import email.policy

    from brm_xl.app import demo
    from brm_xl.app.usecases import draft_emails

    folder = tmp_path_factory.mktemp("axe")
    path = folder / "demo.xlsx"
    demo.write_demo_workbook(path)  # with its cloud bills: list prices, a line held for review
    model = build_model(path, demo.AS_OF)
    pages = [w.path for w in make_reports(path, "2026-10", ["DOT", "DHS", "DOH"], ["html"],
                                          model=model)]
    pages += [w.path for w in make_reports(path, "2026-10", portfolio=True, formats=["html"],
                                           model=model)]
    pages += [w.path for w in make_reports(path, "2026-10", vendors=True, formats=["html"],
                                           model=model)][:2]
    pages += [w.path for w in make_reports(path, "2026-10", ["DOC", "DMV"], ["html"],
                                           model=model, plans=True)]
    _, drafts = draft_emails(path, "2026-10", ["DOT"], as_of=demo.AS_OF, model=model)
    message = email.message_from_bytes(drafts[0].read_bytes(), policy=email.policy.default)
    body = folder / "email.html"
    body.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
    return pages + [body]


@pytest.mark.parametrize("width", [1280, 320])
def test_axe_finds_no_violation_on_any_report_or_email(browser, demo_pages, width):
    browser.set_window_size(width, 900)
    found = {page.name: axe_violations(browser, page) for page in demo_pages}
    assert not any(found.values()), {k: v for k, v in found.items() if v}


def test_every_report_and_the_email_reflow_at_320_px(browser, demo_pages):
    browser.set_window_size(320, 900)
    for page in demo_pages:
        browser.get(page.as_uri())
        inner = browser.execute_script("return window.innerWidth")
        scroll = browser.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= inner + 1, f"{page.name} is {scroll} px wide in a {inner} px window"


def test_the_portfolio_sorts_by_keyboard(browser, written):
    from selenium.webdriver.common.keys import Keys

    browser.set_window_size(1280, 900)
    browser.get(written[1].as_uri())
    buttons = browser.find_elements("css selector", "#portfolio th button")
    headers = browser.find_elements("css selector", "#portfolio th")
    assert len(buttons) == len(headers) == 10  # every heading is a button
    charges = next(i for i, h in enumerate(headers) if h.text.startswith("Charges"))
    buttons[charges].send_keys(Keys.ENTER)
    assert headers[charges].get_attribute("aria-sort") == "ascending"
    assert ordered(browser, charges, True, False)
    buttons[charges].send_keys(Keys.SPACE)
    assert headers[charges].get_attribute("aria-sort") == "descending"
    assert ordered(browser, charges, True, True)
