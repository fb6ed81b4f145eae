"""The Ruby runtimes: Lambda's Ruby handler contract through Kindling's own Runtime API client, gems
vendored in the zip and in layers, and the refusal of a Ruby version the host does not have.

The host's Ruby is Debian's 3.1, a version AWS never offered, so the server maps ``ruby3.2`` to it
explicitly, as an operator would."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from runtime_helpers import CLIENT_CONTEXT, invoke
from support import ROLE, ROOT, Server, deleting, make_zip

RUNTIME = "ruby3.2"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("ruby") / "data", "--runtime", f"{RUNTIME}=/usr/bin/ruby").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def lam(server: Server):  # type: ignore[no-untyped-def]
    return server.client()


@pytest.fixture
def layer(lam) -> Iterator:  # type: ignore[no-untyped-def]
    published: list[tuple[str, int]] = []

    def _publish(name: str, files: dict[str, str | bytes]) -> str:
        reply = lam.publish_layer_version(LayerName=name, Content={"ZipFile": make_zip(files)})
        published.append((name, reply["Version"]))
        return reply["LayerVersionArn"]

    yield _publish
    for name, version in published:
        lam.delete_layer_version(LayerName=name, VersionNumber=version)


@pytest.fixture
def deploy(lam) -> Iterator:  # type: ignore[no-untyped-def]
    with deleting(lam) as created:

        def _deploy(name: str, files: dict[str, str | bytes], handler: str = "app.handler", **settings: object) -> str:
            lam.create_function(
                FunctionName=name, Runtime=RUNTIME, Role=ROLE, Handler=handler,
                Code={"ZipFile": make_zip(files)}, **settings,
            )  # fmt: skip
            created.append(name)
            return name

        yield _deploy


HELLO = """
def handler(event:, context:)
  puts "hello from ruby"
  $stderr.puts "to stderr"
  { "event" => event, "gems_loaded" => $LOADED_FEATURES.any? { |f| f.end_with?("/rubygems.rb") } }
end
"""


def test_hello_world_returns_json_and_logs_stdout_and_stderr(lam, deploy):
    name = deploy("rb-hello", {"app.rb": HELLO})
    body, error, log = invoke(lam, name, {"name": "Ruby", "list": [1, 2.5, None, True]})
    assert error is None, body
    assert body == {"event": {"name": "Ruby", "list": [1, 2.5, None, True]}, "gems_loaded": False}
    assert "hello from ruby\n" in log and "to stderr\n" in log and "REPORT RequestId:" in log
    body, error, log = invoke(lam, name, {"name": "again"})  # the warm environment answers too
    assert error is None and body["event"] == {"name": "again"} and "Init Duration" not in log


def test_the_example(lam, deploy):
    name = deploy("rb-example", {"app.rb": (ROOT / "examples" / "ruby" / "app.rb").read_text()})
    body, error, log = invoke(lam, name, {"name": "Matz"})
    assert error is None, body
    assert body["greeting"].startswith("hello Matz from Ruby 3.") and 0 < body["remainingMs"] <= 3000
    assert f"START RequestId: {body['requestId']}" in log and "greeting Matz\n" in log
    body, error, _ = invoke(lam, name, {"name": "x", "fail": True})
    assert error == "Unhandled" and body["errorType"] == "Function<ArgumentError>"
    assert body["errorMessage"] == "asked to fail for x" and body["stackTrace"][0].startswith("/var/task/app.rb:7:in")


def test_module_class_method_handler_in_a_subfolder(lam, deploy):
    source = """
module LambdaFunctions
  class Handler
    def self.process(event:, context:)
      { "via" => "#{self}.process", "n" => event["n"] * 2 }
    end
  end
end
"""
    name = deploy("rb-class", {"lib/function.rb": source}, handler="lib/function.LambdaFunctions::Handler.process")
    body, error, _ = invoke(lam, name, {"n": 21})
    assert error is None, body
    assert body == {"via": "LambdaFunctions::Handler.process", "n": 42}


def test_an_io_is_returned_as_raw_bytes(lam, deploy):
    name = deploy("rb-raw", {"app.rb": 'def handler(event:, context:) = StringIO.new("not json, #{event["n"]}")\n'})
    reply = lam.invoke(FunctionName=name, Payload=b'{"n": 1}')
    assert "FunctionError" not in reply and reply["Payload"].read() == b"not json, 1"


def test_context_fields_and_remaining_time(lam, deploy):
    source = """
def handler(event:, context:)
  {
    "function_name" => context.function_name, "function_version" => context.function_version,
    "arn" => context.invoked_function_arn, "memory" => context.memory_limit_in_mb,
    "request_id" => context.aws_request_id, "log_group" => context.log_group_name,
    "log_stream" => context.log_stream_name, "deadline_ms" => context.deadline_ms,
    "remaining" => context.get_remaining_time_in_millis, "now_ms" => (Time.now.to_f * 1000).to_i,
    "identity" => context.identity, "client_context" => context.client_context,
  }
end
"""
    name = deploy("rb-context", {"app.rb": source}, Timeout=5, MemorySize=256)
    reply = lam.invoke(FunctionName=name, Payload=b"{}", ClientContext=CLIENT_CONTEXT)
    body = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    assert body["function_name"] == name and body["function_version"] == "$LATEST"
    assert body["arn"].endswith(f":function:{name}") and body["memory"] == "256"
    assert re.fullmatch(r"[0-9a-f-]{36}", body["request_id"])
    assert body["log_group"] == f"/aws/lambda/{name}" and "[$LATEST]" in body["log_stream"]
    assert 0 < body["remaining"] <= 5000 and abs(body["deadline_ms"] - body["now_ms"] - body["remaining"]) < 50
    assert body["identity"] is None and body["client_context"]["custom"] == {"k": "v"}


def test_environment_variables(lam, deploy):
    source = """
def handler(event:, context:)
  %w[GREETING AWS_EXECUTION_ENV AWS_REGION LAMBDA_TASK_ROOT GEM_PATH RUBYLIB _HANDLER].to_h { |k| [k, ENV[k]] }
    .merge("cwd" => Dir.pwd)
end
"""
    name = deploy("rb-env", {"app.rb": source}, Environment={"Variables": {"GREETING": "hola"}})
    body, error, _ = invoke(lam, name)
    assert error is None, body
    assert body["GREETING"] == "hola" and body["AWS_EXECUTION_ENV"] == "AWS_Lambda_ruby3.2"
    assert body["AWS_REGION"] == "us-east-1" and body["LAMBDA_TASK_ROOT"] == "/var/task" == body["cwd"]
    assert (
        body["GEM_PATH"].startswith("/var/task/vendor/bundle/ruby/3.2.0:")
        and "/opt/ruby/gems/3.2.0" in body["GEM_PATH"]
    )
    assert body["RUBYLIB"] == "/var/task:/var/runtime/lib:/opt/ruby/lib" and body["_HANDLER"] == "app.handler"


LOGGING = """
require "logger"
LOG = Logger.new($stdout, progname: "app")

def handler(event:, context:)
  LOG.debug("hidden at INFO")
  LOG.info("visible")
  begin
    raise ArgumentError, "bad input"
  rescue ArgumentError => e
    LOG.error(e)
  end
  Logger.new($stdout, formatter: proc { |severity, _, _, message| "#{severity}:#{message}\\n" }).warn("its own")
  context.aws_request_id
end
"""


def test_logger_lines_carry_the_request_id_and_follow_the_log_format(lam, deploy):
    name = deploy("rb-logger", {"app.rb": LOGGING})
    request_id, error, log = invoke(lam, name)
    assert error is None, request_id
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6} #\d+"
    assert re.search(rf"^I, \[{stamp}\]  INFO {request_id} -- app: visible$", log, re.M), log
    assert re.search(rf"^D, \[{stamp}\] DEBUG {request_id} -- app: hidden at INFO$", log, re.M)
    assert re.search(rf"^E, \[{stamp}\] ERROR {request_id} -- app: bad input \(ArgumentError\)$", log, re.M)
    assert "WARN:its own\n" in log  # a logger with a formatter of its own keeps it

    lam.update_function_configuration(
        FunctionName=name, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO"}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    request_id, error, log = invoke(lam, name)
    assert error is None, request_id
    records = [json.loads(line) for line in log.splitlines() if line.startswith('{"timestamp"')]
    assert [(r["level"], r["message"]) for r in records] == [("INFO", "visible"), ("ERROR", "bad input")]
    assert all(r["requestId"] == request_id and r["logger"] == "app" for r in records)
    assert records[1]["errorType"] == "ArgumentError" and records[1]["stackTrace"][0].startswith(
        "/var/task/app.rb:9:in"
    )
    assert records[1]["location"].startswith("/var/task/app.rb:") and "WARN:its own\n" in log


def test_handler_error_has_lambdas_ruby_shape(lam, deploy):
    source = """
def handler(event:, context:)
  helper(event)
end

def helper(event)
  [1, 2, 3].first("two")
end
"""
    name = deploy("rb-error", {"app.rb": source})
    body, error, log = invoke(lam, name)
    assert error == "Unhandled"
    assert body["errorType"] == "Function<TypeError>"
    assert body["errorMessage"] == "no implicit conversion of String into Integer"
    assert body["stackTrace"] == [
        "/var/task/app.rb:7:in `first'",
        "/var/task/app.rb:7:in `helper'",
        "/var/task/app.rb:3:in `handler'",
    ]
    assert "Error raised from handler method\n" in log and '"errorType": "Function<TypeError>"' in log
    _, error, _ = invoke(lam, name)
    assert error == "Unhandled"  # the environment survived its handler's error


def test_name_errors_read_as_on_rubys_own_start_up(lam, deploy):
    # the runtime loads RubyGems, did_you_mean and error_highlight only when needed: messages are unchanged
    name = deploy("rb-typo", {"app.rb": "def handler(event:, context:)\n  evnt\nend\n"})
    body, error, _ = invoke(lam, name)
    assert error == "Unhandled" and body["errorType"] == "Function<NameError>"
    message = body["errorMessage"]
    assert message.startswith("undefined local variable or method ") and "evnt" in message.splitlines()[0]
    assert message.index("\n  evnt\n  ^^^^") < message.index("Did you mean?  event")  # highlight, then suggestion


def test_missing_handler_method_is_a_critical_no_method_error(lam, deploy):
    name = deploy("rb-no-method", {"app.rb": "def other(event:, context:) = 1\n"})
    for _ in range(2):  # the process ends after a critical error; the next invocation starts a new one
        body, error, _ = invoke(lam, name)
        assert error == "Unhandled" and body["errorType"] == "Function<NoMethodError>"
        assert body["errorMessage"].startswith("undefined method `handler' for main:Object")


def test_syntax_error_and_missing_file_fail_init(lam, deploy):
    broken = deploy("rb-syntax", {"app.rb": "def handler(event:, context:\n  1\nend\n"})
    body, error, log = invoke(lam, broken)
    assert error == "Unhandled" and body["errorType"] == "Init<SyntaxError>"
    assert "/var/task/app.rb:3: syntax error" in body["errorMessage"]
    assert "Init error when loading handler app.handler" in log
    missing = deploy("rb-missing", {"other.rb": ""})
    body, error, _ = invoke(lam, missing)
    assert error == "Unhandled" and body == {
        "errorMessage": "cannot load such file -- app",
        "errorType": "Init<LoadError>",
        "stackTrace": [],
    }
    assert lam.get_function_configuration(FunctionName=missing)["State"] == "Active"
    no_gem = deploy("rb-no-gem", {"app.rb": "\nrequire 'not_a_gem'\n"})
    body, error, _ = invoke(lam, no_gem)
    assert error == "Unhandled" and body == {
        "errorMessage": "cannot load such file -- not_a_gem",
        "errorType": "Init<LoadError>",
        "stackTrace": ["/var/task/app.rb:2:in `<top (required)>'"],
    }


def test_timeout(lam, deploy):
    name = deploy("rb-timeout", {"app.rb": "def handler(event:, context:)\n  sleep 10\nend\n"}, Timeout=1)
    body, error, log = invoke(lam, name)
    assert error == "Unhandled" and body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in log
    assert invoke(lam, name)[1] == "Unhandled"  # a new environment replaces the one that was reset


GEMSPEC = """Gem::Specification.new do |s|
  s.name = "tinygem"
  s.version = "1.2.3"
  s.summary = "A gem small enough to write at test time"
  s.authors = ["Kindling"]
  s.files = ["lib/tinygem.rb"]
  s.require_paths = ["lib"]
end
"""


def test_gems_vendored_under_vendor_bundle_and_in_a_layer(lam, deploy, layer):
    bundle = "vendor/bundle/ruby/3.2.0"  # where `bundle config set path vendor/bundle` puts a Ruby 3.2's gems
    layer_gems = "ruby/gems/3.2.0"  # and where a layer's gems go
    layergem_spec = GEMSPEC.replace("tinygem", "layergem").replace("1.2.3", "0.1.0")
    shared = layer(
        "rb-shared",
        {
            "ruby/lib/greeter.rb": 'module Greeter\n  def self.greet(n) = "hi #{n}"\nend\n',
            f"{layer_gems}/specifications/layergem-0.1.0.gemspec": layergem_spec,
            f"{layer_gems}/gems/layergem-0.1.0/lib/layergem.rb": "LAYERGEM = :loaded\n",
        },
    )
    source = """
gem "layergem", "0.1.0"  # Kernel#gem before anything has loaded RubyGems
require "layergem"
require "tinygem"
require "greeter"

def handler(event:, context:)
  { "tiny" => Tinygem.shout("gem"), "version" => Gem.loaded_specs["tinygem"].version.to_s,
    "from" => Gem.loaded_specs["tinygem"].full_gem_path, "layer" => Greeter.greet("layer"),
    "layer_file" => $LOADED_FEATURES.grep(/greeter/).first,
    "layergem" => [LAYERGEM, Gem.loaded_specs["layergem"].full_gem_path] }
end
"""
    files: dict[str, str | bytes] = {
        "app.rb": source,
        "Gemfile": 'source "https://rubygems.org"\ngem "tinygem"\n',
        f"{bundle}/specifications/tinygem-1.2.3.gemspec": GEMSPEC,
        f"{bundle}/gems/tinygem-1.2.3/lib/tinygem.rb": "module Tinygem\n  def self.shout(s) = s.upcase\nend\n",
    }
    name = deploy("rb-gems", files, Layers=[shared])
    body, error, _ = invoke(lam, name)
    assert error is None, body
    assert body == {
        "tiny": "GEM",
        "version": "1.2.3",
        "from": f"/var/task/{bundle}/gems/tinygem-1.2.3",
        "layer": "hi layer",
        "layer_file": "/opt/ruby/lib/greeter.rb",
        "layergem": ["loaded", f"/opt/{layer_gems}/gems/layergem-0.1.0"],
    }


def test_bundler_setup_with_the_bundle_config_in_the_zip(lam, deploy):
    # `bundle config set path vendor/bundle` + `bundle install` put the gems under the interpreter's own ABI
    abi = subprocess.run(
        ["/usr/bin/ruby", "-e", "print RbConfig::CONFIG['ruby_version']"], capture_output=True, text=True
    )
    bundle = f"vendor/bundle/ruby/{abi.stdout}"
    lock = "GEM\n  remote: https://rubygems.org/\n  specs:\n    tinygem (1.2.3)\n\nPLATFORMS\n  ruby\n\nDEPENDENCIES\n  tinygem\n"
    source = """
require "bundler/setup"
Bundler.require

def handler(event:, context:)
  { "tiny" => Tinygem.shout("bundled"), "bundled" => Bundler.definition.specs.map(&:full_name) }
end
"""
    files: dict[str, str | bytes] = {
        "app.rb": source,
        "Gemfile": 'source "https://rubygems.org"\ngem "tinygem"\n',
        "Gemfile.lock": lock,
        ".bundle/config": '---\nBUNDLE_PATH: "vendor/bundle"\n',
        f"{bundle}/specifications/tinygem-1.2.3.gemspec": GEMSPEC,
        f"{bundle}/gems/tinygem-1.2.3/lib/tinygem.rb": "module Tinygem\n  def self.shout(s) = s.upcase\nend\n",
    }
    body, error, log = invoke(lam, deploy("rb-bundler", files))
    assert error is None, (body, log)
    assert body["tiny"] == "BUNDLED" and "tinygem-1.2.3" in body["bundled"]


def test_a_version_the_host_lacks_is_refused_naming_what_is_missing(lam, server):
    runtimes = server.health()["runtimes"]
    assert RUNTIME in runtimes and "ruby3.3" not in runtimes and "ruby3.4" not in runtimes
    with pytest.raises(ClientError) as caught:
        lam.create_function(
            FunctionName="rb-unmapped", Runtime="ruby3.4", Role=ROLE, Handler="app.handler",
            Code={"ZipFile": make_zip({"app.rb": HELLO})},
        )  # fmt: skip
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "The runtime ruby3.4 needs Ruby 3.4 and this host has Ruby 3.1" in error["Message"]
    assert "--runtime ruby3.4=" in error["Message"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="rb-unmapped")
    log = server.log_path.read_text()
    assert "ruby3.2 is served by /usr/bin/ruby3.1, Ruby 3.1" in log and "the versions differ" in log


@pytest.mark.skipif(os.geteuid() != 0, reason="the namespaces sandbox needs root")
def test_runs_unprivileged_and_cannot_see_the_data_dir(lam, deploy, server):
    source = """
def handler(event:, context:)
  data = event["data_dir"]
  written = begin
    File.write("/var/task/x", "x")
    true
  rescue SystemCallError
    false
  end
  { "uid" => Process.uid, "data_dir_visible" => File.exist?(data),
    "db_readable" => File.readable?(File.join(data, "kindling.db")), "task_writable" => written,
    "tmp_writable" => File.write("/tmp/ok", "ok") == 2, "pids" => Dir.children("/proc").grep(/\\A\\d+\\z/).size }
end
"""
    name = deploy("rb-sandbox", {"app.rb": source})
    body, error, _ = invoke(lam, name, {"data_dir": str(server.data_dir)})
    assert error is None, body
    assert body["uid"] != 0 and body["data_dir_visible"] is False and body["db_readable"] is False
    assert body["task_writable"] is False and body["tmp_writable"] is True and body["pids"] <= 3
