"""The fleet's line on the touch screen (Chromium). In a file of its own: Playwright's page
fixture must run after the tests that start asyncio loops of their own (test_projector*)."""

from .broker import Broker
from .fleet_net import Network
from .test_fleet import USERS, fleet, secret


def test_the_touch_screen_is_calm_without_network_and_says_what_to_fix_when_refused(
        tmp_path, rig_process, page):
    broker = Broker(tmp_path / "broker", users=USERS).start()
    net = Network(broker.tls_port).start("down")
    password = secret(tmp_path, "not-the-password")
    rig = rig_process(fleet(f"mqtts://127.0.0.1:{net.port}", broker.ca_file, password))
    try:
        page.add_init_script("localStorage.setItem('rig.lang', 'fr')")
        page.goto(rig.url + "/")
        page.locator("[data-screen=alerts]").click()
        line = page.locator("#fleet")
        page.wait_for_function("document.querySelector('#fleet').textContent.includes('en attente')")
        assert line.text_content().startswith("Bureau : ") and "rien d'envoyé encore" in line.text_content()
        assert line.get_attribute("class") == "notice quiet"          # no network: nothing alarming
        net.set("up")
        rig.post("/api/fleet/send")
        page.wait_for_function("document.querySelector('#fleet').className.includes('warn')")
        assert "refusé, vérifiez [fleet] username, password_file" in line.text_content()
        page.wait_for_function("document.querySelector('#alerts').textContent.includes('Le bureau refuse')")
        password.write_text("pw-mdu-1\n")
        rig.post("/api/fleet/send")
        page.wait_for_function("document.querySelector('#fleet').textContent.includes('tout est envoyé')")
        assert "envoyé à l'instant" in line.text_content() and "quiet" in line.get_attribute("class")
        page.locator("[data-action=language]").click()
        page.wait_for_function("document.querySelector('#fleet').textContent.startsWith('Office: ')")
        assert "nothing waiting / sent just now" in line.text_content()
    finally:
        net.stop()
        broker.stop()
