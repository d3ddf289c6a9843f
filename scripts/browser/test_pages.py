#!/usr/bin/env python3
"""Browser tests of the pages the gateway serves, in headless Chromium driven by
Selenium, against a real `hawker serve`. Screenshots go to artifacts/screenshots/.

    scripts/browser/test_pages.py [--binary .build/debug/hawker] [--port 19601] [-k NAME]

Exits non-zero when a test fails. scripts/test.sh runs it (after installing selenium
into a venv); .ci/run installs Debian's chromium and chromium-driver.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "browser-secret-0123456789abcdef0123456789"
SHOTS = os.path.join(ROOT, "artifacts", "screenshots")


class Gateway:
    """A real `hawker serve` on a loopback port, with its own data directory."""

    def __init__(self, binary, port, extra=()):
        self.binary, self.port, self.extra = binary, port, list(extra)
        self.data = tempfile.mkdtemp(prefix="hawker-browser-")
        self.process = None

    def start(self):
        log = open(os.path.join(ROOT, "artifacts", "browser-server.log"), "a")
        # Standard output apart: `serve --demo` prints its links there.
        self.output = os.path.join(self.data, "stdout.txt")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--port", str(self.port), "--data-dir", self.data,
             "--set", f"jwt.secret={SECRET}", "--set", "orders.demo_delay_ms=200", "--set", "log.level=warning"] + self.extra,
            stdout=open(self.output, "w"), stderr=log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the gateway did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    def token(self, role, sub, stream="shop", name=None, merchant=None):
        args = [self.binary, "token", "--role", role, "--stream", stream, "--sub", sub]
        if name:
            args += ["--name", name]
        if merchant:
            args += ["--merchant", merchant]
        env = dict(os.environ, HAWKER_JWT_SECRET=SECRET)
        return subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout.strip()

    def publish(self, host_token, kind, data, stream="shop"):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/v1/streams/{stream}/events", method="POST",
            data=json.dumps({"kind": kind, "data": data}).encode(),
            headers={"Authorization": f"Bearer {host_token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def request(self, method, path, token, body=None):
        """An HTTP API call with a bearer token; its JSON answer."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def state(self, token, stream="shop"):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/v1/streams/{stream}",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)


def browser():
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"]:
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"  # Debian's; keeps Selenium from looking for a browser to download
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def card(driver, product):
    found = driver.find_elements(By.CSS_SELECTOR, f'.card[data-product="{product}"]')
    return found[0] if found else None


def text(driver, selector):
    """An element's text read in the page, in one step (no stale element in between)."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector)


def buy(driver, product):
    """Clicks a card's Buy button (in the page: cards are re-rendered as pushes arrive,
    so a located element can go stale between finding and clicking it)."""
    driver.execute_script(f"document.querySelector('.card[data-product=\"{product}\"] button.buy').click()")


def wait(driver, seconds, condition, what):
    try:
        # Pages re-render as pushes arrive: an element found a moment ago may be gone.
        return WebDriverWait(driver, seconds, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(lambda d: condition(d))
    except Exception:
        raise AssertionError(f"not within {seconds} s: {what}")


CATALOG = [
    {"id": "jacket", "title": "Waxed jacket", "merchant": "northwind", "price": 12900, "currency": "EUR", "stock": 40},
    {"id": "scarf", "title": "Merino scarf", "merchant": "northwind", "price": 2900, "currency": "EUR", "stock": 1},
]


def test_viewer_sees_pins_prices_sales_and_buys(gateway):
    host = gateway.token("host", "host-1")
    gateway.publish(host, "catalog.set", {"products": CATALOG})
    gateway.publish(host, "stream.started", {"title": "Autumn drop"})
    viewer = browser()
    try:
        viewer.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'ana', name='Ana')}")
        wait(viewer, 10, lambda d: d.find_element(By.ID, "status").text == "live", "the page is live")
        # The token left the address bar.
        assert "token" not in viewer.current_url, viewer.current_url

        # Pinned in the studio (here: by the host over HTTP): on the page within a second.
        gateway.publish(host, "product.pinned", {"product": "jacket"})
        wait(viewer, 1.0, lambda d: card(d, "jacket"), "the pinned jacket's card")

        # A price drop shows the old price struck through.
        gateway.publish(host, "price.changed", {"product": "jacket", "price": 9900})
        wait(viewer, 2, lambda d: card(d, "jacket") and card(d, "jacket").find_elements(By.CSS_SELECTOR, "s.old-price"), "the struck-through price")
        struck = text(viewer, '.card[data-product="jacket"] s.old-price')
        assert "129" in struck, struck
        assert "99" in text(viewer, '.card[data-product="jacket"] .price')

        # A flash sale's countdown agrees with the server's clock.
        gateway.publish(host, "sale.started", {"sale": "flash", "title": "Flash sale", "items": [{"product": "scarf", "price": 1500}], "duration_ms": 600000})
        wait(viewer, 2, lambda d: card(d, "scarf") and card(d, "scarf").find_elements(By.CSS_SELECTOR, ".badge.sale"), "the sale badge")
        state = gateway.state(host)["state"]
        sale = next(s for s in state["sales"] if s["sale"] == "flash")
        server_left = sale["remaining_ms"] / 1000
        badge = text(viewer, '.card[data-product="scarf"] .badge.sale')
        minutes, seconds = map(int, re.search(r"(\d+):(\d\d)", badge).groups())
        shown = minutes * 60 + seconds
        assert abs(shown - server_left) <= 2, f"page shows {shown} s left, server says {server_left:.1f} s"
        viewer.save_screenshot(os.path.join(SHOTS, "watch.png"))

        # Buy the last scarf: accepted, then confirmed by the demo backend.
        buy(viewer, "scarf")
        wait(viewer, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the order confirmation")
        # It was the last one: the card says sold out and cannot be bought.
        wait(viewer, 3, lambda d: "Sold out" in card(d, "scarf").text, "sold out on the card")
        assert viewer.execute_script("return document.querySelector('.card[data-product=\"scarf\"] button.buy').disabled")
        viewer.save_screenshot(os.path.join(SHOTS, "watch-bought.png"))

        # A phone-sized screen: one column, nothing wider than the screen.
        viewer.set_window_size(390, 844)
        wait(viewer, 2, lambda d: d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), "no horizontal scrolling on a phone")
        viewer.save_screenshot(os.path.join(SHOTS, "watch-phone.png"))
        viewer.set_window_size(1280, 1000)

        # Another buyer racing for it is told it is sold out.
        other = browser()
        try:
            other.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'ben')}")
            wait(other, 10, lambda d: card(d, "jacket"), "the second viewer's cards")
            # Two jackets through the cart: one checkout, confirmed, and the cart empties.
            for _ in range(2):
                other.execute_script("document.querySelector('.card[data-product=\"jacket\"] button.add').click()")
            wait(other, 2, lambda d: "2 × Waxed jacket" in d.find_element(By.ID, "cart-lines").text, "two jackets in the cart")
            other.find_element(By.ID, "checkout").click()
            wait(other, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the cart's confirmation")
            assert not other.find_element(By.ID, "cart").is_displayed()
        finally:
            other.quit()
    finally:
        viewer.quit()


def test_a_viewer_picks_a_variant_and_buys_it(gateway):
    host = gateway.token("host", "host-1")
    tee = {"id": "tee", "title": "Linen tee", "merchant": "northwind", "price": 3500, "currency": "EUR",
           "variants": [{"id": "s", "title": "S", "stock": 0}, {"id": "m", "title": "M", "stock": 1}, {"id": "l", "title": "L", "price": 3900, "stock": 4}]}
    gateway.publish(host, "catalog.set", {"products": [tee]})
    gateway.publish(host, "product.pinned", {"product": "tee"})
    viewer = browser()
    try:
        viewer.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'fay')}")
        wait(viewer, 10, lambda d: card(d, "tee"), "the tee's card")
        # S is sold out: the picker starts on M, its own level shown.
        assert viewer.execute_script("return document.querySelector('.card[data-product=\"tee\"] select.variant').value") == "m"
        assert "Only 1 left" in text(viewer, '.card[data-product="tee"]')
        # L has its own price.
        viewer.execute_script("""const s = document.querySelector('.card[data-product="tee"] select.variant'); s.value = 'l'; s.dispatchEvent(new Event('change'));""")
        wait(viewer, 2, lambda d: "39" in text(d, '.card[data-product="tee"] .price'), "L's price")
        viewer.execute_script("""const s = document.querySelector('.card[data-product="tee"] select.variant'); s.value = 'm'; s.dispatchEvent(new Event('change'));""")
        wait(viewer, 2, lambda d: "35" in text(d, '.card[data-product="tee"] .price'), "M's price")
        buy(viewer, "tee")
        wait(viewer, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the order confirmation")
        # The last M is gone: the picker says so and the card sells it no more.
        wait(viewer, 3, lambda d: "M (sold out)" in text(d, '.card[data-product="tee"] select.variant'), "M sold out in the picker")
        assert viewer.execute_script("return document.querySelector('.card[data-product=\"tee\"] button.buy').disabled")
        state = gateway.state(host)["state"]
        levels = {v["id"]: v.get("stock") for v in state["catalog"][0]["variants"]}
        assert levels == {"s": 0, "m": 0, "l": 4}, levels
        assert state["catalog"][0]["stock"] == 4, state["catalog"][0]
    finally:
        viewer.quit()


def test_a_viewer_from_an_influencers_link_carries_the_code_to_checkout(gateway):
    """An influencer's link (`?ref=CODE`): the page asks for a referral ticket, keeps it
    in localStorage and sends it with the checkout, which credits the code. A made-up
    code leaves nothing kept, and the checkout goes through uncredited."""
    admin = gateway.token("admin", "ops-1")
    gateway.request("PUT", "/v1/affiliate-codes/ANNA10", admin, {"owner": "anna", "commission_bps": 1000})
    host = gateway.token("host", "host-1")
    gateway.publish(host, "catalog.set", {"products": CATALOG})
    gateway.publish(host, "product.pinned", {"product": "jacket"})

    def credited():
        insights = gateway.request("GET", "/v1/streams/shop/insights", host)
        return {entry["code"]: entry["checkouts"] for entry in insights["checkouts"]["by_attribution_code"]}

    def buy_jacket(driver):
        """Buys the jacket; what the purchase status said on the way to the confirmation."""
        driver.execute_script("""
            window.statuses = [];
            const status = document.getElementById("purchase");
            new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
            """)
        buy(driver, "jacket")
        wait(driver, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the order confirmation")
        return driver.execute_script("return window.statuses")

    kept = lambda d: d.execute_script("return localStorage.getItem('hawker.referral')")
    viewer = browser()
    try:
        # The link's code in lower case: the gateway knows it as ANNA10.
        viewer.get(f"http://127.0.0.1:{gateway.port}/watch/shop?ref=anna10#token={gateway.token('viewer', 'ana')}")
        wait(viewer, 10, lambda d: card(d, "jacket"), "the jacket's card")
        referral = json.loads(wait(viewer, 10, kept, "the referral ticket kept"))
        assert referral["code"] == "ANNA10" and referral["ticket"], referral
        assert referral["expires_at"] > time.time() * 1000, referral
        # The token left the address bar; the code stayed.
        assert "ref=anna10" in viewer.current_url and "token" not in viewer.current_url, viewer.current_url

        statuses = buy_jacket(viewer)
        assert any("supporting ANNA10" in line for line in statuses), statuses
        wait(viewer, 5, lambda d: credited().get("ANNA10") == 1, "the checkout credited to ANNA10 in the insights")
    finally:
        viewer.quit()

    stranger = browser()
    try:
        stranger.get(f"http://127.0.0.1:{gateway.port}/watch/shop?ref=NOPE-123#token={gateway.token('viewer', 'ben')}")
        wait(stranger, 10, lambda d: card(d, "jacket"), "the jacket's card")
        logs = []
        wait(stranger, 10, lambda d: logs.extend(d.get_log("browser")) or any("unknown_code" in entry["message"] for entry in logs),
             "the made-up code refused")
        assert kept(stranger) is None
        statuses = buy_jacket(stranger)
        assert not any("supporting" in line for line in statuses), statuses
        wait(stranger, 5, lambda d: credited().get("none") == 1, "the second checkout counted uncredited")
        assert credited().get("ANNA10") == 1, credited()
    finally:
        stranger.quit()


def test_a_viewer_sees_shipping_and_tax_and_pays_that_total(gateway):
    """A merchant registered at run time with terms (EUR, VAT included, Germany only, 4.90
    shipping): shipping to Germany, two teas cost 2 × 14.99 + 4.90 = 34.88, of which 5.57
    VAT; the cart shows that and the checkout charges exactly that. When the merchant's
    shipping goes up between the quote and the checkout, the buyer is shown the new total
    and pays it on the second press. A card's Buy, for a destination nothing was quoted
    for yet (a postcode typed) and 6.90 shipping, quotes that one tea first and pays the
    quoted 14.99 + 6.90 = 21.89 on the first press. A product that does not ship to the
    chosen country cannot be bought, whichever country that is."""
    admin = gateway.token("admin", "ops-1")

    def terms(shipping):
        return {"terms": {"currency": "EUR", "prices_include_tax": True, "zones": [
            {"name": "Germany", "regions": ["DE"], "shipping": shipping, "free_shipping_from": 5000, "tax_bps": 1900}]}}

    gateway.request("PUT", "/v1/merchants/teahouse", admin, terms(490))
    host = gateway.token("host", "host-1")
    gateway.publish(host, "catalog.set", {"products": [
        {"id": "sencha", "title": "Sencha 100 g", "merchant": "teahouse", "price": 1499, "currency": "EUR", "stock": 10},
        {"id": "beret", "title": "Wool beret", "merchant": "fr-only", "price": 3900, "currency": "EUR", "stock": 10, "regions": ["FR"]},
    ]})
    for product in ("sencha", "beret"):
        gateway.publish(host, "product.pinned", {"product": product})

    dataset = lambda d, selector, key: d.execute_script("const e = document.querySelector(arguments[0]); return e ? e.dataset[arguments[1]] : null;", selector, key)
    ships = lambda d, product: dataset(d, f'.card[data-product="{product}"]', "ships")
    amount = lambda d, selector: dataset(d, selector, "amount")
    disabled = lambda d, selector: d.execute_script("return document.querySelector(arguments[0]).disabled", selector)

    def ship_to(driver, country):
        driver.execute_script("const s = document.getElementById('ship-country'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));", country)

    viewer = browser()
    try:
        viewer.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'gus')}")
        wait(viewer, 10, lambda d: card(d, "sencha") and card(d, "beret"), "both cards")
        ship_to(viewer, "DE")
        wait(viewer, 5, lambda d: ships(d, "beret") == "false" and ships(d, "sencha") == "true", "the beret marked as not shipping to Germany")
        assert "Doesn't ship to" in text(viewer, '.card[data-product="beret"]'), text(viewer, '.card[data-product="beret"]')
        assert disabled(viewer, '.card[data-product="beret"] button.buy') and disabled(viewer, '.card[data-product="beret"] button.add')
        # Kept for the next visit.
        assert json.loads(viewer.execute_script("return localStorage.getItem('hawker.ship_to')")) == {"country": "DE"}

        for _ in range(2):
            viewer.execute_script("document.querySelector('.card[data-product=\"sencha\"] button.add').click()")
        wait(viewer, 2, lambda d: "2 × Sencha 100 g" in d.find_element(By.ID, "cart-lines").text, "two teas in the cart")
        wait(viewer, 5, lambda d: amount(d, '#cart-total [data-currency="EUR"]') == "3488", "the cart's total with shipping, VAT included")
        part = '#cart-quote .charge[data-merchant="teahouse"]'
        assert amount(viewer, f'{part} [data-field="subtotal"]') == "2998", text(viewer, "#cart-quote")
        assert amount(viewer, f'{part} [data-field="shipping"]') == "490", text(viewer, "#cart-quote")
        assert amount(viewer, f'{part} [data-field="tax"]') == "557", text(viewer, "#cart-quote")
        assert "incl. VAT" in text(viewer, f'{part} [data-field="tax"]'), text(viewer, "#cart-quote")
        viewer.save_screenshot(os.path.join(SHOTS, "watch-cart-quote.png"))

        # Checked out for the total shown: charged exactly that, and confirmed.
        viewer.find_element(By.ID, "checkout").click()
        wait(viewer, 10, lambda d: amount(d, '#charged [data-currency="EUR"]') == "3488", "the total charged")
        wait(viewer, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the order confirmation")
        state = gateway.state(host)["state"]
        assert next(p for p in state["catalog"] if p["id"] == "sencha")["stock"] == 8, state["catalog"]

        # One tea, quoted at 14.99 + 4.90; then the merchant charges 5.90 for shipping.
        viewer.execute_script("document.querySelector('.card[data-product=\"sencha\"] button.add').click()")
        wait(viewer, 5, lambda d: amount(d, '#cart-total [data-currency="EUR"]') == "1989", "one tea's total with shipping")
        gateway.request("PUT", "/v1/merchants/teahouse", admin, terms(590))
        viewer.find_element(By.ID, "checkout").click()
        wait(viewer, 10, lambda d: "The total is now" in d.find_element(By.ID, "purchase").text, "the new total told")
        assert amount(viewer, '#cart-total [data-currency="EUR"]') == "2089", text(viewer, "#cart-quote")
        assert amount(viewer, f'{part} [data-field="shipping"]') == "590", text(viewer, "#cart-quote")
        assert not viewer.find_element(By.ID, "charged").is_displayed()
        viewer.find_element(By.ID, "checkout").click()
        wait(viewer, 10, lambda d: amount(d, '#charged [data-currency="EUR"]') == "2089", "the new total charged")
        wait(viewer, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the second order's confirmation")

        # A card's Buy, with no figures for that line there: 6.90 shipping now, and a
        # postcode (a destination nothing was quoted for). What goes out and comes back
        # over the socket is recorded, and what the purchase status says on the way.
        gateway.request("PUT", "/v1/merchants/teahouse", admin, terms(690))
        viewer.execute_script("const p = document.getElementById('ship-postcode'); p.value = '10115'; p.dispatchEvent(new Event('input'));")
        wait(viewer, 5, lambda d: json.loads(d.execute_script("return localStorage.getItem('hawker.ship_to')")) == {"country": "DE", "postcode": "10115"},
             "the postcode taken")
        wait(viewer, 5, lambda d: ships(d, "sencha") == "true", "the tea marked as shipping to Germany 10115")
        viewer.execute_script("""
            window.sent = []; window.received = []; window.statuses = [];
            const send = WebSocket.prototype.send;
            WebSocket.prototype.send = function (data) {
              if (!this.recorded) {
                this.recorded = true;
                this.addEventListener("message", (message) => window.received.push(JSON.parse(message.data)));
              }
              window.sent.push(JSON.parse(data));
              return send.call(this, data);
            };
            const status = document.getElementById("purchase");
            new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
            """)
        buy(viewer, "sencha")
        wait(viewer, 10, lambda d: amount(d, '#charged [data-currency="EUR"]') == "2189", "the card's total charged on the first press")
        wait(viewer, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the card's order confirmation")
        sent, received, statuses = viewer.execute_script("return [window.sent, window.received, window.statuses]")
        assert not any("The total is now" in line for line in statuses), statuses
        checkouts = [frame for frame in sent if frame["type"] == "checkout"]
        assert len(checkouts) == 1, checkouts
        quotes = [frame for frame in sent if frame["type"] == "quote" and frame.get("items")]
        assert len(quotes) == 1, quotes
        assert quotes[0]["items"] == [{"product": "sencha", "qty": 1}], quotes
        assert quotes[0]["ship_to"] == {"country": "DE", "postcode": "10115"}, quotes
        quoted = next(frame for frame in received if frame.get("re") == quotes[0]["id"])
        assert quoted["type"] == "quote" and quoted["totals"] == [{"currency": "EUR", "amount": 2189}], quoted
        assert sent.index(quotes[0]) < sent.index(checkouts[0]), sent
        assert checkouts[0]["totals_seen"] == quoted["totals"], checkouts
        assert checkouts[0]["ship_to"] == quotes[0]["ship_to"], checkouts
        assert [{key: line[key] for key in ("product", "qty")} for line in checkouts[0]["items"]] == quotes[0]["items"], checkouts
        accepted = next(frame for frame in received if frame.get("re") == checkouts[0]["id"])
        assert accepted["type"] == "checkout.accepted" and accepted["totals"] == quoted["totals"], accepted
        state = gateway.state(host)["state"]
        assert next(p for p in state["catalog"] if p["id"] == "sencha")["stock"] == 6, state["catalog"]

        # France: the beret ships there, the tea does not.
        ship_to(viewer, "FR")
        wait(viewer, 5, lambda d: ships(d, "sencha") == "false" and ships(d, "beret") == "true", "the tea marked as not shipping to France")
        assert disabled(viewer, '.card[data-product="sencha"] button.buy')
        assert not disabled(viewer, '.card[data-product="beret"] button.buy')
    finally:
        viewer.quit()


def test_a_buyer_sees_their_orders_on_another_device(gateway):
    """A viewer buys the jacket and opens My orders: confirmed. The merchant ships it (a
    status update over HTTP, with tracking) and the open panel shows that. The same
    viewer on another device (a second browser, nothing kept) opens My orders and sees
    the order confirmed, the merchant's part shipped with its tracking, and what it cost.
    Without a token there is no My orders."""
    host = gateway.token("host", "host-1")
    gateway.publish(host, "catalog.set", {"products": CATALOG})
    gateway.publish(host, "product.pinned", {"product": "jacket"})
    viewer = gateway.token("viewer", "hana")
    price = next(product["price"] for product in CATALOG if product["id"] == "jacket")
    watch = f"http://127.0.0.1:{gateway.port}/watch/shop"

    dataset = lambda d, selector, key: d.execute_script("const e = document.querySelector(arguments[0]); return e ? e.dataset[arguments[1]] : null;", selector, key)

    def open_orders(driver):
        driver.find_element(By.ID, "orders-button").click()
        assert driver.find_element(By.ID, "orders-button").get_attribute("aria-expanded") == "true"

    first = browser()
    try:
        first.get(f"{watch}#token={viewer}")
        wait(first, 10, lambda d: card(d, "jacket"), "the jacket's card")
        buy(first, "jacket")
        wait(first, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the order confirmation")
        checkout = dataset(first, "#purchase", "checkout")
        assert checkout, text(first, "#purchase")
        order = f'#orders-panel .order[data-checkout="{checkout}"]'
        part = f'{order} .order-part[data-merchant="northwind"]'
        open_orders(first)
        wait(first, 10, lambda d: dataset(d, order, "status") == "confirmed", "the order confirmed in My orders")
        assert text(first, f"{part} .tracking") is None, text(first, part)

        # The merchant ships it: the open panel reads the orders again on the push.
        service = gateway.token("order_service", "northwind-shop", merchant="northwind")
        accepted = gateway.request("POST", f"/v1/orders/{checkout}/status", service, {"status": "shipped", "tracking": "DHL 00340434"})
        assert accepted == {"accepted": True}, accepted
        wait(first, 10, lambda d: text(d, f"{part} .tracking") == "DHL 00340434", "the tracking in the open panel")
    finally:
        first.quit()

    second = browser()
    try:
        second.get(f"{watch}#token={viewer}")
        wait(second, 10, lambda d: d.find_element(By.ID, "status").text == "live", "the second device live")
        open_orders(second)
        wait(second, 10, lambda d: text(d, f"{part} .tracking") == "DHL 00340434", "the shipped order on the second device")
        assert len(second.find_elements(By.CSS_SELECTOR, "#orders-panel .order")) == 1, text(second, "#orders-list")
        assert dataset(second, order, "status") == "confirmed", text(second, order)
        assert dataset(second, part, "status") == "confirmed", text(second, part)
        assert dataset(second, f"{part} .fulfilment", "status") == "shipped", text(second, part)
        assert dataset(second, f'{order} .order-total [data-currency="EUR"]', "amount") == str(price), text(second, order)
        # Titled from the catalog, which may come after the orders.
        wait(second, 5, lambda d: "1 × Waxed jacket" in (text(d, f"{order} .order-items") or ""), "the jacket named in the order")
        # Everything there is fits on one page.
        assert not second.find_element(By.ID, "orders-more").is_displayed()
        second.save_screenshot(os.path.join(SHOTS, "watch-orders.png"))

        # No token: no orders to show.
        second.get(watch)
        second.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
        wait(second, 5, lambda d: d.find_element(By.ID, "main").is_displayed(), "the page without a token")
        assert not second.find_element(By.ID, "orders-button").is_displayed()
    finally:
        second.quit()


def test_a_buyer_cancels_one_order_and_returns_another_from_my_orders(gateway):
    """A viewer buys the jacket and, in My orders, cancels it: the demo merchant accepts,
    and the part shows the request accepted and the order cancelled. A second jacket ships
    (the merchant's status over HTTP): the part offers a return instead, which the demo
    merchant accepts too."""
    host = gateway.token("host", "host-1")
    gateway.publish(host, "catalog.set", {"products": CATALOG})
    gateway.publish(host, "product.pinned", {"product": "jacket"})
    viewer = gateway.token("viewer", "ivo")
    dataset = lambda d, selector, key: d.execute_script("const e = document.querySelector(arguments[0]); return e ? e.dataset[arguments[1]] : null;", selector, key)
    driver = browser()
    try:
        driver.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={viewer}")
        wait(driver, 10, lambda d: card(d, "jacket"), "the jacket's card")

        def bought():
            buy(driver, "jacket")
            wait(driver, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the order confirmation")
            checkout = dataset(driver, "#purchase", "checkout")
            assert checkout, text(driver, "#purchase")
            return f'#orders-panel .order[data-checkout="{checkout}"] .order-part[data-merchant="northwind"]', checkout

        first, _ = bought()
        driver.find_element(By.ID, "orders-button").click()
        wait(driver, 10, lambda d: d.find_elements(By.CSS_SELECTOR, f"{first} .request-button"), "a cancel button on the confirmed part")
        button = driver.find_element(By.CSS_SELECTOR, f"{first} .request-button")
        assert button.get_attribute("data-kind") == "cancel" and button.text == "Cancel order", button.text
        button.click()
        wait(driver, 10, lambda d: dataset(d, f"{first} .order-request", "status") == "accepted", "the cancellation accepted")
        assert "Cancellation requested: 1 × Waxed jacket" in text(driver, f"{first} .order-request"), text(driver, first)
        wait(driver, 10, lambda d: dataset(d, f"{first} .fulfilment", "status") == "cancelled", "the part cancelled")
        # Nothing more to ask: every unit was taken back. The purchase line says what became of the request.
        assert not driver.find_elements(By.CSS_SELECTOR, f"{first} .request-button"), text(driver, first)
        wait(driver, 5, lambda d: "cancellation request was" in (text(d, "#purchase") or ""), "the request's outcome on the purchase line")

        second, checkout = bought()
        service = gateway.token("order_service", "northwind-shop", merchant="northwind")
        wait(driver, 10, lambda d: dataset(d, f"{second} .request-button", "kind") == "cancel", "the second order's cancel button")
        assert gateway.request("POST", f"/v1/orders/{checkout}/status", service, {"status": "shipped", "tracking": "DHL 1"}) == {"accepted": True}
        wait(driver, 10, lambda d: dataset(d, f"{second} .request-button", "kind") == "return", "a return offered once shipped")
        driver.find_element(By.CSS_SELECTOR, f"{second} .request-button").click()
        wait(driver, 10, lambda d: dataset(d, f"{second} .order-request", "status") == "accepted", "the return accepted")
        assert dataset(driver, f"{second} .order-request", "kind") == "return"
        driver.save_screenshot(os.path.join(SHOTS, "watch-order-requests.png"))
    finally:
        driver.quit()


def test_an_influencer_sees_what_its_code_earned(gateway):
    """The influencer's page (/earnings, with its own token): once a purchase through its
    link is confirmed, the commission earned (10 % of the price paid), the code's checkout
    and confirmed order, the product, and a bar for when in the show it sold. Another
    influencer sees the empty state; no token but an admin's reads someone else's earnings."""
    admin = gateway.token("admin", "ops-1")
    gateway.request("PUT", "/v1/affiliate-codes/ANNA10", admin, {"owner": "anna", "commission_bps": 1000})
    host = gateway.token("host", "host-1")
    gateway.publish(host, "catalog.set", {"products": CATALOG})
    gateway.publish(host, "product.pinned", {"product": "jacket"})
    anna = gateway.token("affiliate", "anna")

    def earnings(token, sub):
        return gateway.request("GET", f"/v1/affiliates/{urllib.parse.quote(sub, safe='')}/earnings", token)

    def eur(report):
        return next((total for total in report["totals"] if total["currency"] == "EUR"), {})

    viewer = browser()
    try:
        viewer.get(f"http://127.0.0.1:{gateway.port}/watch/shop?ref=anna10#token={gateway.token('viewer', 'ana')}")
        wait(viewer, 10, lambda d: card(d, "jacket"), "the jacket's card")
        wait(viewer, 10, lambda d: d.execute_script("return localStorage.getItem('hawker.referral')"), "the referral ticket kept")
        # Into the cart first: an add-to-cart in Anna's funnel.
        viewer.execute_script("document.querySelector('.card[data-product=\"jacket\"] button.add').click()")
        buy(viewer, "jacket")
        wait(viewer, 10, lambda d: d.find_element(By.ID, "purchase").text.startswith("Confirmed"), "the order confirmation")
    finally:
        viewer.quit()
    # Back later without the link: the kept ticket is presented; the same viewer's visit
    # counts once a day.
    again = browser()
    try:
        again.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'ana')}")
        wait(again, 10, lambda d: card(d, "jacket"), "the jacket's card again")
    finally:
        again.quit()

    # The order's confirmation reaches the outbox's record of credited lines shortly after.
    price = next(product["price"] for product in CATALOG if product["id"] == "jacket")
    deadline = time.time() + 10
    while eur(earnings(anna, "anna")).get("commission", 0) == 0:
        assert time.time() < deadline, f"no confirmed commission within 10 s: {earnings(anna, 'anna')}"
        time.sleep(0.1)
    report = earnings(anna, "anna")
    assert eur(report)["commission"] == price // 10 and eur(report)["revenue"] == price, report

    page = browser()
    try:
        page.get(f"http://127.0.0.1:{gateway.port}/earnings#token={anna}")
        earned = '#totals [data-currency="EUR"] [data-field="commission"]'
        wait(page, 10, lambda d: text(d, earned), "the commission earned in EUR")
        assert "token" not in page.current_url, page.current_url
        assert text(page, "#title") == "Earnings of anna", text(page, "#title")
        assert text(page, "#status") == "live", text(page, "#status")
        shown = page.execute_script("const e = document.querySelector(arguments[0]); return { minor: e.dataset.minor, text: e.textContent };", earned)
        assert shown["minor"] == str(price // 10), shown
        # Formatted as the page's locale formats euros (whatever the browser's locale is).
        expected = page.execute_script("return new Intl.NumberFormat(undefined, { style: 'currency', currency: 'EUR' }).format(arguments[0] / 100)", price // 10)
        assert shown["text"] == expected, (shown, expected)
        minor = lambda selector: page.execute_script("const e = document.querySelector(arguments[0]); return e ? e.dataset.minor : null;", selector)
        assert minor('#totals [data-currency="EUR"] [data-field="revenue"]') == str(price), text(page, "#totals")
        assert minor('#totals [data-currency="EUR"] [data-field="pending_commission"]') == "0", text(page, "#totals")
        row = '#codes tr[data-stream="shop"][data-code="ANNA10"]'
        # The funnel, written about once a second: the visit and the add-to-cart.
        wait(page, 10, lambda d: text(d, f'{row} [data-field="visits"]') == "1", "the code's visit")
        assert text(page, f'{row} [data-field="add_to_cart"]') == "1", text(page, row)
        assert text(page, f'{row} [data-field="checkouts"]') == "1", text(page, row)
        assert text(page, f'{row} [data-field="confirmed_orders"]') == "1", text(page, row)
        assert text(page, f'{row} [data-field="failed_orders"]') == "0", text(page, row)
        product = '#products tr[data-product="jacket"][data-status="confirmed"]'
        assert text(page, product) is not None, text(page, "#products")
        assert text(page, f'{product} [data-field="units"]') == "1", text(page, product)
        assert minor(f'{product} [data-field="commission"]') == str(price // 10), text(page, product)
        bars = page.find_elements(By.CSS_SELECTOR, '#timeline figure[data-currency="EUR"] svg rect')
        assert len(bars) >= 1, text(page, "#timeline")
        assert not page.find_element(By.ID, "empty").is_displayed()
        page.save_screenshot(os.path.join(SHOTS, "earnings.png"))
        page.set_window_size(390, 844)  # a phone: the page itself does not scroll sideways
        wait(page, 2, lambda d: d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), "no horizontal scrolling on a phone")
        page.save_screenshot(os.path.join(SHOTS, "earnings-phone.png"))
    finally:
        page.quit()

    # Bob has no codes: his page says so, and shows no numbers.
    bob = browser()
    try:
        bob.get(f"http://127.0.0.1:{gateway.port}/earnings#token={gateway.token('affiliate', 'bob')}")
        wait(bob, 10, lambda d: d.find_element(By.ID, "empty").is_displayed(), "bob's empty state")
        assert "No sales through your codes yet" in bob.find_element(By.ID, "empty").text
        assert text(bob, "#title") == "Earnings of bob"
        assert not bob.find_element(By.ID, "totals-panel").is_displayed()
        assert not bob.find_elements(By.CSS_SELECTOR, "#totals [data-currency]")
    finally:
        bob.quit()

    # Anna's token, whatever its role, reads her own earnings only.
    anna_viewer = gateway.token("viewer", "anna")
    assert eur(earnings(anna_viewer, "anna"))["commission"] == price // 10
    try:
        earnings(anna_viewer, "bob")
        raise AssertionError("a viewer token of anna's read bob's earnings")
    except urllib.error.HTTPError as error:
        assert error.code == 403, error.code
        assert json.load(error)["error"]["code"] == "forbidden"


def test_chat_typed_in_one_browser_appears_in_another(gateway):
    host = gateway.token("host", "host-1")
    gateway.publish(host, "catalog.set", {"products": CATALOG})
    first, second = browser(), browser()
    try:
        first.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'cy', name='Cy')}")
        second.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'di', name='Di')}")
        for driver in (first, second):
            wait(driver, 10, lambda d: d.find_element(By.ID, "status").text == "live", "live")
        first.find_element(By.ID, "chat-text").send_keys("is the scarf itchy?")
        first.find_element(By.CSS_SELECTOR, "#chat-form button").click()
        wait(second, 5, lambda d: "is the scarf itchy?" in d.find_element(By.ID, "messages").text, "the message in the other browser")
        assert "Cy" in second.find_element(By.ID, "messages").text
    finally:
        first.quit()
        second.quit()


def test_a_restart_shows_reconnecting_then_resumes(gateway):
    host = gateway.token("host", "host-1")
    gateway.publish(host, "catalog.set", {"products": CATALOG})
    gateway.publish(host, "product.pinned", {"product": "jacket"})
    viewer = browser()
    try:
        viewer.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'eve')}")
        wait(viewer, 10, lambda d: card(d, "jacket"), "the jacket")
        gateway.stop()
        wait(viewer, 10, lambda d: d.find_element(By.ID, "status").text == "reconnecting…", "the reconnecting state")
        viewer.save_screenshot(os.path.join(SHOTS, "watch-reconnecting.png"))
        # Until the gateway is back, the page keeps what it showed.
        assert card(viewer, "jacket") is not None
        gateway.start()
        # The stream came back from the data directory: its catalog and pins are there.
        gateway.publish(host, "product.pinned", {"product": "scarf"})
        wait(viewer, 20, lambda d: d.find_element(By.ID, "status").text == "live", "live again")
        wait(viewer, 10, lambda d: card(d, "scarf") and card(d, "jacket"), "the state after the restart")
    finally:
        viewer.quit()


def test_the_sdk_moves_to_another_gateway(gateway):
    """The SDK given several gateways (a cluster's nodes) skips one that does not answer,
    and moves to another when the one it is on goes away."""
    second = Gateway(gateway.binary, gateway.port + 50)
    second.start()
    viewer = browser()
    try:
        for node in (gateway, second):
            node.publish(node.token("host", "host-1"), "catalog.set", {"products": CATALOG})
        viewer.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'eve')}")
        nobody = f"ws://127.0.0.1:{gateway.port + 51}/ws"
        urls = [nobody, f"ws://127.0.0.1:{gateway.port}/ws", f"ws://127.0.0.1:{second.port}/ws"]
        first = viewer.execute_async_script("""
            const [urls, token, done] = arguments;
            import("/sdk/hawker.js").then(async ({ HawkerClient }) => {
              const client = new HawkerClient({ urls, token, backoffMs: 50, maxBackoffMs: 200, spreadMs: 300 });
              window.failover = client;
              await client.connect();
              await client.subscribe("shop");
              done(client.url);
            }).catch((error) => done("error: " + error.message));
            """, urls, gateway.token("viewer", "eve"))
        assert first in urls[1:], f"connected to {first}"
        (gateway if first == urls[1] else second).stop()
        wait(viewer, 20, lambda d: d.execute_script("return window.failover.status === 'open' && window.failover.url") not in (None, False, first),
             "connected to the other gateway")
        assert viewer.execute_script("return window.failover.url") == (urls[2] if first == urls[1] else urls[1])
        wait(viewer, 10, lambda d: d.execute_script("return window.failover._streams.get('shop').active"), "subscribed again on the other gateway")
        pong = viewer.execute_async_script("const done = arguments[0]; window.failover.ping().then((r) => done(r.type), (e) => done('error: ' + e.message));")
        assert pong == "pong", pong
    finally:
        viewer.quit()
        second.stop()
        shutil.rmtree(second.data, ignore_errors=True)


def test_the_sdk_subscribes_in_one_round_trip(gateway):
    """`connect()` and `subscribe()` called together: the subscribe leaves before the
    welcome arrives (PROTOCOL.md 5.2) and its reply carries the snapshot."""
    gateway.publish(gateway.token("host", "host-1"), "catalog.set", {"products": CATALOG})
    viewer = browser()
    try:
        viewer.get(f"http://127.0.0.1:{gateway.port}/healthz")
        trace = viewer.execute_async_script("""
            const [url, token, done] = arguments;
            // What the socket sends and receives, in order.
            const log = [];
            const NativeWebSocket = window.WebSocket;
            window.WebSocket = class extends NativeWebSocket {
              constructor(...args) {
                super(...args);
                this.addEventListener("message", (m) => log.push("in " + JSON.parse(m.data).type));
              }
              send(data) { log.push("out " + JSON.parse(data).type); super.send(data); }
            };
            import("/sdk/hawker.js").then(async ({ HawkerClient }) => {
              const client = new HawkerClient({ url, token });
              const [welcome, subscribed] = await Promise.all([client.connect(), client.subscribe("shop")]);
              done({ log, welcome: welcome.type, subscribed: subscribed.type, products: subscribed.state.catalog.length, status: client.status });
            }).catch((error) => done({ error: error.message, log }));
            """, f"ws://127.0.0.1:{gateway.port}/ws", gateway.token("viewer", "eve"))
        assert "error" not in trace, trace
        assert trace["welcome"] == "welcome" and trace["subscribed"] == "subscribed" and trace["products"] == 2, trace
        assert trace["status"] == "open", trace
        log = [entry for entry in trace["log"] if entry not in ("in presence",)]
        assert log[:4] == ["out connect", "out subscribe", "in welcome", "in subscribed"], log
        # Chromium's upgrade request is one the gateway answers without its HTTP pipeline.
        request = urllib.request.Request(f"http://127.0.0.1:{gateway.port}/metrics",
                                         headers={"Authorization": f"Bearer {gateway.token('admin', 'ops')}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            metrics = response.read().decode()
        assert 'hawker_websocket_upgrades_total{path="fast"} 1' in metrics, metrics
        assert 'hawker_websocket_upgrades_total{path="http"} 0' in metrics, metrics

        # A gateway that refuses a subscribe sent before welcome (past its bound, or one
        # without pipelining): the SDK sends it again after welcome and the caller's
        # promise resolves. A scripted socket plays the gateway.
        retried = viewer.execute_async_script("""
            const done = arguments[0];
            const sent = [];
            class ScriptedSocket {
              constructor() { this.readyState = 0; setTimeout(() => { this.readyState = 1; this.onopen(); }, 0); }
              send(data) {
                const command = JSON.parse(data);
                sent.push(command.type);
                const reply = (message) => setTimeout(() => this.onmessage({ data: JSON.stringify(message) }), 0);
                if (command.type === "connect") {
                  this.connectId = command.id;
                  setTimeout(() => { this.welcomed = true; reply({ type: "welcome", re: command.id, protocol: "hawker.v1", session: "s", server_time: Date.now(), user: { sub: "eve", role: "viewer" }, limits: {} }); }, 20);
                } else if (command.type === "subscribe" && !this.welcomed) {
                  reply({ type: "error", re: command.id, code: "not_connected", message: "wait for welcome" });
                } else if (command.type === "subscribe") {
                  reply({ type: "subscribed", re: command.id, stream: command.stream, epoch: "e", seq: 0, recovered: false, state: { catalog: [] } });
                }
              }
              close() {}
            }
            window.WebSocket = ScriptedSocket;
            import("/sdk/hawker.js").then(async ({ HawkerClient }) => {
              const client = new HawkerClient({ url: "ws://scripted/ws", token: "t" });
              const [, subscribed] = await Promise.all([client.connect(), client.subscribe("shop")]);
              done({ sent, subscribed: subscribed.type, active: client._streams.get("shop").active });
            }).catch((error) => done({ error: error.message, sent }));
            """)
        assert retried.get("subscribed") == "subscribed" and retried["active"], retried
        assert retried["sent"] == ["connect", "subscribe", "subscribe"], retried
    finally:
        viewer.quit()


def test_the_studio_pins_and_sees_merged_questions(gateway):
    host = gateway.token("host", "host-1", name="Host")
    gateway.publish(host, "catalog.set", {"products": CATALOG})
    studio, ana, ben = browser(), browser(), browser()
    try:
        studio.get(f"http://127.0.0.1:{gateway.port}/studio/shop#token={host}")
        wait(studio, 10, lambda d: d.find_elements(By.CSS_SELECTOR, '#catalog-rows tr[data-product="jacket"]'), "the catalog in the studio")
        ana.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'ana', name='Ana')}")
        ben.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'ben', name='Ben')}")
        for viewer in (ana, ben):
            wait(viewer, 10, lambda d: d.find_element(By.ID, "status").text == "live", "the viewer page live")

        # Pinned in the studio: on the viewer's page within a second.
        studio.execute_script("""document.querySelector('#catalog-rows tr[data-product="jacket"] button[aria-label="pin Waxed jacket"]').click()""")
        wait(ana, 1.0, lambda d: card(d, "jacket"), "the card pinned from the studio")

        # Two viewers ask the same thing in different words: one question, two askers.
        for viewer, text in ((ana, "Is the lining strong?"), (ben, "how strong is the lining")):
            viewer.find_element(By.ID, "ask-text").send_keys(text)
            viewer.find_element(By.CSS_SELECTOR, "#ask-form button").click()
        try:
            wait(studio, 5, lambda d: [q for q in d.find_elements(By.CSS_SELECTOR, "#questions li") if q.find_element(By.CSS_SELECTOR, ".count").text == "2"], "one question with two askers")
        except AssertionError:
            raise AssertionError(f"studio questions: {studio.find_element(By.ID, 'questions').text!r}; "
                                 f"ana: {ana.find_element(By.ID, 'question-list').text!r} {ana.find_element(By.ID, 'chat-error').text!r}; "
                                 f"ben: {ben.find_element(By.ID, 'question-list').text!r} {ben.find_element(By.ID, 'chat-error').text!r}")
        assert len(studio.find_elements(By.CSS_SELECTOR, "#questions li")) == 1
        studio.save_screenshot(os.path.join(SHOTS, "studio.png"))

        # Answered from the studio: marked answered on the asker's page.
        studio.execute_script("window.prompt = () => 'Yes, double-stitched';")
        studio.execute_script("document.querySelector('#questions li button').click()")
        wait(ana, 5, lambda d: "double-stitched" in d.find_element(By.ID, "question-list").text, "the answer on the viewer's page")
    finally:
        for driver in (studio, ana, ben):
            driver.quit()


def test_the_printed_demo_links_lead_to_moving_ops_charts(gateway):
    """A newcomer's path: `serve --demo` prints the viewer, studio and ops links; the
    viewer link shows the demo stream, and the ops charts move while hawker-load runs,
    down to one stream's own charts when it is clicked."""
    deadline = time.time() + 20
    links = {}
    while time.time() < deadline and len(links) < 3:
        links = dict(re.findall(r"^\s+(viewer|studio|ops)\s+(http://\S+)$", open(gateway.output).read(), re.M))
        time.sleep(0.1)
    assert set(links) == {"viewer", "studio", "ops"}, open(gateway.output).read()
    assert links["viewer"].startswith(f"http://127.0.0.1:{gateway.port}/watch/demo#token="), links
    assert links["studio"].startswith(f"http://127.0.0.1:{gateway.port}/studio/demo#token="), links
    # The demo's influencer link: Anna's code, registered by `serve --demo`.
    assert re.search(rf"^\s+http://127\.0\.0\.1:{gateway.port}/watch/demo\?ref=ANNA10#token=\S+$", open(gateway.output).read(), re.M), open(gateway.output).read()
    assert re.search(rf"^\s+http://127\.0\.0\.1:{gateway.port}/earnings#token=\S+$", open(gateway.output).read(), re.M), open(gateway.output).read()
    load_binary = os.path.join(os.path.dirname(gateway.binary), "hawker-load")
    assert os.path.exists(load_binary), f"{load_binary} is not built (swift build builds it)"
    viewer, ops = browser(), browser()
    load = None
    try:
        viewer.get(links["viewer"])
        wait(viewer, 15, lambda d: d.find_elements(By.CSS_SELECTOR, ".card"), "the demo stream's products on the viewer page")
        ops.get(links["ops"])
        wait(ops, 10, lambda d: d.find_elements(By.CSS_SELECTOR, 'figure[data-chart="deliveries"]'), "the ops charts")
        load = subprocess.Popen(
            [load_binary, "fanout", "--url", f"ws://127.0.0.1:{gateway.port}", "--secret", SECRET,
             "--viewers", "40", "--events", "400", "--rate", "20", "--payload", "100"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(ROOT, "artifacts", "browser-load.log"), "w"))
        chart = lambda d, name, key: float(d.execute_script(
            f"return document.querySelector('figure[data-chart=\"{name}\"]').dataset.{key} || '0'"))
        wait(ops, 30, lambda d: chart(d, "deliveries", "max") > 100 and chart(d, "connections", "max") >= 40,
             "deliveries/s and connections rising on the charts while hawker-load runs")
        first = ops.execute_script("return document.querySelector('figure[data-chart=\"deliveries\"] path').getAttribute('d')")
        wait(ops, 10, lambda d: d.execute_script(
            "return document.querySelector('figure[data-chart=\"deliveries\"] path').getAttribute('d')") != first,
            "the deliveries chart moving")
        assert chart(ops, "events", "max") > 0
        # One stream's own numbers: the load's stream is the busiest.
        ops.execute_script("document.querySelector('#streams tr').click()")
        wait(ops, 15, lambda d: chart(d, "stream-viewers", "max") >= 40 and chart(d, "stream-events", "points") >= 2,
             "the clicked stream's viewers and events charted")
        ops.save_screenshot(os.path.join(SHOTS, "ops-charts.png"))
        ops.set_window_size(390, 900)  # a phone
        width = ops.execute_script("return document.querySelector('figure[data-chart=\"deliveries\"]').getBoundingClientRect().width")
        assert 0 < width <= 390, width
        ops.save_screenshot(os.path.join(SHOTS, "ops-phone.png"))
    finally:
        if load and load.poll() is None:
            load.terminate()
            load.wait(timeout=15)
        viewer.quit()
        ops.quit()


def declared_api(source):
    """What hawker.d.ts declares that exists at run time: exported classes and functions,
    and each class's members (methods, getters, properties)."""
    exports, members, current, depth = {}, {}, None, 0
    for line in source.splitlines():
        match = re.match(r"export (class|function|type|interface) (\w+)", line)
        if match and depth == 0:
            kind, name = match.groups()
            if kind in ("class", "function"):
                exports[name] = kind
            current = name if kind == "class" else None
            if current:
                members[current] = set()
        elif current and depth == 1:
            member = re.match(r"\s+(?:readonly\s+)?(\w+)\s*[(<?:]", line)
            if member and member.group(1) != "constructor":
                members[current].add(member.group(1))
        depth += line.count("{") - line.count("}")
        if depth == 0:
            current = None
    return exports, members


def test_the_type_declarations_match_the_sdk(gateway):
    """Web/public/sdk/hawker.d.ts, as served, declares exactly what hawker.js exports:
    the same classes and functions, and each class's public methods and properties."""
    with urllib.request.urlopen(f"http://127.0.0.1:{gateway.port}/sdk/hawker.d.ts", timeout=5) as response:
        declarations = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/plain"), response.headers["Content-Type"]
    exports, members = declared_api(declarations)
    assert set(exports) == {"HawkerError", "HawkerClient", "StreamModel", "newKey", "formatPrice"}, exports
    assert len(members["HawkerClient"]) > 20, members
    driver = browser()
    try:
        driver.get(f"http://127.0.0.1:{gateway.port}/healthz")
        runtime = driver.execute_async_script("""
            const done = arguments[0];
            import("/sdk/hawker.js").then((sdk) => {
              const exports = {};
              for (const [name, value] of Object.entries(sdk)) exports[name] = /^class /.test(String(value)) ? "class" : typeof value;
              const instances = {
                HawkerClient: new sdk.HawkerClient({ url: "ws://127.0.0.1:1/ws" }),
                StreamModel: new sdk.StreamModel("s"),
                HawkerError: new sdk.HawkerError({ code: "c", message: "m" }),
              };
              const members = {};
              for (const [name, instance] of Object.entries(instances)) {
                const names = new Set(Object.keys(instance));
                for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(instance))) names.add(key);
                // Private by convention, and what every Error has.
                members[name] = [...names].filter((key) => !key.startsWith("_") && !["constructor", "name", "message", "stack"].includes(key));
              }
              done({ exports, members });
            }).catch((error) => done({ error: error.message }));
            """)
        assert "error" not in runtime, runtime
        runtime_exports = {name: ("class" if kind == "class" else "function") for name, kind in runtime["exports"].items()}
        assert runtime_exports == exports, f"hawker.js exports {runtime_exports}, hawker.d.ts declares {exports}"
        for name, declared in members.items():
            actual = set(runtime["members"][name])
            assert declared == actual, f"{name}: declared only {sorted(declared - actual)}, in hawker.js only {sorted(actual - declared)}"
    finally:
        driver.quit()


def test_ops_shows_connections_streams_and_dead_letters(gateway):
    host = gateway.token("host", "host-1")
    gateway.publish(host, "catalog.set", {"products": CATALOG})
    gateway.publish(host, "product.pinned", {"product": "jacket"})
    viewer, ops = browser(), browser()
    try:
        viewer.get(f"http://127.0.0.1:{gateway.port}/watch/shop#token={gateway.token('viewer', 'fay')}")
        wait(viewer, 10, lambda d: card(d, "jacket"), "the viewer's card")
        # This gateway has no order backend: the order is dead-lettered at once.
        buy(viewer, "jacket")
        wait(viewer, 10, lambda d: "could not be completed" in d.find_element(By.ID, "purchase").text, "the failed order")
        ops.get(f"http://127.0.0.1:{gateway.port}/ops#token={gateway.token('admin', 'ops-1')}")
        wait(ops, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#streams tr"), "the busiest streams")
        cells = ops.execute_script("return [...document.querySelectorAll('#streams tr td')].map(e => e.textContent)")
        assert cells[0] == "shop" and int(cells[1]) >= 1, cells
        connections = text(ops, 'dd[data-metric="connections"]')
        assert int(connections) >= 1, connections
        wait(ops, 10, lambda d: d.find_elements(By.CSS_SELECTOR, "#dead-letters tr"), "the dead letter")
        assert "no order backend" in ops.find_element(By.ID, "dead-letters").text
        ops.save_screenshot(os.path.join(SHOTS, "ops.png"))
        ops.execute_script("document.querySelector('#dead-letters button').click()")
        wait(ops, 5, lambda d: d.find_element(By.ID, "dead-result").text.startswith("re-driven"), "the re-drive")
        # Northwind registered: its orders go to the demo backend (confirmed); its scarf is
        # shipped by Loom Works, which has no backend here. The scarf's shipment is
        # dead-lettered once the sale is confirmed, and re-driven as the shipment it is.
        gateway.request("PUT", "/v1/merchants/northwind", gateway.token("admin", "ops-0"),
                        {"backend": {"kind": "demo"}, "suppliers": {"scarf": {"merchant": "loom-works", "price": 1600}}})
        gateway.publish(host, "product.pinned", {"product": "scarf"})
        wait(viewer, 10, lambda d: card(d, "scarf"), "the scarf's card")
        buy(viewer, "scarf")
        wait(ops, 15, lambda d: "ships for northwind" in d.find_element(By.ID, "dead-letters").text, "the shipment's dead letter")
        ops.execute_script("""[...document.querySelectorAll('#dead-letters tr')]
            .find(tr => tr.textContent.includes('ships for northwind')).querySelector('button').click()""")
        wait(ops, 5, lambda d: d.find_element(By.ID, "dead-result").text.startswith("re-driven"), "the shipment's re-drive")
    finally:
        viewer.quit()
        ops.quit()


TESTS = [
    test_viewer_sees_pins_prices_sales_and_buys,
    test_a_viewer_picks_a_variant_and_buys_it,
    test_a_viewer_from_an_influencers_link_carries_the_code_to_checkout,
    test_a_viewer_sees_shipping_and_tax_and_pays_that_total,
    test_a_buyer_sees_their_orders_on_another_device,
    test_a_buyer_cancels_one_order_and_returns_another_from_my_orders,
    test_an_influencer_sees_what_its_code_earned,
    test_chat_typed_in_one_browser_appears_in_another,
    test_a_restart_shows_reconnecting_then_resumes,
    test_the_sdk_moves_to_another_gateway,
    test_the_sdk_subscribes_in_one_round_trip,
    test_the_studio_pins_and_sees_merged_questions,
    test_ops_shows_connections_streams_and_dead_letters,
    test_the_type_declarations_match_the_sdk,
    test_the_printed_demo_links_lead_to_moving_ops_charts,
]

# Gateways that need more than the defaults.
EXTRA = {test_ops_shows_connections_streams_and_dead_letters: ["--set", "orders.default_backend=none"],
         test_the_printed_demo_links_lead_to_moving_ops_charts: ["--demo"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "hawker"))
    parser.add_argument("--port", type=int, default=19601)
    parser.add_argument("-k", dest="only", help="run only the tests whose names contain this")
    arguments = parser.parse_args()
    os.makedirs(SHOTS, exist_ok=True)
    failed = 0
    tests = [test for test in TESTS if not arguments.only or arguments.only in test.__name__]
    for index, test in enumerate(TESTS):
        if test not in tests:
            continue
        gateway = Gateway(arguments.binary, arguments.port + index, EXTRA.get(test, ()))
        started = time.time()
        try:
            gateway.start()
            test(gateway)
            print(f"PASS {test.__name__} ({time.time() - started:.1f} s)")
        except Exception:
            failed += 1
            print(f"FAIL {test.__name__}")
            traceback.print_exc()
        finally:
            gateway.stop()
            shutil.rmtree(gateway.data, ignore_errors=True)
    print(f"browser tests: {len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
