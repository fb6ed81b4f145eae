"""``PostRuntimeExtensionsDuration``: an external extension's work after the runtime answered (here 300 ms
of sleep after each INVOKE before it calls ``next`` again) is counted for the function."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from support import Server, create_function, make_zip

LINGERING = r"""#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API"
id=$(curl -s -D - -o /dev/null -H "Lambda-Extension-Name: lingering" -d '{"events": ["INVOKE"]}' \
  "$api/2020-01-01/extension/register" | tr -d '\r' | grep -i '^lambda-extension-identifier' | cut -d' ' -f2)
curl -s -o /dev/null -H "Lambda-Extension-Identifier: $id" "$api/2020-01-01/extension/event/next"
while true; do
  sleep 0.3
  curl -s -o /dev/null -H "Lambda-Extension-Identifier: $id" "$api/2020-01-01/extension/event/next"
done
"""


def test_post_runtime_extensions_duration(server: Server, lam: Any, cw: Any) -> None:
    layer = lam.publish_layer_version(
        LayerName="lingering",
        Content={"ZipFile": make_zip({"extensions/lingering": LINGERING}, {"extensions/lingering": 0o755})},
    )["LayerVersionArn"]
    create_function(lam, "lingered", {"app.py": "def handler(event, context):\n    return 'ok'\n"}, Layers=[layer])
    for _ in range(2):  # the second invocation waits for the extension to be done with the first
        assert lam.invoke(FunctionName="lingered")["Payload"].read() == b'"ok"'
    now = datetime.now(UTC)

    def points() -> list[dict[str, Any]]:
        return cw.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName="PostRuntimeExtensionsDuration",
            Dimensions=[{"Name": "FunctionName", "Value": "lingered"}], StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=1), Period=3600, Statistics=["Minimum", "Maximum", "SampleCount"],
            Unit="Milliseconds",
        )["Datapoints"]  # fmt: skip

    deadline = time.monotonic() + 20
    while not points() or points()[0]["SampleCount"] < 2:
        assert time.monotonic() < deadline, points()
        time.sleep(0.1)
    [point] = points()
    assert point["Minimum"] >= 200 and point["Maximum"] < 2000
