"""Drive Debian's Chromium, headless, with selenium and Debian's chromedriver.

``.ci/install-system-deps`` installs both (packages ``chromium`` and
``chromium-driver``).  Selenium is given the driver's path, so Selenium
Manager never runs and nothing is downloaded; the browser gets a fresh
temporary profile and no network is needed.  Without Chromium the tests fail,
they do not skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

__all__ = ["BrowserError", "chromium", "find_chromium"]

#: Flags for a quiet, self-contained headless run.
_FLAGS = (
    "--headless=new",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--window-size=1280,900",
)


class BrowserError(RuntimeError):
    """Chromium or its driver is missing."""


def find_chromium() -> tuple[str, str]:
    """The paths of Chromium and chromedriver, failing loudly when missing."""
    found = []
    for name in ("chromium", "chromedriver"):
        path = shutil.which(name)
        if path is None:
            raise BrowserError(f"{name} is not installed: run .ci/install-system-deps (as root)")
        found.append(path)
    return found[0], found[1]


@contextmanager
def chromium(*, javascript: bool = True) -> Iterator[WebDriver]:
    """A headless Chromium with a temporary profile (JavaScript off if asked).

    Its console messages are kept: ``driver.get_log("browser")``.
    """
    binary, driver_path = find_chromium()
    profile = tempfile.mkdtemp(prefix="privateindex-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in _FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium's sandbox refuses root
    if not javascript:
        prefs = {"profile.managed_default_content_settings.javascript": 2}
        options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        try:
            yield driver
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
