#!/usr/bin/env python3
"""The dashboard in a real browser: Debian's headless Chromium driven by selenium through chromedriver.

Run by Tests/CLITests/DashboardBrowserTests.swift against a real `repowatch serve` (or `api` + `worker`) with a
repository served by a loopback git server. Written against the dashboard's routes and DOM (issue 13; the README's
"Dashboard" section): every selector below is one the pages promise.

Configured only by the environment:
  BASE_URL        the dashboard, e.g. http://127.0.0.1:PORT
  KEY_A           an admin API key ("alice" here: the first start's admin key, whose user is named admin)
  KEY_B           a plain API key (user bob)
  REPO_URL        a git repository the server may clone (on loopback)
  SCREENSHOT_DIR  where watchlist.png, repository.png and admin.png are written (created if missing)
Optional: READY_TIMEOUT (seconds the entry has to become ready, default 240), CHROMIUM (default /usr/bin/chromium),
CHROMEDRIVER (default /usr/bin/chromedriver), DASHBOARD_NO_JS=skip to leave out the JavaScript-less pass.

Prints one `ok: ...` line per step; on the first failure prints `FAIL: <step>: <what>` (with the page's URL, title and
the end of its source, and a screenshot in a temporary folder) and exits 1. Waits are explicit (WebDriverWait polling
the DOM): no sleep decides an outcome. The browser console is read after every page; any SEVERE entry fails the run,
except the one line Chromium logs for a page deliberately answered with an error status (401, 403, 404, 422).
"""
import json
import os
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


class Failure(Exception):
    """A step's expectation was not met; the message says what was expected and what was seen."""


def env(name):
    value = os.environ.get(name, "").strip()
    if not value:
        print(f"FAIL: setup: the environment variable {name} is not set (see the docstring of {sys.argv[0]})", flush=True)
        sys.exit(2)
    return value


BASE_URL = env("BASE_URL").rstrip("/")
KEY_A = env("KEY_A")
KEY_B = env("KEY_B")
REPO_URL = env("REPO_URL")
SCREENSHOT_DIR = env("SCREENSHOT_DIR")
READY_TIMEOUT = float(os.environ.get("READY_TIMEOUT", "240"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
PAGE_TIMEOUT = 20  # seconds for a page, a form's answer or an element to appear

started = time.monotonic()
current_step = "setup"
steps_done = 0


def ok(message):
    global steps_done
    steps_done += 1
    print(f"ok: {message}  [{time.monotonic() - started:.1f}s]", flush=True)


def check(condition, message):
    if not condition:
        raise Failure(message)


# --- HTTP without the browser (urllib): statuses the browser does not expose, and the JSON API -----------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx is returned as it is (raised as HTTPError, caught below)


# No proxy from the environment: everything here is on loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def http(method, path, headers=None, form=None):
    """(status, headers, body text) of one request to BASE_URL + path; redirects are not followed."""
    data = None
    headers = dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(BASE_URL + path, data=data, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")


def api(path, key):
    """GET a /v1 JSON resource with a Bearer key; fails the step unless it answers 200."""
    status, _, body = http("GET", path, {"Authorization": f"Bearer {key}", "Accept": "application/json"})
    check(status == 200, f"GET {path} with a Bearer key: expected 200, got {status}: {body[:500]}")
    return json.loads(body)


def health_report_count(repository_id, key):
    count, cursor = 0, None
    for _ in range(100):
        query = "limit=200" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        page = api(f"/v1/repositories/{repository_id}/health/history?{query}", key)
        count += len(page.get("items", []))
        cursor = page.get("next_cursor")
        if not cursor:
            return count
    raise Failure("health history: more than 100 pages")


def cookie_header(driver):
    """The Cookie header the browser would send to BASE_URL (HttpOnly cookies included: WebDriver sees them)."""
    return "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())


# --- The browser ------------------------------------------------------------------------------------------------------


def make_driver(javascript=True):
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--no-proxy-server",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    if not javascript:
        options.add_argument("--blink-settings=scriptEnabled=false")
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, log_output=os.devnull)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT * 3)
    driver.set_script_timeout(PAGE_TIMEOUT)
    return driver


def wait(driver, condition, what, timeout=PAGE_TIMEOUT):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)).until(
            condition)
    except TimeoutException:
        raise Failure(f"waited {timeout:.0f}s for {what}; the page is {driver.current_url}") from None


def path_of(driver):
    return urllib.parse.urlsplit(driver.current_url).path


def at_path(path):
    return lambda driver: path_of(driver) == path


def one(driver, selector, what=None):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    check(found, f"no element matches {selector!r}{' (' + what + ')' if what else ''} on {driver.current_url}")
    return found[0]


def console(driver, page, allowed_statuses=()):
    """Fails on any SEVERE browser-console entry since the last read, except Chromium's own line for this page's
    document answered with one of `allowed_statuses` (a page that is meant to be an error page)."""
    try:
        entries = driver.get_log("browser")
    except WebDriverException as error:
        raise Failure(f"cannot read the browser console: {error}") from None
    bad = []
    for entry in entries:
        if entry.get("level") != "SEVERE":
            continue
        message = entry.get("message", "")
        if message.startswith(driver.current_url + " - Failed to load resource") and any(
                f"the server responded with a status of {status} " in message for status in allowed_statuses):
            continue
        bad.append(message)
    check(not bad, f"the browser console shows errors on {page}: " + " | ".join(bad))


def replaced(element):
    """A wait condition: `element` no longer belongs to the page (a new document replaced the one that held it).
    While a navigation is under way chromedriver may answer with an inspector error rather than a stale reference."""
    def condition(_):
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error) or "No node with given id" in str(error):
                return True
            return False  # the navigation is still settling: look again
    return condition


def submit(driver, form, javascript=True):
    """Clicks the form's submit button and waits until the old page is gone (the answer has replaced it)."""
    name = form.get_attribute("id") or "the form"
    button = form.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]")
    button.click()
    wait(driver, replaced(form), f"the answer to form#{name}")
    if javascript:  # (without JavaScript no script runs in the page, not even this one; the find waits that follow suffice)
        wait(driver, lambda d: d.execute_script("return document.readyState") == "complete", "the page to load")


def has_csrf(form):
    fields = form.find_elements(By.CSS_SELECTOR, "input[type=hidden][name=csrf_token]")
    return bool(fields) and bool(fields[0].get_attribute("value"))


def screenshot(driver, name):
    os.makedirs(SCREENSHOT_DIR, exist_ok=True)
    path = os.path.join(SCREENSHOT_DIR, name)
    # The whole page, not only the window: the window grows to the page's height for the picture.
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], min(max(int(height) + 120, size["height"]), 4000))
    try:
        check(driver.save_screenshot(path), f"could not write the screenshot {path}")
    finally:
        driver.set_window_size(size["width"], size["height"])
    check(os.path.getsize(path) > 5000, f"the screenshot {path} is suspiciously small ({os.path.getsize(path)} bytes)")
    return path


def sign_in(driver, key, who):
    driver.get(BASE_URL + "/sign-in")
    form = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "form#sign-in")), "form#sign-in")
    check(has_csrf(form), "form#sign-in has no hidden csrf_token with a value")
    field = one(driver, "form#sign-in input#api_key[name=api_key]")
    check(field.get_attribute("type") == "password", f"input#api_key is type={field.get_attribute('type')!r}, expected password")
    console(driver, "/sign-in")
    field.send_keys(key)
    submit(driver, form)
    check(path_of(driver) == "/watchlist", f"signing in as {who}: expected to land on /watchlist, the page is {driver.current_url}")
    session = driver.get_cookie("rw_session")
    check(session is not None, f"signed in as {who} but the browser holds no rw_session cookie: {driver.get_cookies()}")
    check(session.get("httpOnly") is True, f"rw_session is not HttpOnly: {session}")
    check(session.get("sameSite") == "Strict", f"rw_session is not SameSite=Strict: {session}")
    check(session.get("path") == "/", f"rw_session's path is {session.get('path')!r}, expected /")
    console(driver, "/watchlist")


def entry_row(driver, entry_id):
    rows = driver.find_elements(By.CSS_SELECTOR, f"table#watchlist tbody tr[data-entry-id='{entry_id}']")
    return rows[0] if rows else None


def normalized(url):
    url = url.strip().rstrip("/")
    return url[:-4] if url.endswith(".git") else url


def find_new_row(driver):
    """The watchlist row whose a.repo-link shows REPO_URL (the only row, if the link text is spelled otherwise)."""
    rows = driver.find_elements(By.CSS_SELECTOR, "table#watchlist tbody tr[data-entry-id]")
    for row in rows:
        links = row.find_elements(By.CSS_SELECTOR, "a.repo-link")
        if links and normalized(links[0].text) == normalized(REPO_URL):
            return row
    return rows[0] if len(rows) == 1 else None


# The page's own record of what the row showed, kept by a MutationObserver so that no state passes unseen between two
# polls: every data-status and progress value in order (the row is looked up again each time: the page may replace it).
OBSERVE_ROW = """
const id = arguments[0];
const read = () => {
  const row = document.querySelector(`table#watchlist tbody tr[data-entry-id="${id}"]`);
  if (!row) return null;
  const progress = row.querySelector('progress[data-role=progress]');
  return {row, status: row.getAttribute('data-status'), progress: progress ? progress.value : null};
};
const first = read();
window.__seen = {statuses: [first.status], progress: [first.progress], mutations: 0};
const record = () => {
  const now = read();
  if (!now) return;
  const seen = window.__seen;
  seen.mutations += 1;
  if (seen.statuses[seen.statuses.length - 1] !== now.status) seen.statuses.push(now.status);
  if (seen.progress[seen.progress.length - 1] !== now.progress) seen.progress.push(now.progress);
};
new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
return window.__seen;
"""


def run_main(driver):
    """alice and bob in a browser with JavaScript: the whole contract walk. Returns alice's entry id."""
    global current_step

    current_step = "signed out"
    driver.get(BASE_URL + "/")
    wait(driver, at_path("/sign-in"), "GET / without a session to redirect to /sign-in")
    console(driver, "/")
    ok("GET / without a session lands on /sign-in")

    current_step = "bad key"
    form = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "form#sign-in")), "form#sign-in")
    one(driver, "input#api_key").send_keys("rw_" + "x" * 40)
    submit(driver, form)
    error = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "p.field-error#api_key-error")),
                 "p.field-error#api_key-error after a wrong key")
    check(error.text.strip(), "p#api_key-error is empty")
    check(driver.get_cookie("rw_session") is None, "a wrong key left an rw_session cookie")
    console(driver, "/sign-in with a wrong key", allowed_statuses=(401,))
    ok(f"a wrong key is refused on the sign-in form: {error.text.strip()!r}")

    current_step = "sign in as alice"
    sign_in(driver, KEY_A, "alice")
    driver.get(BASE_URL + "/")
    wait(driver, at_path("/watchlist"), "GET / with a session to redirect to /watchlist")
    one(driver, "nav#status-filter")
    for status in ("all", "processing", "ready", "failed"):
        one(driver, f"nav#status-filter a[data-status={status}]")
    # table#watchlist lists the entries; alice has none yet, so the page may show an empty-state text instead of it.
    one(driver, "form#sign-out")
    console(driver, "/watchlist")
    ok("signed in with KEY_A (rw_session: HttpOnly, SameSite=Strict, Path=/); / → /watchlist; status filter, sign-out form")

    current_step = "add the repository"
    form = one(driver, "form#add-entry")
    check(has_csrf(form), "form#add-entry has no hidden csrf_token with a value")
    form.find_element(By.CSS_SELECTOR, "input#repo_url[name=repo_url]").send_keys(REPO_URL)
    form.find_element(By.CSS_SELECTOR, "textarea#notes[name=notes]").send_keys("added by the browser test")
    submit(driver, form)
    check(path_of(driver) == "/watchlist", f"after adding, expected /watchlist (303), the page is {driver.current_url}")
    row = wait(driver, find_new_row, f"a table#watchlist row with a.repo-link {REPO_URL}")
    entry_id = row.get_attribute("data-entry-id")
    driver.execute_script("window.__marker = 1;")
    seen = driver.execute_script(OBSERVE_ROW, entry_id)
    link = row.find_element(By.CSS_SELECTOR, "a.repo-link")
    check(link.get_attribute("href").endswith(f"/watchlist/{entry_id}"),
          f"a.repo-link's href is {link.get_attribute('href')!r}, expected /watchlist/{entry_id}")
    progress = row.find_element(By.CSS_SELECTOR, "progress[data-role=progress]")
    check(progress.get_attribute("max") in ("100", "100.0"), f"progress max={progress.get_attribute('max')!r}, expected 100")
    for role in ("status", "stage", "health-score"):
        row.find_element(By.CSS_SELECTOR, f"[data-role={role}]")
    console(driver, "/watchlist after adding")
    ok(f"added {REPO_URL} through form#add-entry: entry {entry_id}, first seen {seen['statuses'][0]} at progress {seen['progress'][0]}")

    current_step = "live updates"

    def settled(d):
        row = entry_row(d, entry_id)
        if row is None:
            return False
        status = row.get_attribute("data-status")
        return status if status in ("ready", "failed") else False

    final = wait(driver, settled, f"entry {entry_id}'s data-status to become ready without a reload", timeout=READY_TIMEOUT)
    if final == "failed":
        row = entry_row(driver, entry_id)
        stage = row.find_element(By.CSS_SELECTOR, "[data-role=stage]").text
        raise Failure(f"the entry became failed (stage {stage!r}), not ready")
    check(driver.execute_script("return window.__marker") == 1,
          "window.__marker is gone: the page was reloaded (the row must change live, by Server-Sent Events)")
    seen = driver.execute_script("return window.__seen")
    progress_values = [v for v in seen["progress"] if v is not None]
    moved = len(set(progress_values)) > 1
    check(seen["statuses"][0] == "processing" or moved,
          f"the row was already {seen['statuses'][0]!r} when first seen and its progress never moved ({progress_values}): "
          "no live update was observed")
    check(seen["statuses"][-1] == "ready", f"the statuses seen were {seen['statuses']}")
    row = entry_row(driver, entry_id)
    status_text = row.find_element(By.CSS_SELECTOR, "[data-role=status]").text.strip()
    check(status_text == "ready", f"[data-role=status] reads {status_text!r} although data-status is ready")
    value = float(row.find_element(By.CSS_SELECTOR, "progress[data-role=progress]").get_attribute("value") or "0")
    check(0 <= value <= 100, f"progress value {value} outside 0–100")
    def health_score(d):
        row = entry_row(d, entry_id)
        text = row.find_element(By.CSS_SELECTOR, "[data-role=health-score]").text.strip() if row else ""
        return text if text and text != "—" else False

    score = wait(driver, health_score, "the row's [data-role=health-score] to be filled in once ready", timeout=10)
    console(driver, "/watchlist while updating live")
    ok(f"the row went {' → '.join(seen['statuses'])} without a reload (window.__marker kept); "
       f"progress seen {progress_values}{' (moving)' if moved else ''}; health score {score}")

    current_step = "watchlist screenshot"
    ok(f"screenshot {screenshot(driver, 'watchlist.png')}")

    current_step = "status filter"
    driver.get(BASE_URL + "/watchlist?status=ready")
    wait(driver, lambda d: entry_row(d, entry_id) is not None, "the entry under ?status=ready")
    # The page came gzip'd and the browser decoded it (Resource Timing: bytes received < bytes of the document).
    encoded, decoded = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0]; return [n.encodedBodySize, n.decodedBodySize];")
    check(0 < encoded < decoded, f"the watchlist's navigation entry: {encoded} bytes received for a {decoded}-byte document; "
          "expected it compressed")
    ok(f"the watchlist arrived compressed: {encoded} bytes on the wire for a {decoded}-byte page")
    driver.get(BASE_URL + "/watchlist?status=failed")
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "nav#status-filter")), "the watchlist under ?status=failed")
    check(entry_row(driver, entry_id) is None, "the ready entry is listed under ?status=failed")
    console(driver, "/watchlist?status=…")
    ok("?status=ready lists the entry, ?status=failed does not")

    current_step = "repository page"
    driver.get(BASE_URL + "/watchlist")
    row = wait(driver, lambda d: entry_row(d, entry_id), "the entry's row")
    row.find_element(By.CSS_SELECTOR, "a.repo-link").click()
    page_path = f"/watchlist/{entry_id}"
    wait(driver, at_path(page_path), f"a.repo-link to open {page_path}")
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "svg#health-chart")), "svg#health-chart")
    entry = api(f"/v1/watchlist/{entry_id}", KEY_A)
    repository_id = entry["repository_id"]

    # Two re-checks from the page's own button, so the history chart has several reports: the page follows the run
    # live and loads itself again when it is done.
    current_step = "re-check from the repository page"
    for run in range(2):
        before = health_report_count(repository_id, KEY_A)
        button = one(driver, "form#recheck button[type=submit]", "a ready entry offers a re-check")
        button.click()
        # The form answers with ?done=rechecked, which the page drops again when the run ends (it may end at once).
        wait(driver, lambda d: "done=rechecked" in d.current_url or health_report_count(repository_id, KEY_A) > before,
             "the re-check form to answer with ?done=rechecked")
        wait(driver, lambda d: health_report_count(repository_id, KEY_A) > before, "the re-check's report", timeout=READY_TIMEOUT)
        def settled(d):
            try:
                states = d.find_elements(By.CSS_SELECTOR, "#state[data-status=ready]")
                if not states or states[0].get_attribute("data-live"):
                    return False
                return len(d.find_elements(By.CSS_SELECTOR, "svg#health-chart circle.point")) == health_report_count(repository_id, KEY_A)
            except StaleElementReferenceException:
                return False
        wait(driver, settled, "the page to show the re-check's report (it loads itself again when the run ends)", timeout=READY_TIMEOUT)
        console(driver, page_path + " (re-check)")
    ok("two re-checks from the page: the page followed each run and showed its report without a manual reload")
    current_step = "repository page"
    reports = health_report_count(repository_id, KEY_A)
    check(reports >= 1, f"GET /v1/repositories/{repository_id}/health/history lists no report for a ready repository")
    points = len(driver.find_elements(By.CSS_SELECTOR, "svg#health-chart circle.point"))
    check(points == reports, f"svg#health-chart has {points} circle.point, the API lists {reports} health reports")
    chart = one(driver, "svg#health-chart")
    check(chart.get_attribute("role") == "img", f"svg#health-chart role={chart.get_attribute('role')!r}, expected img")
    check(chart.find_elements(By.CSS_SELECTOR, "title"), "svg#health-chart has no <title>")
    bars = len(driver.find_elements(By.CSS_SELECTOR, "svg#commits-chart rect.bar"))
    check(bars == 52, f"svg#commits-chart has {bars} rect.bar, expected 52 (one per week)")
    check(one(driver, "svg#commits-chart").get_attribute("role") == "img", "svg#commits-chart is not role=img")
    health = one(driver, "#health-score").text.strip()
    check(health and health != "—", f"#health-score reads {health!r} for a ready repository")
    for selector in ("#bus-factor", "#days-since-last-commit"):
        check(one(driver, selector).text.strip(), f"{selector} is empty")
    authors = len(driver.find_elements(By.CSS_SELECTOR, "table#top-authors tbody tr"))
    check(authors >= 1, "table#top-authors has no row for a repository with 300 commits")
    checks = driver.find_elements(By.CSS_SELECTOR, "table#checks tr.check[data-check]")
    check(checks, "table#checks has no tr.check[data-check] row")
    without_details = []
    for row in checks:
        name = row.get_attribute("data-check")
        docs = row.find_elements(By.CSS_SELECTOR, "a.check-docs")
        check(docs and (docs[0].get_attribute("href") or "").startswith("http"), f"check {name}: no a.check-docs with a documentation URL")
        if not row.find_elements(By.CSS_SELECTOR, "details"):
            without_details.append(name)
    # A check with no detail line may show no <details>; the checks that have some must.
    check(len(without_details) < len(checks), "no tr.check of table#checks has a <details> with its detail lines")
    one(driver, "ol#events")
    one(driver, "form#recheck", "a ready entry offers a re-check")
    console(driver, page_path)
    ok(f"repository page: {points} circle.point = {reports} reports (API), 52 rect.bar, health {health}, "
       f"{authors} authors, {len(checks)} checks ({len(without_details)} without <details>: {', '.join(without_details) or 'none'})")

    current_step = "repository screenshot"
    ok(f"screenshot {screenshot(driver, 'repository.png')}")

    # The badge of this public repository (watched without a token) renders in the browser, with the page's score.
    current_step = "badge"
    parsed = urllib.parse.urlsplit(REPO_URL)
    path = parsed.path[:-4] if parsed.path.endswith(".git") else parsed.path
    badge_url = f"{BASE_URL}/badge/{parsed.netloc}{path}.svg"
    driver.get(badge_url)
    badge = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "svg")), f"the badge at {badge_url}")
    label = badge.get_attribute("aria-label") or ""
    check(label == f"repo health: {int(float(health) + 0.5)}", f"the badge says {label!r}; the repository page's health score is {health}")
    size = badge.size
    check(size["width"] > 80 and size["height"] == 20, f"the badge renders {size['width']}×{size['height']} px")
    console(driver, "/badge/…")
    status, _, _ = http("GET", f"/badge/{parsed.netloc}/nobody/watches.svg")
    check(status == 404, f"the badge of an unwatched repository answers {status}, expected 404")
    ok(f"badge {badge_url}: {label!r}, {size['width']}×{size['height']} px; an unwatched repository's badge is a 404")
    driver.get(BASE_URL + page_path)

    current_step = "alert rules"
    form = one(driver, "form#alert-rules")
    check(has_csrf(form), "form#alert-rules has no hidden csrf_token with a value")
    for selector in ("select[name=metric]", "input[name=score_drop]", "input[name=check_regressed]",
                     "input[name=inactive_days]", "input[name=processing]", "input[name=failed]"):
        form.find_element(By.CSS_SELECTOR, selector)
    field = form.find_element(By.CSS_SELECTOR, "input[name=score_below]")
    field.clear()
    field.send_keys("55")
    submit(driver, form)
    check(path_of(driver) == page_path, f"saving the rules: expected to come back to {page_path} (303), the page is {driver.current_url}")
    flash = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "p#flash")), "p#flash after saving the rules")
    check("Alert rules saved." in flash.text, f"p#flash reads {flash.text!r}, expected 'Alert rules saved.'")
    shown = one(driver, "form#alert-rules input[name=score_below]").get_attribute("value")
    check(shown and float(shown) == 55, f"the form shows score_below={shown!r} after saving 55")
    alerts = api(f"/v1/watchlist/{entry_id}", KEY_A).get("alerts", {})
    check(alerts.get("score_below") == 55, f"GET /v1/watchlist/{entry_id} alerts: {alerts}, expected score_below 55")
    console(driver, f"{page_path} after saving the rules")
    ok(f"alert rules saved: p#flash {flash.text.strip()!r}, the form shows 55, the API's alerts {json.dumps(alerts, sort_keys=True)}")

    current_step = "invalid alert rules"
    form = one(driver, "form#alert-rules")
    field = form.find_element(By.CSS_SELECTOR, "input[name=score_below]")
    field.clear()
    field.send_keys("500")
    # The browser's own validation (a max attribute) would stop the submit before the server sees it: this step is
    # about the server's answer, so the form is sent as it is.
    driver.execute_script("arguments[0].noValidate = true;", form)
    submit(driver, form)
    error = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "p.field-error#score_below-error")),
                 "p.field-error#score_below-error after score_below 500")
    check(error.text.strip(), "p#score_below-error is empty")
    console(driver, f"{page_path} with score_below 500", allowed_statuses=(422,))
    # The status itself: the same form, as the page now holds it (its csrf_token included), sent without the browser.
    fields = driver.execute_script(
        "return Array.from(new FormData(document.querySelector('form#alert-rules'))).map(p => [p[0], String(p[1])]);")
    fields = [(name, "500" if name == "score_below" else value) for name, value in fields]
    status, _, body = http("POST", f"/watchlist/{entry_id}/alerts", {"Cookie": cookie_header(driver)}, form=fields)
    check(status == 422, f"POST /watchlist/{entry_id}/alerts with score_below 500: expected 422, got {status}")
    check('id="score_below-error"' in body or "id=score_below-error" in body, "the 422 page has no #score_below-error")
    alerts = api(f"/v1/watchlist/{entry_id}", KEY_A).get("alerts", {})
    check(alerts.get("score_below") == 55, f"after the invalid value the stored rules changed: {alerts}")
    ok(f"score_below 500 is refused: 422 with #score_below-error {error.text.strip()!r}; the stored rules keep 55")

    current_step = "admin"
    driver.get(BASE_URL + "/admin")
    wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "table#queues")), "table#queues on /admin")
    queues = driver.find_elements(By.CSS_SELECTOR, "table#queues tr[data-queue]")
    check(queues, "table#queues has no tr[data-queue] row")
    names = sorted(q.get_attribute("data-queue") for q in queues)
    expected = ["commit-backfill", "health-analysis", "maintenance", "repository-setup", "webhook-delivery"]
    check(names == expected, f"table#queues lists {names}, expected every queue the service runs: {expected}")
    for selector in ("#scheduler", "table#discarded-jobs", "table#stalled"):
        one(driver, selector)
    console(driver, "/admin")
    ok(f"/admin as alice: {len(queues)} queues ({', '.join(q.get_attribute('data-queue') for q in queues)}), "
       "#scheduler, table#discarded-jobs, table#stalled")
    current_step = "admin screenshot"
    ok(f"screenshot {screenshot(driver, 'admin.png')}")

    current_step = "sign out"
    alice_cookies = cookie_header(driver)
    submit(driver, one(driver, "form#sign-out"))
    wait(driver, at_path("/sign-in"), "form#sign-out to land on /sign-in")
    check(driver.get_cookie("rw_session") is None or not driver.get_cookie("rw_session").get("value"),
          f"rw_session is still set after signing out: {driver.get_cookie('rw_session')}")
    driver.get(BASE_URL + "/watchlist")
    wait(driver, at_path("/sign-in"), "/watchlist after signing out to redirect to /sign-in")
    console(driver, "/sign-in after signing out")
    status, headers, _ = http("GET", "/watchlist", {"Cookie": alice_cookies})
    location = headers.get("Location", "")
    check(status == 303 and urllib.parse.urlsplit(location).path == "/sign-in",
          f"the old session cookie after signing out: expected 303 to /sign-in (session deleted), got {status} {location!r}")
    ok("signed out: /watchlist → /sign-in, and the old cookie no longer works (303 to /sign-in)")

    current_step = "bob"
    sign_in(driver, KEY_B, "bob")
    bob_cookies = cookie_header(driver)
    rows = driver.find_elements(By.CSS_SELECTOR, "table#watchlist tbody tr[data-entry-id]")
    check(not rows, f"bob's watchlist lists {len(rows)} entries, expected none")
    driver.get(BASE_URL + page_path)
    heading = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "h1")), f"an h1 on {page_path} as bob")
    said = f"{heading.text} {driver.title}".lower()
    check("404" in said or "not found" in said, f"alice's repository page as bob: h1 {heading.text!r}, title {driver.title!r}; expected a 404 page")
    check(not driver.find_elements(By.CSS_SELECTOR, "svg#health-chart, form#alert-rules"), "bob sees alice's repository page")
    console(driver, f"{page_path} as bob", allowed_statuses=(404,))
    status, _, _ = http("GET", page_path, {"Cookie": bob_cookies})
    check(status == 404, f"GET {page_path} with bob's cookie: expected 404, got {status}")
    ok(f"bob gets a 404 for alice's repository page (h1 {heading.text.strip()!r}; status 404)")

    current_step = "bob admin"
    driver.get(BASE_URL + "/admin")
    heading = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "h1")), "an h1 on /admin as bob")
    said = f"{heading.text} {driver.title}".lower()
    check("404" in said or "not found" in said, f"/admin as bob: h1 {heading.text!r}, title {driver.title!r}; expected a 404 page")
    check(not driver.find_elements(By.CSS_SELECTOR, "table#queues"), "bob sees table#queues")
    console(driver, "/admin as bob", allowed_statuses=(404,))
    status, _, _ = http("GET", "/admin", {"Cookie": bob_cookies})
    check(status == 404, f"GET /admin with bob's cookie: expected 404, got {status}")
    ok("bob gets a 404 for /admin")

    current_step = "csrf"
    for label, form in (("no csrf_token", [("repo_url", REPO_URL), ("notes", "")]),
                        ("a wrong csrf_token", [("repo_url", REPO_URL), ("notes", ""), ("csrf_token", "x" * 43)])):
        status, _, body = http("POST", "/watchlist", {"Cookie": bob_cookies}, form=form)
        check(status == 403, f"POST /watchlist with bob's session and {label}: expected 403, got {status}: {body[:300]}")
        check("Forbidden" in body and "CSRF" in body, f"the 403 page for {label} does not say Forbidden/CSRF: {body[:300]}")
    items = api("/v1/watchlist", KEY_B).get("items")
    check(items == [], f"bob's watchlist after the refused posts: {items}, expected []")
    ok("a form posted without (or with a wrong) csrf_token is refused 403 'Forbidden … CSRF'; bob's watchlist stays empty")

    current_step = "cookie on /v1"
    status, _, body = http("GET", "/v1/watchlist", {"Cookie": bob_cookies, "Accept": "application/json"})
    check(status == 401, f"GET /v1/watchlist with only the session cookie: expected 401, got {status}: {body[:300]}")
    ok("the session cookie does not authenticate /v1 (401)")
    return entry_id


def run_without_javascript(driver, entry_id):
    """With JavaScript off, the watchlist is still rendered by the server and the add form still works."""
    global current_step
    current_step = "no-js: scripts are off"
    driver.get("data:text/html,<p id=probe>off</p><script>document.getElementById('probe').textContent='on'</script>")
    probe = wait(driver, EC.presence_of_element_located((By.ID, "probe")), "the probe page")
    check(probe.text == "off", "JavaScript still runs in the second browser: the JS-less check would prove nothing")
    ok("second browser: JavaScript is disabled")

    current_step = "no-js: alice's watchlist"
    driver.get(BASE_URL + "/sign-in")
    form = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "form#sign-in")), "form#sign-in")
    one(driver, "input#api_key").send_keys(KEY_A)
    submit(driver, form, javascript=False)
    wait(driver, at_path("/watchlist"), "signing in without JavaScript to land on /watchlist")
    row = wait(driver, lambda d: entry_row(d, entry_id), f"alice's entry {entry_id} in the server-rendered watchlist")
    check(row.get_attribute("data-status") == "ready", f"the row's data-status is {row.get_attribute('data-status')!r}, expected ready")
    check(normalized(row.find_element(By.CSS_SELECTOR, "a.repo-link").text) == normalized(REPO_URL),
          f"a.repo-link reads {row.find_element(By.CSS_SELECTOR, 'a.repo-link').text!r}")
    ok("without JavaScript the watchlist lists alice's ready entry")
    submit(driver, one(driver, "form#sign-out"), javascript=False)
    wait(driver, at_path("/sign-in"), "signing out without JavaScript")

    current_step = "no-js: bob adds"
    form = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "form#sign-in")), "form#sign-in")
    one(driver, "input#api_key").send_keys(KEY_B)
    submit(driver, form, javascript=False)
    wait(driver, at_path("/watchlist"), "bob signing in without JavaScript")
    form = one(driver, "form#add-entry")
    form.find_element(By.CSS_SELECTOR, "input#repo_url").send_keys(REPO_URL)
    submit(driver, form, javascript=False)
    wait(driver, at_path("/watchlist"), "the add form's 303 to /watchlist")
    row = wait(driver, find_new_row, f"bob's new row for {REPO_URL}")
    items = api("/v1/watchlist", KEY_B).get("items", [])
    check(len(items) == 1 and items[0]["id"] == row.get_attribute("data-entry-id"),
          f"bob's watchlist in the API: {[i.get('id') for i in items]}, the page shows {row.get_attribute('data-entry-id')}")
    ok(f"without JavaScript form#add-entry works: bob's entry {items[0]['id']} is listed ({row.get_attribute('data-status')})")


def fail(driver, message):
    print(f"FAIL: {current_step}: {message}", flush=True)
    if driver is None:
        return
    try:
        folder = tempfile.mkdtemp(prefix="dashboard-failure-")
        driver.save_screenshot(os.path.join(folder, "failure.png"))
        print(f"  page: {driver.current_url} (title {driver.title!r}); screenshot: {folder}/failure.png", file=sys.stderr)
        source = driver.page_source
        print(f"  the end of its source:\n{source[-3000:]}", file=sys.stderr)
    except Exception as error:  # the browser itself may be the failure
        print(f"  (no page details: {error})", file=sys.stderr)


def main():
    global current_step
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            print(f"FAIL: setup: {path} is missing: run scripts/install-deps.sh test", flush=True)
            return 1
    driver = None
    try:
        current_step = "start Chromium"
        driver = make_driver(javascript=True)
        ok(f"Chromium {driver.capabilities.get('browserVersion')} (headless, 1280x900) through {CHROMEDRIVER}")
        entry_id = run_main(driver)
        driver.quit()
        driver = None
        if os.environ.get("DASHBOARD_NO_JS") != "skip":
            current_step = "start Chromium without JavaScript"
            driver = make_driver(javascript=False)
            run_without_javascript(driver, entry_id)
    except Failure as failure:
        fail(driver, str(failure))
        return 1
    except Exception as error:  # selenium's own errors (no such element, a crashed browser) are failures too
        fail(driver, f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}")
        traceback.print_exc()
        return 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
    print(f"ok: all {steps_done} steps passed in {time.monotonic() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
