// A Lambda function for the java17 runtime. Kindling provides aws-lambda-java-core's interfaces at run
// time; compile against that library (or Kindling's copy) and zip the classes:
//
//   javac -cp aws-lambda-java-core.jar -d build example/Hello.java && (cd build && zip -qr ../function.zip .)
//   aws lambda create-function --function-name hello-java --runtime java17 --handler example.Hello::handleRequest \
//       --role arn:aws:iam::000000000000:role/any --zip-file fileb://function.zip
package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.LinkedHashMap;
import java.util.Map;

public class Hello implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        if (event.containsKey("fail")) {
            throw new IllegalArgumentException("asked to fail");
        }
        Object name = event.getOrDefault("name", "world");
        context.getLogger().log("greeting " + name + "\n");
        Map<String, Object> reply = new LinkedHashMap<>();
        reply.put("greeting", "hello " + name + " from Java " + Runtime.version().feature());
        reply.put("requestId", context.getAwsRequestId());
        reply.put("function", context.getFunctionName());
        reply.put("memory", context.getMemoryLimitInMB());
        reply.put("remainingOk", context.getRemainingTimeInMillis() > 0);
        return reply;
    }
}
