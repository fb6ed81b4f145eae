"""Filter patterns as a user writes them in ``FilterLogEvents`` / ``kindling logs --filter``."""

from __future__ import annotations

import pytest

from kindling.logs.filters import FilterPatternError, compile_pattern

JSON_LINE = '{"level": "ERROR", "x": 7, "user": {"name": "ada"}, "tags": ["a", "Update-1"], "gone": null, "ok": true}'
LAMBDA_JSON = '[INFO]\t2024-05-20T16:29:45.008Z\t3f1c\t{"level": "INFO", "x": 2}'


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", "anything", True),
        ("ERROR", "an ERROR happened", True),
        ("ERROR", "an error happened", False),  # case-sensitive, as CloudWatch
        ("ERROR timeout", "ERROR: timeout after 3 s", True),
        ("ERROR timeout", "ERROR: refused", False),
        ('"Task timed out"', "2024 abc Task timed out after 3.00 seconds", True),
        ('"Task timed out"', "Task was timed out", False),
        ("?ERROR ?WARN", "WARN disk", True),
        ("?ERROR ?WARN", "INFO fine", False),
        ("ERROR -retrying", "ERROR retrying", False),
        ("ERROR -retrying", "ERROR giving up", True),
        ("%time[sd] out%", "timed out", True),
    ],
)
def test_text_patterns(pattern: str, message: str, expected: bool) -> None:
    assert compile_pattern(pattern)(message) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.level = "ERROR" }', True),
        ("{ $.level = ERROR }", True),
        ('{ $.level = "ERR*" }', True),
        ('{ $.level != "ERROR" }', False),
        ("{ $.x > 5 }", True),
        ("{ $.x >= 7 && $.x < 8 }", True),
        ("{ $.x <= 6 }", False),
        ("{ $.x = 7 }", True),
        ('{ $.user.name = "ada" }', True),
        ('{ $.tags[1] = "Update*" }', True),
        ('{ ($.x > 100) || ($.user.name = "ada") }', True),
        ('{ ($.x > 100) || ($.level = "INFO") }', False),
        ("{ $.gone IS NULL }", True),
        ("{ $.ok IS TRUE }", True),
        ("{ $.ok IS FALSE }", False),
        ("{ $.missing NOT EXISTS }", True),
        ("{ $.missing = 1 }", False),
    ],
)
def test_json_patterns(pattern: str, expected: bool) -> None:
    assert compile_pattern(pattern)(JSON_LINE) is expected


def test_json_patterns_find_json_after_a_lambda_log_prefix_and_skip_plain_text() -> None:
    assert compile_pattern("{ $.x = 2 }")(LAMBDA_JSON)
    assert not compile_pattern("{ $.x = 2 }")("x = 2, not JSON")


@pytest.mark.parametrize(
    "pattern", ["{ $.x > }", "{ $.x = 1", "{ $.x = 1 && }", "{ ($.x = 1 }", "%(%", "[a, b", "[a b c]"]
)
def test_broken_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        compile_pattern(pattern)


ACCESS = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 2326'
REPORT = "REPORT RequestId: 3f1c\tDuration: 15.74 ms\tBilled Duration: 16 ms"


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("[ip, identity, user, time, request, status, size]", ACCESS, True),
        ("[ip, identity, user, time, request, status, size, extra]", ACCESS, False),  # the counts must agree
        ("[ip, identity, user = frank, ...]", ACCESS, True),
        ("[ip, identity, user = fr*, ...]", ACCESS, True),
        ("[ip, identity, user != frank, ...]", ACCESS, False),
        ("[..., status = 404, size]", ACCESS, True),
        ("[..., status = 4*, size > 2000]", ACCESS, True),
        ("[..., status = 5*, size]", ACCESS, False),
        ('[ip, ..., request = "GET /apache_pb.gif HTTP/1.0", status, size]', ACCESS, True),
        ("[ip = 127.0.0.1, ..., size < 100]", ACCESS, False),
        ("[type = REPORT, ...]", REPORT, True),
        ("[type = START, ...]", REPORT, False),
    ],
)
def test_space_delimited_patterns(pattern: str, message: str, expected: bool) -> None:
    assert compile_pattern(pattern)(message) is expected
