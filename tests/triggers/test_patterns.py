"""The event pattern language, case by case, from the examples of AWS's EventBridge user guide
("Content filtering in Amazon EventBridge event patterns", "Comparison operators") and Lambda's
"Filtering events" page; each row is (pattern, event, matches?)."""

from __future__ import annotations

import pytest

from kindling.patterns import Pattern, PatternError

EC2_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated", "c-count": 5, "d-count": 4},
}

CASES = [
    # exact values, and AND across fields
    ({"source": ["aws.ec2"]}, EC2_EVENT, True),
    ({"source": ["aws.s3"]}, EC2_EVENT, False),
    ({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}, EC2_EVENT, True),
    ({"source": ["aws.ec2"], "detail-type": ["Other"]}, EC2_EVENT, False),
    ({"detail": {"state": ["running", "terminated"]}}, EC2_EVENT, True),
    ({"detail": {"state": ["running", "stopped"]}}, EC2_EVENT, False),
    ({"detail": {"c-count": [5]}}, EC2_EVENT, True),
    ({"detail": {"c-count": ["5"]}}, EC2_EVENT, False),  # a string never equals a number
    # arrays in the event match if any element matches
    ({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}, EC2_EVENT, True),
    ({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/other"]}, EC2_EVENT, False),
    # null and empty string
    ({"responseElements": [None]}, {"responseElements": None}, True),
    ({"responseElements": [None]}, {}, False),
    ({"LastName": [""]}, {"LastName": ""}, True),
    ({"LastName": [""]}, {"LastName": "Doe"}, False),
    # prefix, suffix, with and without case
    ({"time": [{"prefix": "2017-12-22"}]}, EC2_EVENT, True),
    ({"time": [{"prefix": "2018"}]}, EC2_EVENT, False),
    ({"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}, {"service": "eventbridge"}, True),
    ({"FileName": [{"suffix": ".png"}]}, {"FileName": "image.png"}, True),
    ({"FileName": [{"suffix": ".png"}]}, {"FileName": "image.PNG"}, False),
    ({"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"FileName": "image.PNG"}, True),
    # equals-ignore-case
    ({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}, EC2_EVENT, True),
    ({"name": [{"equals-ignore-case": "alice"}]}, {"name": "bob"}, False),
    # anything-but: value, list, prefix, suffix, ignore case, wildcard
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, EC2_EVENT, True),
    ({"detail": {"state": [{"anything-but": "terminated"}]}}, EC2_EVENT, False),
    ({"detail": {"x-limit": [{"anything-but": 123}]}}, {"detail": {"x-limit": 456}}, True),
    ({"detail": {"x-limit": [{"anything-but": 123}]}}, {"detail": {"x-limit": 123}}, False),
    ({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, {"detail": {"state": "stopped"}}, False),
    ({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, {"detail": {"state": "running"}}, True),
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, {"detail": {}}, False),  # absent is no value
    ({"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "us-east-1"}, False),
    ({"Region": [{"anything-but": {"prefix": "us-"}}]}, {"Region": "eu-west-1"}, True),
    ({"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.txt"}, True),
    ({"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.png"}, False),
    ({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}, {"state": "INITIALIZING"}, False),
    ({"state": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]}, {"state": "c"}, True),
    ({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"FilePath": "/usr/lib/x"}, False),
    ({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"FilePath": "/usr/bin/x"}, True),
    # numeric ranges
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, EC2_EVENT, True),
    ({"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}, EC2_EVENT, False),
    ({"detail": {"d-count": [{"numeric": ["<", 10]}]}}, EC2_EVENT, True),
    ({"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}, {"detail": {"x-limit": 301.8}}, True),
    ({"detail": {"x-limit": [{"numeric": ["=", 301.8]}]}}, {"detail": {"x-limit": "301.8"}}, False),
    ({"price": [{"numeric": [">=", 10, "<", 20]}]}, {"price": 20}, False),
    ({"price": [{"numeric": [">=", 10, "<", 20]}]}, {"price": 10}, True),
    # exists
    ({"detail": {"state": [{"exists": True}]}}, EC2_EVENT, True),
    ({"detail": {"state": [{"exists": False}]}}, EC2_EVENT, False),
    ({"detail": {"missing": [{"exists": False}]}}, EC2_EVENT, True),
    ({"detail": {"missing": [{"exists": True}]}}, EC2_EVENT, False),
    ({"other": {"missing": [{"exists": False}]}}, EC2_EVENT, True),
    ({"detail": [{"exists": True}]}, EC2_EVENT, False),  # exists only looks at leaves
    # cidr
    ({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}, {"detail": {"sourceIPAddress": "10.0.0.255"}}, True),
    ({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}, {"detail": {"sourceIPAddress": "10.0.1.1"}}, False),
    ({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"}, True),
    ({"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "not an address"}, False),
    # wildcard
    (
        {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
        {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"},
        True,
    ),
    ({"FileName": [{"wildcard": "dir/*.png"}]}, {"FileName": "dir/a/b.png"}, True),
    ({"FileName": [{"wildcard": "dir/*.png"}]}, {"FileName": "other/b.png"}, False),
    ({"name": [{"wildcard": "a\\*b"}]}, {"name": "a*b"}, True),
    ({"name": [{"wildcard": "a\\*b"}]}, {"name": "axb"}, False),
    # $or, at the top and nested
    ({"$or": [{"c-count": [{"numeric": [">", 0]}]}, {"d-count": [{"numeric": ["<", 0]}]}]}, {"c-count": 1}, True),
    ({"$or": [{"c-count": [{"numeric": [">", 0]}]}, {"d-count": [{"numeric": ["<", 0]}]}]}, {"c-count": -1}, False),
    ({"source": ["aws.ec2"], "$or": [{"detail": {"state": ["x"]}}, {"region": ["us-west-1"]}]}, EC2_EVENT, True),
    ({"detail": {"$or": [{"state": ["x"]}, {"c-count": [5]}]}}, EC2_EVENT, True),
    ({"detail": {"$or": [{"state": ["x"]}, {"c-count": [6]}]}}, EC2_EVENT, False),
    # Lambda's FilterCriteria on an SQS record whose body is JSON
    ({"body": {"RequestCode": ["BBBB"]}}, {"messageId": "1", "body": {"RequestCode": "BBBB"}}, True),
    ({"body": {"RequestCode": ["BBBB"]}}, {"messageId": "1", "body": {"RequestCode": "AAAA"}}, False),
    ({"body": ["plain text"]}, {"body": "plain text"}, True),
    # nested objects inside arrays
    ({"Records": {"eventName": ["INSERT"]}}, {"Records": [{"eventName": "MODIFY"}, {"eventName": "INSERT"}]}, True),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), CASES)
def test_pattern_matches_as_aws_documents(pattern, event, expected) -> None:  # type: ignore[no-untyped-def]
    assert Pattern(pattern).matches(event) is expected


def test_a_pattern_given_as_text_is_the_same_pattern() -> None:
    assert Pattern('{"source": ["aws.ec2"]}').matches(EC2_EVENT)


INVALID = [
    "not json",
    '["a"]',
    {"source": "aws.ec2"},  # leaves are lists
    {"source": []},
    {"source": [["nested"]]},
    {"n": [{"numeric": [">", "five"]}]},
    {"n": [{"numeric": ["<", 5, ">", 1]}]},
    {"n": [{"numeric": ["~", 5]}]},
    {"n": [{"exists": "yes"}]},
    {"n": [{"cidr": "10.0.0.0/33"}]},
    {"n": [{"unknown-operator": 1}]},
    {"n": [{"prefix": 5}]},
    {"n": [{"anything-but": [True]}]},
    {"n": [{"wildcard": "a**b"}]},
    {"$or": [{"a": ["b"]}]},
    {"n": {}},
]


@pytest.mark.parametrize("pattern", INVALID)
def test_invalid_patterns_are_refused(pattern) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PatternError):
        Pattern(pattern)
