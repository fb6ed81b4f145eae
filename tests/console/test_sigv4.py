"""The console's SigV4 signer (WebCrypto, run here in node) signs exactly as botocore does."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGNER = Path(__file__).resolve().parents[2] / "src/kindling/console/web/src/sigv4.js"
NODE = """
const { sign } = await import(process.argv[1]);
const [url, method, body, service, date] = JSON.parse(process.argv[2]);
const headers = await sign({ method, url: new URL(url), headers: { "content-type": "application/json" }, body,
  accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret/key+", region: "us-east-1", service,
  now: new Date(date.replace(/(\\d{4})(\\d\\d)(\\d\\d)T(\\d\\d)(\\d\\d)(\\d\\d)Z/, "$1-$2-$3T$4:$5:$6Z")) });
console.log(JSON.stringify(headers));
"""


def _botocore(url: str, method: str, body: str, service: str) -> tuple[str, str]:
    request = AWSRequest(
        method=method,
        url=url,
        data=body.encode(),
        headers={"content-type": "application/json", "X-Amz-Content-SHA256": hashlib.sha256(body.encode()).hexdigest()},
    )
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", "secret/key+"), service, "us-east-1")
    signer.add_auth(request)
    return request.headers["X-Amz-Date"], request.headers["Authorization"]


def test_signatures_match_botocore() -> None:
    cases = [
        ("http://127.0.0.1:9000/2015-03-31/functions/my-fn/invocations", "POST", '{"key": "value"}', "lambda"),
        ("http://127.0.0.1:9000/2015-03-31/functions/?MaxItems=50&Marker=a%2Bb", "GET", "", "lambda"),
        ("http://localhost:9000/", "POST", '{"logGroupName": "/aws/lambda/x"}', "logs"),
    ]
    for url, method, body, service in cases:
        amz_date, expected = _botocore(url, method, body, service)
        answer = subprocess.run(
            [
                shutil.which("node") or "node",
                "--input-type=module",
                "-e",
                NODE,
                str(SIGNER),
                json.dumps([url, method, body, service, amz_date]),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(answer.stdout)["authorization"] == expected, url
