"""The landing page of a 5,000-project index in a real browser (headless Chromium).

The index is a real one, built by ``build_index`` from 5,000 tiny wheels.
The page is loaded from a ``file://`` URL (as from a copy of the index): it
must load quickly, fetch nothing else, filter its rows as one types (under
its own Content-Security-Policy), be a complete plain list with JavaScript
off, and link each project's page.

Chromium must be installed (``.ci/install-system-deps``): without it these
tests fail, they do not skip.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import chromium
from buildout.privateindex.engine.build import build_index
from distfactory import make_wheel

PROJECTS = 5000
#: loadEventEnd of the landing page, in ms: the best of up to LOADS loads must
#: be under this (the others may suffer from a busy machine).
LOAD_LIMIT_MS = 1000
LOADS = 5
NAVIGATION = "return performance.getEntriesByType('navigation')[0].toJSON()"
VISIBLE_ROWS = (
    "return Array.from(document.querySelectorAll('#projects tbody tr'))"
    ".filter(row => row.checkVisibility()).map(row => row.id)"
)

pytestmark = pytest.mark.timeout(300)


def summary(i: int) -> str:
    return f"Project number {i}" + (", with a needle in it" if i % 1000 == 7 else "")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5,000-project index (one minimal wheel each, plus Zope.Interface)."""
    src = tmp_path_factory.mktemp("wheels")
    started = time.monotonic()
    for i in range(PROJECTS - 1):
        make_wheel(src, f"proj{i:04d}", "1.0", summary=summary(i), modules={})
    make_wheel(src, "Zope.Interface", "5.0", summary="Interfaces for Python", modules={})
    made = time.monotonic()
    out = tmp_path_factory.mktemp("index")
    report = build_index([src], out, jobs=2)
    assert report.ok and report.projects == PROJECTS
    print(
        f"\n{PROJECTS} wheels made in {made - started:.1f}s, indexed in "
        f"{time.monotonic() - made:.1f}s; index.html is {(out / 'index.html').stat().st_size} bytes"
    )
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def landing_url(index: Path) -> str:
    return (index / "index.html").as_uri()


def visible(driver: WebDriver) -> list[str]:
    rows: list[str] = driver.execute_script(VISIBLE_ROWS)
    return rows


def type_filter(driver: WebDriver, text: str) -> list[str]:
    box = driver.find_element(By.ID, "filter")
    box.clear()
    if not text:  # clear() sends no input event: delete what was typed instead
        box.send_keys("x\b")
    else:
        box.send_keys(text)
    return visible(driver)


def console_errors(driver: WebDriver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] != "INFO"]


def test_landing_page_loads_fast_and_alone(browser: WebDriver, index: Path) -> None:
    timings = []
    for _ in range(LOADS):
        browser.get(landing_url(index))
        navigation = browser.execute_script(NAVIGATION)
        timings.append(navigation["loadEventEnd"] - navigation["startTime"])
        if timings[-1] < LOAD_LIMIT_MS:
            break
    print(f"\nlanding page loadEventEnd: {', '.join(f'{t:.0f}' for t in timings)} ms")
    assert min(timings) < LOAD_LIMIT_MS, timings
    assert navigation["decodedBodySize"] == (index / "index.html").stat().st_size
    # Nothing else is fetched: no style sheet, script, font or image.
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert len(visible(browser)) == PROJECTS
    assert browser.find_element(By.ID, "filter").is_displayed()
    assert console_errors(browser) == []


def test_typing_in_the_filter_box_leaves_the_matching_rows(browser: WebDriver, index: Path) -> None:
    browser.get(landing_url(index))
    started = time.monotonic()
    assert type_filter(browser, "proj012") == [f"proj{i:04d}" for i in range(120, 130)]
    print(f"\ntyping 7 characters and filtering: {time.monotonic() - started:.2f}s")
    assert browser.find_element(By.ID, "shown").text == f"10 of {PROJECTS} projects shown"
    # The blocks of rows left empty take no room: no screens of blank page below.
    assert browser.execute_script("return document.body.scrollHeight") < 1200
    # The summary counts too, every word must match, and case does not matter.
    assert type_filter(browser, "NEEDLE") == [f"proj{i:04d}" for i in (7, 1007, 2007, 3007, 4007)]
    assert type_filter(browser, "needle proj3") == ["proj3007"]
    # -, _ and . are alike, as in project names.
    assert type_filter(browser, "zope_interface") == ["zope-interface"]
    assert type_filter(browser, "no such project") == []
    assert browser.find_element(By.ID, "shown").text == f"0 of {PROJECTS} projects shown"
    assert len(type_filter(browser, "")) == PROJECTS
    assert browser.execute_script("return document.body.scrollHeight") > PROJECTS * 20
    assert browser.find_element(By.ID, "shown").text == ""
    assert console_errors(browser) == []  # the CSP let the inline script and style run


def test_a_row_links_its_project_page(browser: WebDriver, index: Path) -> None:
    browser.get(landing_url(index))
    type_filter(browser, "proj4321")
    browser.find_element(By.LINK_TEXT, "proj4321").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("/projects/proj4321.html"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "proj4321"
    assert browser.title == "proj4321 - Private package index"
    link = browser.find_element(By.LINK_TEXT, "proj4321-1.0-py3-none-any.whl")
    target = Path(unquote(urlsplit(link.get_attribute("href") or "").path))
    assert target == index / "simple" / "proj4321" / "proj4321-1.0-py3-none-any.whl"
    assert target.is_file()
    cells = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "tbody td")]
    assert cells[0] == "1.0" and cells[2].endswith("B")
    assert console_errors(browser) == []


def test_without_javascript_the_whole_list_is_there(index: Path) -> None:
    with chromium(javascript=False) as driver:
        driver.get(landing_url(index))
        assert not driver.find_element(By.ID, "filter").is_displayed()
        rows = visible(driver)  # selenium's own script runs; the page's does not
        assert len(rows) == PROJECTS and rows[0] == "proj0000" and rows[-1] == "zope-interface"
        link = driver.find_element(By.LINK_TEXT, "Zope.Interface")  # the last row
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
        link.click()
        WebDriverWait(driver, 10).until(
            lambda d: d.current_url.endswith("/projects/zope-interface.html")
        )
        assert driver.find_element(By.TAG_NAME, "h1").text == "Zope.Interface"
