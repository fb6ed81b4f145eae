# frozen_string_literal: true

# Loggers that write to stdout or stderr take Lambda's line format, as AWS's Ruby runtime makes them:
# `I, [2026-12-06T10:00:00.123456 #8]  INFO <request id> -- progname: message` as text, or, for a function
# whose LoggingConfig says LogFormat JSON, one JSON object per line ({timestamp, level, message, requestId,
# logger, and errorType, errorMessage, stackTrace, location for an exception}) with the records below
# AWS_LAMBDA_LOG_LEVEL dropped. Loaded by bootstrap.rb once the function's code has loaded Logger.

module Kindling
  module LambdaLogger
    # Lambda's level names (TRACE has no Logger level: it is DEBUG's)
    LEVELS = { 'TRACE' => ::Logger::DEBUG, 'DEBUG' => ::Logger::DEBUG, 'INFO' => ::Logger::INFO,
               'WARN' => ::Logger::WARN, 'ERROR' => ::Logger::ERROR, 'FATAL' => ::Logger::FATAL }.freeze

    def self.json?
      ENV['AWS_LAMBDA_LOG_FORMAT'] == 'JSON'
    end

    def self.level
      LEVELS.fetch(ENV.fetch('AWS_LAMBDA_LOG_LEVEL', 'INFO').upcase, ::Logger::INFO)
    end

    def self.request_id
      $_global_aws_request_id
    end

    # the text line: Logger's own layout with the request id before the program name
    class TextFormatter < ::Logger::Formatter
      def call(severity, time, progname, msg)
        line = "#{severity[0]}, [#{format_datetime(time)} ##{Process.pid}] #{severity.rjust(5)} " \
               "#{LambdaLogger.request_id} -- #{progname}: #{msg2str(msg)}"
        "#{line.encode('UTF-8', invalid: :replace, undef: :replace)}\n"
      end
    end

    # one JSON object per record
    class JsonFormatter < ::Logger::Formatter
      def call(severity, time, progname, msg)
        record = { timestamp: time.utc.strftime('%Y-%m-%dT%H:%M:%S.%6NZ'), level: severity,
                   message: utf8(msg.is_a?(Exception) ? msg.message : msg2str(msg)),
                   requestId: LambdaLogger.request_id }
        record[:logger] = utf8(progname) unless progname.to_s.empty?
        record.merge!(error(msg)) if msg.is_a?(Exception)
        "#{JSON.generate(record.compact)}\n"
      end

      private

      def error(exception)
        trace = Array(exception.backtrace).map { |line| utf8(line) }
        found = trace.first&.match(/\A(?<file>.+):(?<line>\d+):in [`'](?<method>.+)'\z/)
        { errorType: exception.class.to_s, errorMessage: utf8(exception.message), stackTrace: trace,
          location: found ? "#{found[:file]}:#{found[:method]}:#{found[:line]}" : trace.first }
      end

      def utf8(value)
        value.to_s.encode('UTF-8', invalid: :replace, undef: :replace)
      end
    end

    # prepended to Logger: a logger on stdout or stderr without a formatter of its own gets Lambda's
    module Patch
      def initialize(logdev = nil, *args, **options)
        super
        return unless logdev.equal?($stdout) || logdev.equal?($stderr) || logdev.equal?(STDOUT) || logdev.equal?(STDERR)

        self.formatter = LambdaLogger.json? ? JsonFormatter.new : TextFormatter.new unless options[:formatter]
        self.level = [level, LambdaLogger.level].max if LambdaLogger.json?
      end
    end
  end
end

::Logger.prepend(Kindling::LambdaLogger::Patch)
