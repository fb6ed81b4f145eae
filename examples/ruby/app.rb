# A Ruby function for the ruby3.x runtimes: `app.handler`.
require 'json'

def handler(event:, context:)
  name = event.fetch('name', 'world')
  puts "greeting #{name}"
  raise ArgumentError, "asked to fail for #{name}" if event['fail']

  { 'greeting' => "hello #{name} from Ruby #{RUBY_VERSION}", 'requestId' => context.aws_request_id,
    'remainingMs' => context.get_remaining_time_in_millis }
end
