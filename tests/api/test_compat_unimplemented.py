"""Every operation of botocore's Lambda model is served, except the features the README lists as not implemented
yet; each of those answers 501 NotImplementedException naming its feature."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from botocore.loaders import create_loader

FEATURES = {
    "DurableExecution": "durable executions",
    "CapacityProvider": "capacity providers",
}


def call(endpoint: str, method: str, uri: str) -> tuple[int, dict]:
    path, _, query = uri.partition("?")
    path = re.sub(r"\{[A-Za-z0-9]+\+?\}", "compat-sweep", path)
    url = f"{endpoint}{path}" + (f"?{query}" if query else "")
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    request = urllib.request.Request(url, data=body, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, {}
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text) if text else {}


def test_only_the_listed_features_answer_501(server):
    operations = create_loader().load_service_model("lambda", "service-2")["operations"]
    unimplemented = {}
    for name, spec in operations.items():
        status, body = call(server.endpoint, spec["http"]["method"], spec["http"]["requestUri"])
        assert status < 500 or status == 501, (name, status, body)  # odd input is the caller's error, not ours
        if status == 501:
            unimplemented[name] = body.get("message") or body.get("Message")
    feature_of = {name: next((w for w in FEATURES if w in name), None) for name in operations}
    assert {name for name in unimplemented if feature_of[name] is None} == set()
    for name, message in unimplemented.items():
        assert FEATURES[feature_of[name]] in message and name in message, message
    later = {name for name, word in feature_of.items() if word is not None}
    assert later == set(unimplemented)
