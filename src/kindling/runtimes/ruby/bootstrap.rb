# frozen_string_literal: true

# Kindling's Ruby runtime: loads the handler and serves invocations over the Lambda Runtime API.
#
# Mounted read-only at /var/runtime and started as `ruby /var/runtime/bootstrap.rb` inside the sandbox,
# right after isolation. Standard library only (the gem registry cannot be reached, so aws_lambda_ric is
# not used). What a handler can see follows AWS's Ruby runtime: `file.method` and
# `file.Module::Class.method` handlers called with `event:` and `context:`, events as parsed JSON, return
# values sent as `to_json` (an IO or StringIO as raw bytes), the LambdaContext methods, and errors as
# {errorMessage, errorType: "Function<Class>" | "Init<Class>", stackTrace} printed after "Error raised
# from handler method". Handlers that raise NoMethodError, NameError or a non-StandardError exception end
# the process after their error is posted, as on AWS (the next invocation starts a fresh one).

require 'socket'
require 'json'
require 'stringio'

$stdout.sync = true
$stderr.sync = true

module Kindling
  RUNTIME_DIR = "#{__dir__}/".freeze

  # RubyGems, with did_you_mean and error_highlight, is most of a Ruby's start-up time (about 40 of 50 ms).
  # The runtime starts with --disable-gems and loads them the first time they make a difference: a
  # require that the load path alone cannot satisfy, the Gem constant, Kernel#gem, or an error to describe
  # (both helpers decorate a message only when it is read, so one loaded late still says the same).
  def self.gems_loaded?
    @gems_loaded
  end

  def self.load_gems
    return if @gems_loaded

    @gems_loaded = true
    Kernel.send(:kindling_plain_require, 'rubygems')
  end

  # Logger writes Lambda's lines (lambda_logger.rb), from the moment the function's code loads it
  def self.patch_logger
    return if @logger_patched

    @logger_patched = true
    Kernel.send(:kindling_plain_require, File.join(RUNTIME_DIR, 'lambda_logger'))
  end

  def self.load_error_helpers
    return if @helpers_loaded

    @helpers_loaded = true
    %w[error_highlight did_you_mean].each do |helper| # the order of Ruby's own start-up
      require helper
    rescue LoadError
      nil
    end
  end

  # A Runtime API client on one kept-alive HTTP/1.1 connection. A plain socket rather than net/http,
  # whose loading alone costs about 20 ms of each cold start; the Runtime API always answers with a
  # Content-Length, so reading a reply is short.
  class RuntimeClient
    BASE = '/2018-06-01/runtime'

    def initialize(address)
      host, port = address.to_s.split(':', 2)
      @host = host
      @port = port.to_i
      @socket = nil
    end

    # [status, headers (lower-case names), body] of one request; reconnects once if the connection was lost
    def call(method, route, body = '', headers = {})
      attempts = 0
      begin
        attempts += 1
        socket = connected
        head = +"#{method} #{BASE}#{route} HTTP/1.1\r\nHost: #{@host}:#{@port}\r\n"
        headers.each { |name, value| head << "#{name}: #{value}\r\n" }
        head << "Content-Length: #{body.bytesize}\r\n\r\n"
        socket.write(head.b << body.b)
        read_reply(socket)
      rescue IOError, SystemCallError
        close
        raise if attempts > 1

        retry
      end
    end

    def post(route, body, headers = {})
      call('POST', route, body, headers)
    end

    private

    def connected
      @socket ||= TCPSocket.new(@host, @port).tap do |socket|
        socket.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_NODELAY, 1)
      end
    end

    def close
      @socket&.close
    rescue IOError
      nil
    ensure
      @socket = nil
    end

    def read_reply(socket)
      status_line = socket.gets("\r\n") or raise EOFError, 'the Runtime API closed the connection'
      headers = {}
      while (line = socket.gets("\r\n")) && line != "\r\n"
        name, value = line.split(':', 2)
        headers[name.strip.downcase] = value.to_s.strip
      end
      length = headers.fetch('content-length', '0').to_i
      body = length.positive? ? socket.read(length) : +''
      raise EOFError, 'the Runtime API closed the connection' if body.nil? || body.bytesize < length

      close if headers['connection'] == 'close'
      [status_line.split(' ', 3)[1].to_i, headers, body.force_encoding(Encoding::UTF_8)]
    end
  end

  # What a handler receives as `context:`, with the methods of AWS's LambdaContext
  class LambdaContext
    attr_reader :aws_request_id, :invoked_function_arn, :log_group_name, :log_stream_name, :function_name,
                :memory_limit_in_mb, :function_version, :identity, :client_context, :deadline_ms

    def initialize(headers)
      @deadline_ms = headers['lambda-runtime-deadline-ms'].to_i
      @aws_request_id = headers['lambda-runtime-aws-request-id']
      @invoked_function_arn = headers['lambda-runtime-invoked-function-arn']
      @log_group_name = ENV['AWS_LAMBDA_LOG_GROUP_NAME']
      @log_stream_name = ENV['AWS_LAMBDA_LOG_STREAM_NAME']
      @function_name = ENV['AWS_LAMBDA_FUNCTION_NAME']
      @memory_limit_in_mb = ENV['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']
      @function_version = ENV['AWS_LAMBDA_FUNCTION_VERSION']
      identity = headers['lambda-runtime-cognito-identity']
      client_context = headers['lambda-runtime-client-context']
      @identity = JSON.parse(identity) if identity && !identity.empty?
      @client_context = JSON.parse(client_context) if client_context && !client_context.empty?
    end

    def get_remaining_time_in_millis
      remaining = @deadline_ms - Process.clock_gettime(Process::CLOCK_REALTIME, :millisecond)
      remaining.positive? ? remaining : 0
    end
  end

  # An error on its way to the Runtime API, in the shape of AWS's Ruby runtime
  class LambdaError
    # the classes whose name AWS's runtime passes on in the Lambda-Runtime-Function-Error-Type header
    PLAIN = %w[ArgumentError NoMethodError Exception StandardError NameError LoadError SystemExit
               SystemStackError].freeze

    def initialize(error, phase)
      @error = error
      @phase = phase # "Function" or "Init"
    end

    def header_type
      PLAIN.include?(@error.class.to_s) ? type : "#{@phase}<UserException>"
    end

    def type
      "#{@phase}<#{@error.class}>"
    end

    def to_h
      { errorMessage: message, errorType: type, stackTrace: trace }
    end

    private

    def message
      Kindling.load_error_helpers
      @error.message.to_s.encode('UTF-8', invalid: :replace, undef: :replace)
    rescue StandardError
      @error.class.to_s
    end

    # the user's frames: the runtime's own (below the handler, and its Kernel#require between a user's
    # require and RubyGems') are left out as AWS cuts its lib/ frames, and so are Ruby's <internal:...> ones
    def trace
      lines = (@error.backtrace || []).reject { |line| line.start_with?(RUNTIME_DIR, '<internal:') }
      lines.first(100)
    end
  end

  # The handler named by _HANDLER: `file.method` or `file.Module::Class.method`
  class Handler
    def initialize(spec, task_root)
      parts = spec.to_s.split('.')
      unless [2, 3].include?(parts.size)
        raise ArgumentError, "Invalid handler #{parts}, must be of form FILENAME.METHOD or FILENAME.CLASS.METHOD " \
                             'where FILENAME corresponds with an existing Ruby source file FILENAME.rb, CLASS is ' \
                             'an optional module/class namespace and METHOD is a callable method. If using ' \
                             'CLASS, METHOD must be a class-level method.'
      end
      @file = parts.first
      @owner = parts.size == 3 ? parts[1] : nil
      @method = parts.last
      @task_root = task_root
    end

    # the file from the task root even where a library of the same name is already loaded (json, ...)
    def load
      path = File.join(@task_root, "#{@file}.rb")
      File.file?(path) ? require(path) : require(@file)
    end

    def call(event, context)
      target = @owner ? Object.const_get(@owner) : TOPLEVEL_BINDING.receiver # top-level methods: main's
      unless target.respond_to?(@method, true)
        raise NoMethodError.new("undefined method `#{@method}' for #{target.inspect}:#{target.class}", @method)
      end
      target.__send__(@method, event: event, context: context)
    end
  end

  # The invoke loop
  class Runner
    def initialize(client)
      @client = client
      @handler = nil
    end

    def init(spec, task_root)
      @handler = Handler.new(spec, task_root)
      @handler.load
    rescue Exception => e # SyntaxError, LoadError: anything at init
      error = LambdaError.new(e, 'Init')
      log("Init error when loading handler #{ENV['_HANDLER']}", error)
      @client.post('/init/error', JSON.generate(error.to_h),
                   'Content-Type' => 'application/json', 'Lambda-Runtime-Function-Error-Type' => error.header_type)
      exit!(252)
    end

    def serve
      loop do
        _, headers, body = next_invocation
        request_id = headers['lambda-runtime-aws-request-id']
        $_global_aws_request_id = request_id # AWS's runtime sets it too
        trace = headers['lambda-runtime-trace-id']
        trace ? ENV['_X_AMZN_TRACE_ID'] = trace : ENV.delete('_X_AMZN_TRACE_ID')
        invoke(request_id, headers, body)
      end
    end

    private

    def next_invocation
      @client.call('GET', '/invocation/next')
    rescue SignalException
      exit!(0) # shut down while waiting for work: quietly, as AWS's runtime does
    end

    def invoke(request_id, headers, body)
      event = body.empty? ? {} : JSON.parse(body)
      result = @handler.call(event, LambdaContext.new(headers))
      payload, type = marshal(result)
      @client.post("/invocation/#{request_id}/response", payload, 'Content-Type' => type)
    rescue StandardError => e
      fail_invocation(request_id, e, fatal: e.is_a?(NameError)) # NoMethodError is a NameError
    rescue Exception => e # exit, raise Exception...: posted, then the process ends
      fail_invocation(request_id, e, fatal: true)
    end

    def marshal(result)
      return [result.read.to_s, 'application/unknown'] if result.is_a?(IO) || result.is_a?(StringIO)

      [result.to_json, 'application/json']
    end

    def fail_invocation(request_id, exception, fatal:)
      error = LambdaError.new(exception, 'Function')
      log(fatal ? 'Critical exception from handler' : 'Error raised from handler method', error)
      @client.post("/invocation/#{request_id}/error", JSON.generate(error.to_h),
                   'Content-Type' => 'application/json', 'Lambda-Runtime-Function-Error-Type' => error.header_type)
      exit!(255) if fatal
    end

    def log(message, error)
      $stdout.write("#{message}\n#{JSON.pretty_generate(error.to_h)}\n")
    end
  end
end

unless defined?(::Gem)
  Object.autoload(:Gem, 'rubygems')

  # Kernel#require and Kernel#gem load RubyGems the first time they need it (see Kindling.load_gems);
  # require also gives Logger Lambda's format once it is loaded
  module Kernel
    alias_method :kindling_plain_require, :require
    private :kindling_plain_require

    private

    def require(path)
      loaded = kindling_plain_require(path)
      Kindling.patch_logger if loaded && defined?(::Logger::Formatter)
      loaded
    rescue LoadError
      raise if Kindling.gems_loaded?

      Kindling.load_gems
      require(path) # RubyGems' own require now
    end

    def gem(*args, **options)
      Kindling.load_gems
      gem(*args, **options) # RubyGems' own gem now
    end
  end
end

task_root = ENV.fetch('LAMBDA_TASK_ROOT', Dir.pwd)
$LOAD_PATH.unshift(task_root) unless $LOAD_PATH.include?(task_root) # RUBYLIB has it, but not on every backend
runner = Kindling::Runner.new(Kindling::RuntimeClient.new(ENV.fetch('AWS_LAMBDA_RUNTIME_API')))
runner.init(ENV['_HANDLER'], task_root)
runner.serve
