import pytest


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from dash_browser import launch

    manager, b = launch(tmp_path_factory.mktemp("chromium"))
    yield b
    b.context.close()
    manager.stop()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory):
    """Where the tests save a screenshot of each view (DETAUDIT_SCREENSHOTS, else a temp folder)."""
    import os
    from pathlib import Path

    folder = Path(os.environ.get("DETAUDIT_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
