"""ecd's browser test: the service-account connect flow clicked through in headless Chromium,
through nginx's TLS server, with the simulator's approval page shown (no auto_approve).
Started by scripts/browser-test.sh. Screenshots go to --screenshots."""
import argparse
import os
import signal
import sys

from ecdsys.cdp import Browser
from ecdsys.report import Report
from ecdsys.stack import Stack

CLICK = """(() => {
  const button = [...document.querySelectorAll('button, input[type=submit]')]
    .find(b => (b.textContent || b.value || '').trim().toLowerCase() === '%s');
  if (!button) return false;
  button.click();
  return true;
})()"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ecd", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--screenshots", required=True)
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.makedirs(options.screenshots, exist_ok=True)
    report = Report()
    stack = Stack(options.repo, options.ecd, options.workdir)
    browser = None
    try:
        stack.prepare()
        stack.start_simulator()
        stack.start_ecd(stack.tls_url)
        stack.start_nginx()
        browser = Browser(stack.procs, options.workdir, stack.spki_sha256())
        approve(stack, browser, report, options.screenshots)
        deny(stack, browser, report, options.screenshots)
    except Exception as error:  # noqa: BLE001 - reported as one failure, then cleaned up
        report.crashed("browser test", error)
    except SystemExit:
        report.check("browser test finished within its time limit", False, "stopped by SIGTERM (scripts/browser-test.sh's timeout)")
    finally:
        if browser:
            browser.close()
        stack.shutdown()
    return report.summary()


def new_link(stack, label):
    response = stack.api("POST", "/v1/service-accounts/connect-links", json_body={"label": label})
    if response.status != 201:
        raise RuntimeError("connect link: " + response.describe())
    return response.json()["url"]


def open_link(stack, browser, report, link, screenshot=None):
    """Opens a connect link as the admin does: the landing page, then its "Continue to Cronofy"
    button (a POST; link previews only GET, so they cannot spend the link)."""
    browser.navigate(link)
    text = browser.evaluate("document.body.innerText") or ""
    final = browser.documents[-1] if browser.documents else (None, None)
    report.check("the connect link shows ecd's landing page naming the Cronofy application",
                 final[1] == 200 and "Connect a service account" in text and stack.client_id in text,
                 f"last document -> {final[1]}: {text[:200]!r}")
    if screenshot:
        browser.screenshot(screenshot)
    clicked = browser.evaluate(CLICK % "continue to cronofy")
    report.check("the Continue to Cronofy button is there and clicked", clicked is True, f"result {clicked!r}")
    browser.wait_event("Page.loadEventFired")


def approve(stack, browser, report, screenshots):
    open_link(stack, browser, report, new_link(stack, "browser-test"), os.path.join(screenshots, "0-landing.png"))
    location = browser.evaluate("location.href") or ""
    text = browser.evaluate("document.body.innerText") or ""
    report.check("the button leads to the simulator's approval page",
                 location.startswith(stack.sim_url + "/enterprise_connect/oauth/authorize") and "Approve" in text,
                 f"at {location.split('?')[0]}: {text[:200]!r}")
    browser.screenshot(os.path.join(screenshots, "1-approval.png"))
    clicked = browser.evaluate(CLICK % "approve")
    report.check("the Approve button is there and clicked", clicked is True, f"result {clicked!r}")
    browser.wait_event("Page.loadEventFired")
    location = browser.evaluate("location.href") or ""
    text = browser.evaluate("document.body.innerText") or ""
    png = browser.screenshot(os.path.join(screenshots, "2-connected.png"))
    final = browser.documents[-1] if browser.documents else (None, None)
    report.check("after Approve the browser is on ecd's /oauth/callback through nginx TLS, answered 200",
                 location.startswith(stack.tls_url + "/oauth/callback") and final[1] == 200,
                 f"at {location.split('?')[0]}, last document {final[0] and final[0].split('?')[0]} -> {final[1]}")
    report.check("the success page names the service account's domain and provider",
                 "example.com" in text and "google" in text.lower(), f"page text: {text[:300]!r}")
    report.check("a screenshot of the success page was saved", png.startswith(b"\x89PNG") and len(png) > 2000,
                 f"{len(png)} bytes")
    listed = stack.api("GET", "/v1/service-accounts")
    active = [a for a in listed.json().get("service_accounts", []) if a.get("status") == "active"] if listed.status == 200 else []
    report.check("the internal API lists the connected service account", len(active) == 1, listed.describe())


def deny(stack, browser, report, screenshots):
    open_link(stack, browser, report, new_link(stack, "browser-test-deny"))
    clicked = browser.evaluate(CLICK % "deny")
    report.check("the Deny button is there and clicked", clicked is True, f"result {clicked!r}")
    browser.wait_event("Page.loadEventFired")
    location = browser.evaluate("location.href") or ""
    text = browser.evaluate("document.body.innerText") or ""
    browser.screenshot(os.path.join(screenshots, "3-denied.png"))
    final = browser.documents[-1] if browser.documents else (None, None)
    report.check("after Deny ecd shows a 400 page that says access was denied",
                 location.startswith(stack.tls_url + "/oauth/callback") and final[1] == 400 and "denied" in text.lower(),
                 f"at {location.split('?')[0]} -> {final[1]}: {text[:200]!r}")


if __name__ == "__main__":
    sys.exit(main())
