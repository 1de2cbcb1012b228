"""A real headless Chromium (Debian's `chromium` and `chromium-driver`, which `make setup`
installs) driven by Selenium. Selenium blocks, and the admin-api under test serves on this
same event loop, so every browser call runs in a worker thread."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from channel_sync_testing.waiting import wait_for
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select

T = TypeVar("T")

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")


def start_chromium(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    """Fails in CI when the browser is missing (setup installs it); skips elsewhere."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        message = f"headless Chromium is not installed ({', '.join(missing)}): run make setup"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


class Browser:
    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(call, *args)

    async def go(self, path: str) -> None:
        await self._run(self.driver.get, self.base_url + path)

    async def find(self, css: str) -> WebElement:
        return await self._run(self.driver.find_element, By.CSS_SELECTOR, css)

    async def all(self, css: str) -> list[WebElement]:
        return await self._run(self.driver.find_elements, By.CSS_SELECTOR, css)

    async def text(self, css: str) -> str:
        element = await self.find(css)
        return await self._run(lambda: element.text)

    async def type(self, css: str, value: str) -> None:
        element = await self.find(css)
        await self._run(element.clear)
        await self._run(element.send_keys, value)

    async def choose(self, css: str, value: str) -> None:
        """Pick an option of a <select> by its value."""
        element = await self.find(css)
        await self._run(lambda: Select(element).select_by_value(value))

    async def click(self, css: str) -> None:
        """Click a link or button and wait for the next page to replace this one (so a
        check that follows never reads the old page)."""
        old_page = await self.find("html")
        element = await self.find(css)
        await self._run(element.click)

        async def replaced() -> bool:
            try:
                await self._run(lambda: old_page.tag_name)
            except StaleElementReferenceException:
                return True
            except WebDriverException:  # Chromium mid-navigation: ask again
                return False
            return False

        await wait_for(replaced, timeout=10, what=f"the page after clicking {css}")

        async def loaded() -> bool:
            try:
                state = await self._run(self.driver.execute_script, "return document.readyState")
            except WebDriverException:
                return False
            return bool(state == "complete")

        await wait_for(loaded, timeout=10, what=f"the page after clicking {css} to load")

    async def tick(self, css: str) -> None:
        """Click what changes nothing but itself (a checkbox)."""
        element = await self.find(css)
        await self._run(element.click)

    async def path(self) -> str:
        url: str = await self._run(lambda: self.driver.current_url)
        return url.removeprefix(self.base_url)

    async def source(self) -> str:
        html: str = await self._run(lambda: self.driver.page_source)
        return html

    async def wait_text(self, css: str, expected: str, timeout: float = 10) -> None:
        async def shows() -> bool:
            found = await self.all(css)
            try:
                return bool(found) and expected in await self._run(lambda: found[0].text)
            except WebDriverException:  # replaced meanwhile (htmx, navigation): look again
                return False

        await wait_for(shows, timeout=timeout, what=f"{css} to show {expected!r}")

    async def wait_path(self, prefix: str, timeout: float = 10) -> None:
        async def there() -> bool:
            return (await self.path()).startswith(prefix)

        await wait_for(there, timeout=timeout, what=f"the browser at {prefix}")

    async def login(self, token: str) -> None:
        await self.go("/console/login")
        await self.type("#token", token)
        await self.click("#login")
        await self.wait_path("/console/events")

    async def forget_session(self) -> None:
        await self._run(self.driver.delete_all_cookies)
