"""``fishpond app`` in a real browser: headless Chromium, driven by Selenium.

The app is served by ``fishpond app`` in a child process on a free port of 127.0.0.1; Debian's
``chromium`` and ``chromedriver`` (never a browser downloaded at run time) load the page,
move a slider, press Step ten times and read the members shown, which must equal a
:class:`~sim.model.GrowthModel` run with the same settings and seed; "Save scenario" must write a
file that runs to the same numbers. The page is saved as ``docs/app.png`` (the README's picture).

Solara's page loads its scripts from a CDN; offline (CI), ``python -m sim.serve FOLDER`` puts
them in FOLDER and ``SOLARA_ASSETS_PROXY_CACHE_DIR=FOLDER`` serves them from there.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
REQUIRED = os.environ.get("FISHPOND_REQUIRE_BROWSER") == "1"
SETTINGS = ["population.size=2000", "steps=60"]

if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()) and not REQUIRED:
    pytest.skip("chromium and chromedriver not installed (apt-get install chromium "
                "chromium-driver) and FISHPOND_REQUIRE_BROWSER is unset; CI sets it, so "
                "there this test runs or fails", allow_module_level=True)

from selenium import webdriver  # noqa: E402  (the test extra)
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``fishpond app`` on a free port; yields (url, save folder)."""
    work = tmp_path_factory.mktemp("app")
    port = _free_port()
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=path)
    cmd = [sys.executable, "-m", "sim", "app", "fish_pond", "--port", str(port),
           "--save-dir", str(work / "saved")]
    for setting in SETTINGS:
        cmd += ["--set", setting]
    log = open(work / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # its server child is stopped with it
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"fishpond app exited: {(work / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("fishpond app did not answer in 240 s")
    yield url, work / "saved"
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="module")
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1600,1200"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _text(driver, css: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text.strip() if found else ""


def _wait(driver, what, seconds: float, message: str):
    return WebDriverWait(driver, seconds, poll_frequency=0.2).until(
        lambda d: what(d), message=message)


def _run(overrides: list[str], days: int) -> int:
    from sim.model import GrowthModel
    from sim.scenario_io import load_scenario

    model = GrowthModel(load_scenario("fish_pond", overrides))
    model.run(days)
    return int(model.timeseries()["members"].iloc[-1])


def test_slider_step_and_save_match_a_model_run(server, browser):
    url, saved = server
    browser.get(url)
    _wait(browser, lambda d: _text(d, ".fishpond-members"), 180,
          "the page showed no members: did Solara's assets load? (offline: python -m "
          "sim.serve FOLDER and SOLARA_ASSETS_PROXY_CACHE_DIR=FOLDER)")
    assert _text(browser, ".fishpond-day") == "0"
    assert _text(browser, ".fishpond-members") == "100"  # the seeds

    # move the "Seed members" slider one step right with the keyboard: 100 -> 110
    thumb = browser.find_element(
        By.XPATH, "//label[contains(., 'Seed members')]/ancestor::div"
        "[contains(concat(' ', @class, ' '), ' v-slider ')][1]//*[@role='slider']")
    assert thumb.get_attribute("aria-valuenow") == "100"
    thumb.send_keys(Keys.ARROW_RIGHT)
    _wait(browser, lambda d: "Seed members (fry) 110" in _text(d, ".fishpond-changes"), 60,
          "moving the slider did not restart the model with 110 seeds")
    assert thumb.get_attribute("aria-valuenow") == "110"
    assert _text(browser, ".fishpond-members") == "110"

    step = browser.find_element(By.XPATH, "//button[normalize-space(.)='Step']")
    for day in range(1, 11):
        step.click()
        _wait(browser, lambda d, day=day: _text(d, ".fishpond-day") == str(day), 60,
              f"day {day} not shown after pressing Step")
    shown = int(_text(browser, ".fishpond-members"))
    settings = SETTINGS + ["seeding.count=110"]
    assert shown == _run(settings, 10)
    assert shown != _run(SETTINGS, 10)  # the slider changed the run

    browser.find_element(By.XPATH, "//button[normalize-space(.)='Save scenario']").click()
    _wait(browser, lambda d: _text(d, ".fishpond-saved").startswith("Saved"), 60,
          "Save scenario wrote nothing")
    files = list(saved.glob("*.yaml"))
    assert len(files) == 1, files
    from sim.model import GrowthModel
    from sim.scenario_io import load_scenario

    model = GrowthModel(load_scenario(files[0]))
    model.run(10)
    assert int(model.timeseries()["members"].iloc[-1]) == shown

    browser.save_screenshot(str(ROOT / "docs" / "app.png"))
