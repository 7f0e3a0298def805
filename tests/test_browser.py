"""The HTML reports in a real browser (headless Chromium through selenium): the portfolio
sorts by every column both ways, Health by severity; the agency report reads at a phone's
390 px and at 1280 px without running off the side. Skipped, with the reason, where no
browser is installed (.ci/run installs Debian's chromium and chromium-driver)."""

from __future__ import annotations

import shutil
from decimal import Decimal as D

import pytest

from brm_xl.model import build_model
from brm_xl.reports.run import make_reports

from .helpers import write_book
from .test_reports import AS_OF, report_book

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
