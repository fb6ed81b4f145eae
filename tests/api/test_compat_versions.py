"""Versions as AWS lists them: ListFunctions FunctionVersion=ALL, and ``$LATEST`` with its qualified ARN."""

from __future__ import annotations

HELLO = {"app.py": "def handler(event, context):\n    return 'hi'\n"}


def test_list_functions_all_returns_every_published_version(lam, deploy):
    published = deploy(HELLO, Publish=True)
    plain = deploy(HELLO)
    arn = lam.get_function_configuration(FunctionName=published)["FunctionArn"]
    plain_arn = lam.get_function_configuration(FunctionName=plain)["FunctionArn"]
    paginator = lam.get_paginator("list_functions")
    every = paginator.paginate(FunctionVersion="ALL", PaginationConfig={"PageSize": 1}).build_full_result()
    mine = [(f["FunctionArn"], f["Version"]) for f in every["Functions"] if f["FunctionName"] in (published, plain)]
    assert sorted(mine) == sorted(
        [(f"{arn}:$LATEST", "$LATEST"), (f"{arn}:1", "1"), (f"{plain_arn}:$LATEST", "$LATEST")]
    )
    default = paginator.paginate(PaginationConfig={"PageSize": 1}).build_full_result()
    mine = [f["FunctionArn"] for f in default["Functions"] if f["FunctionName"] in (published, plain)]
    assert sorted(mine) == sorted([arn, plain_arn])


def test_latest_is_qualified_where_versions_are_listed_or_asked_for(lam, deploy):
    name = deploy(HELLO, Publish=True)
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
    assert [(v["FunctionArn"], v["Version"]) for v in versions] == [(f"{arn}:$LATEST", "$LATEST"), (f"{arn}:1", "1")]
    assert lam.get_function(FunctionName=name, Qualifier="$LATEST")["Configuration"]["FunctionArn"] == f"{arn}:$LATEST"
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == arn
