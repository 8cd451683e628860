#!/usr/bin/env python
"""Screenshot of the web page with a real photo translated (docs/serve.jpg in the README).

    python docs/serve_screenshot.py RUN PHOTO [--out docs/serve.jpg] [--port 7861] [KEY=VALUE ...]

Starts `python -m i2i serve RUN` as a user would, drives it in headless Chromium (Debian's
chromium + chromium-driver: `make browser-deps`), uploads PHOTO, waits for the result and
saves a full-page screenshot. RUN: e.g. checkpoints/demo_esrgan after `make demo` (an SR run
shows the before/after slider). KEY=VALUE sets a field of the page first (e.g. tile=128).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("photo")
    ap.add_argument("--out", default=str(ROOT / "docs" / "serve.jpg"))
    ap.add_argument("--port", type=int, default=7861)
    ap.add_argument("fields", nargs="*", metavar="KEY=VALUE")
    a = ap.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = subprocess.Popen([sys.executable, "-m", "i2i", "serve", a.run, "--port", str(a.port)], cwd=ROOT)
    url = f"http://127.0.0.1:{a.port}/"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "api/runs").read()
                break
            except OSError:
                time.sleep(0.2)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,1700",
                     "--hide-scrollbars"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            wait = WebDriverWait(driver, 600)
            driver.get(url)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#run option"))
            for item in a.fields:
                key, _, value = item.partition("=")
                box = driver.find_element(By.ID, key)
                box.clear()
                box.send_keys(value)
            driver.find_element(By.ID, "files").send_keys(str(Path(a.photo).resolve()))
            driver.find_element(By.ID, "go").click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "a.download"))
            time.sleep(1.0)  # previews finish loading
            import io

            from PIL import Image
            shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
            shot.save(a.out, quality=85)  # .jpg keeps the README light
            print(f"wrote {a.out}")
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
