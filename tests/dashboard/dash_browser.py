"""Debian's Chromium, headless, driven by Playwright's Python client (never a browser Playwright
downloads). Under CI=true a missing browser or client fails the test instead of skipping it."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("DETAUDIT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def _unavailable(why: str):
    import pytest

    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the dashboard's browser tests need {why} (CI installs it in .ci/run)")
    pytest.skip(f"needs {why}")


class Browser:
    """One browser context; :meth:`open` gives a page that records console errors, page errors
    and every request that would leave the machine (they are all refused)."""

    def __init__(self, context):
        self.context = context
        self.remote: list[str] = []
        context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            self.remote.append(url)
            route.abort()

    def new_page(self):
        page = self.context.new_page()
        page.errors = []
        page.on("console", lambda m: page.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: page.errors.append(f"page error: {e}"))
        return page

    @staticmethod
    def load(page, url: str):
        """Navigate and wait until the dashboard's script has drawn its first view."""
        page.goto(url, wait_until="commit")
        page.wait_for_selector("body[data-ready='1']", timeout=10_000)
        return page

    def open(self, url: str):
        return self.load(self.new_page(), url)


def launch(tmp: Path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Playwright Python client (pip install playwright)")
    exe = chromium_path()
    if exe is None:
        _unavailable("Debian's chromium (apt-get install chromium)")
    manager = sync_playwright().start()
    context = manager.chromium.launch_persistent_context(
        str(tmp / "profile"), executable_path=exe, headless=True, args=ARGS, offline=True,
        viewport={"width": 1280, "height": 760})
    return manager, Browser(context)
