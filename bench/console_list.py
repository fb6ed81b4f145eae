"""The console's functions list with 1,000 functions, in Debian's headless chromium.

    .venv/bin/python bench/console_list.py [--functions 1000]

Prints the time from opening /console/ to the first page of rows (every ListFunctions page fetched), and the
time a search keystroke takes to filter and redraw the list (the in-memory render, measured in the page).
Target: the list renders in <= 200 ms. Starts its own server on a free port with a throw-away data dir.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config
from playwright.sync_api import sync_playwright

ROLE = "arn:aws:iam::000000000000:role/bench"


def package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=1000)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="kindling-console-bench."))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    kindling = Path(sys.executable).parent / "kindling"
    log = open(data / "server.log", "wb")  # noqa: SIM115  (owned by the child)
    server = subprocess.Popen(
        [kindling, "server", "--port", str(port), "--data-dir", str(data / "d")], stdout=log, stderr=log
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{endpoint}/health")
                break
            except OSError:
                time.sleep(0.1)
        lam = boto3.client(
            "lambda",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 0}, max_pool_connections=8),
        )
        code = package()
        started = time.monotonic()

        def create(index: int) -> None:
            lam.create_function(
                FunctionName=f"bench-{index:04d}",
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": code},
            )

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(create, range(args.functions)))
        print(f"created {args.functions} functions in {time.monotonic() - started:.1f} s", file=sys.stderr)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            # the moment the first rows enter the document, taken in the page (no polling delay)
            page.add_init_script(
                """new MutationObserver((_, observer) => {
                  if (!document.querySelector('table.functions tbody tr')) return;
                  window.firstRows = performance.now();
                  observer.disconnect();
                }).observe(document, { childList: true, subtree: true });"""
            )
            loads = []
            parsed = []
            for _ in range(3):
                page.goto("about:blank")
                page.goto(f"{endpoint}/console/#/functions")
                page.wait_for_selector("table.functions tbody tr")
                loads.append(page.evaluate("window.firstRows"))  # since the navigation started
                parsed.append(page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
            renders = []
            for query in ["bench-0", "bench-09", "", "bench-1", ""] * 4:
                renders.append(
                    page.evaluate(
                        """(query) => { const input = document.querySelector('input[type=search]');
                        const t = performance.now(); input.value = query; input.dispatchEvent(new Event('input'));
                        return performance.now() - t; }""",
                        query,
                    )
                )
            rows = page.locator("table.functions tbody tr").count()
            browser.close()
        print(f"functions: {args.functions}, rows on a page: {rows}")
        print(f"open /console/ to first rows: median {statistics.median(loads):.0f} ms")
        print(
            f"  of which the page and its scripts loaded (DOMContentLoaded): median {statistics.median(parsed):.0f} ms"
        )
        print(f"filter and redraw the list: median {statistics.median(renders):.1f} ms, max {max(renders):.1f} ms")
        met = max(renders) <= 200 and statistics.median(loads) <= 200
        print(f"target: the list renders in <= 200 ms: {'met' if met else 'missed'}")
        return 0
    finally:
        server.terminate()
        server.wait(30)
        log.close()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
