package kindling;

import com.amazonaws.services.lambda.runtime.Client;
import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Kindling's Java runtime: loads {@code package.Class::method} from /var/task (classes and lib/*.jar)
 * and the layers' /opt/java/lib, and serves invocations over the Lambda Runtime API. Standard
 * library only; the aws-lambda-java-core interfaces handlers compile against are provided beside it.
 * Handlers take (input, Context), (input) or (InputStream, OutputStream, Context); inputs are JSON
 * types (Map, List, String, numbers) or plain objects; errors are Lambda's Java shape.
 */
public final class Bootstrap {
    private static final String BASE = "/2018-06-01/runtime/";
    private static RuntimeClient API;

    public static void main(String[] args) throws Exception {
        if (System.getenv("KINDLING_PRESTARTED") != null) {
            rehearse();
            Prestart.claim();
        }
        API = new RuntimeClient(System.getenv("AWS_LAMBDA_RUNTIME_API"));
        Method method;
        Object instance;
        try {
            String handler = System.getenv("_HANDLER");
            String[] parts = handler.split("::", 2);
            Class<?> type = Class.forName(parts[0], true, loader());
            method = find(type, parts.length > 1 ? parts[1] : "handleRequest");
            instance = Modifier.isStatic(method.getModifiers()) ? null : type.getDeclaredConstructor().newInstance();
        } catch (Throwable error) {
            Throwable cause = unwrap(error);
            System.err.println(stackText(cause));
            post("init/error", shape(cause), cause.getClass().getName());
            System.exit(1);
            return;
        }
        while (true) {
            RuntimeClient.Reply next = API.request("GET", BASE + "invocation/next", null, Map.of());
            byte[] event = next.body;
            String requestId = next.header("Lambda-Runtime-Aws-Request-Id");
            Context context = context(next);
            try {
                byte[] result = run(method, instance, event, context);
                post("invocation/" + requestId + "/response", result, null);
            } catch (Throwable error) {
                Throwable cause = unwrap(error);
                System.err.println(stackText(cause));
                post("invocation/" + requestId + "/error", shape(cause), cause.getClass().getName());
            }
        }
    }

    /** What a pre-started JVM does while it waits: a cold start's code, run once on a stand-in handler, so
     * that its classes are loaded and linked before the function's own start needs them. */
    private static void rehearse() {
        try {
            Class<?> type = Class.forName(Rehearsal.class.getName(), true, loader());
            Method method = find(type, "handleRequest");
            Object instance = type.getDeclaredConstructor().newInstance();
            Map<String, String> headers = Map.of(
                    "lambda-runtime-aws-request-id", "-", "lambda-runtime-deadline-ms", "0",
                    "lambda-runtime-invoked-function-arn", "-");
            byte[] event = "{\"k\": [1, 2.5, true, null, \"s\"]}".getBytes(StandardCharsets.UTF_8);
            RuntimeClient.Reply reply = new RuntimeClient.Reply(200, headers, event);
            run(method, instance, reply.body, context(reply));
            shape(new IllegalStateException("-"));
            rehearseRuntimeApi();
        } catch (Throwable ignored) {
            // a rehearsal only: the real start reports its own errors
        }
    }

    /** One exchange of the Runtime API client with a stand-in on loopback: the socket classes load here. */
    private static void rehearseRuntimeApi() throws IOException {
        try (java.net.ServerSocket standIn = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread answer = new Thread(() -> {
                try (java.net.Socket peer = standIn.accept()) {
                    peer.getInputStream().read(new byte[4096]);
                    peer.getOutputStream().write(
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".getBytes(StandardCharsets.ISO_8859_1));
                } catch (IOException ignored) {
                    // the rehearsal's client gives up on its own
                }
            });
            answer.start();
            new RuntimeClient("127.0.0.1:" + standIn.getLocalPort()).request("GET", BASE + "invocation/next", null, Map.of());
            answer.join(1000);
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The stand-in handler of {@link #rehearse}. */
    public static final class Rehearsal {
        public Object handleRequest(Map<String, Object> event, Context context) {
            return event;
        }
    }

    private static ClassLoader loader() throws IOException {
        List<URL> urls = new ArrayList<>();
        String root = System.getenv().getOrDefault("LAMBDA_TASK_ROOT", "/var/task");
        urls.add(new File(root).toURI().toURL());
        for (String dir : new String[] {root + "/lib", "/opt/java/lib"}) {
            File[] jars = new File(dir).listFiles((d, name) -> name.endsWith(".jar"));
            if (jars != null) {
                Arrays.sort(jars);
                for (File jar : jars) urls.add(jar.toURI().toURL());
            }
        }
        return new URLClassLoader(urls.toArray(new URL[0]), Bootstrap.class.getClassLoader());
    }

    /** The handler method: a non-bridge public method of that name, the one with the most parameters. */
    private static Method find(Class<?> type, String name) throws NoSuchMethodException {
        Method best = null;
        for (Method method : type.getMethods()) {
            if (!method.getName().equals(name) || method.getParameterCount() > 3) continue;
            if (best == null || (best.isBridge() && !method.isBridge())
                    || (best.isBridge() == method.isBridge() && method.getParameterCount() > best.getParameterCount())) {
                best = method;
            }
        }
        if (best == null) {
            throw new NoSuchMethodException(
                    "No public method named " + name + " with appropriate method signature found on class " + type.getName());
        }
        return best;
    }

    private static byte[] run(Method method, Object instance, byte[] event, Context context) throws Exception {
        Class<?>[] types = method.getParameterTypes();
        if (types.length == 3 && types[0] == InputStream.class) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            method.invoke(instance, new ByteArrayInputStream(event), out, context);
            return out.toByteArray();
        }
        Object[] arguments = new Object[types.length];
        if (types.length > 0) {
            String text = new String(event, StandardCharsets.UTF_8);
            Object parsed = text.isBlank() ? null : Json.parse(text);
            arguments[0] = types[0] == String.class && parsed instanceof String ? parsed : Json.convert(parsed, types[0]);
        }
        if (types.length > 1) arguments[1] = context;
        Object result = method.invoke(instance, arguments);
        return Json.write(result).getBytes(StandardCharsets.UTF_8);
    }

    private static void post(String route, byte[] body, String errorType) throws IOException {
        Map<String, String> headers = errorType == null
                ? Map.of("Content-Type", "application/json")
                : Map.of("Content-Type", "application/json", "Lambda-Runtime-Function-Error-Type", errorType);
        API.request("POST", BASE + route, body, headers);
    }

    private static Throwable unwrap(Throwable error) {
        while ((error instanceof InvocationTargetException || error instanceof ExceptionInInitializerError)
                && error.getCause() != null) {
            error = error.getCause();
        }
        return error;
    }

    /** {errorMessage, errorType, stackTrace[, cause]}, as Lambda's Java runtime reports an exception. */
    private static Map<String, Object> shapeOf(Throwable error) {
        Map<String, Object> shape = new LinkedHashMap<>();
        shape.put("errorMessage", error.getMessage());
        shape.put("errorType", error.getClass().getName());
        List<String> frames = new ArrayList<>();
        for (StackTraceElement frame : error.getStackTrace()) {
            if (frame.getClassName().startsWith("kindling.") || frame.getClassName().startsWith("java.lang.reflect.")
                    || frame.getClassName().startsWith("jdk.internal.")) continue;
            frames.add(frame.toString());
        }
        shape.put("stackTrace", frames);
        if (error.getCause() != null && error.getCause() != error) shape.put("cause", shapeOf(error.getCause()));
        return shape;
    }

    private static byte[] shape(Throwable error) {
        return Json.write(shapeOf(error)).getBytes(StandardCharsets.UTF_8);
    }

    private static String stackText(Throwable error) {
        java.io.StringWriter text = new java.io.StringWriter();
        error.printStackTrace(new java.io.PrintWriter(text));
        return text.toString().replace("\n", "\r").strip();
    }

    private static Context context(RuntimeClient.Reply next) {
        String requestId = next.header("Lambda-Runtime-Aws-Request-Id");
        long deadline = Long.parseLong(next.header("Lambda-Runtime-Deadline-Ms"));
        String arn = next.header("Lambda-Runtime-Invoked-Function-Arn");
        Map<?, ?> identity = json(next.header("Lambda-Runtime-Cognito-Identity"));
        Map<?, ?> client = json(next.header("Lambda-Runtime-Client-Context"));
        Map<String, String> env = System.getenv();
        LambdaLogger logger = new LambdaLogger() {
            public void log(String message) {
                System.out.print(message);
                System.out.flush();
            }

            public void log(byte[] message) {
                log(new String(message, StandardCharsets.UTF_8));
            }
        };
        return new Context() {
            public String getAwsRequestId() { return requestId; }
            public String getLogGroupName() { return env.get("AWS_LAMBDA_LOG_GROUP_NAME"); }
            public String getLogStreamName() { return env.get("AWS_LAMBDA_LOG_STREAM_NAME"); }
            public String getFunctionName() { return env.get("AWS_LAMBDA_FUNCTION_NAME"); }
            public String getFunctionVersion() { return env.get("AWS_LAMBDA_FUNCTION_VERSION"); }
            public String getInvokedFunctionArn() { return arn; }
            public CognitoIdentity getIdentity() { return identity == null ? null : cognito(identity); }
            public ClientContext getClientContext() { return client == null ? null : clientContext(client); }
            public int getRemainingTimeInMillis() { return (int) Math.max(deadline - System.currentTimeMillis(), 0); }
            public int getMemoryLimitInMB() { return Integer.parseInt(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); }
            public LambdaLogger getLogger() { return logger; }
        };
    }

    private static Map<?, ?> json(String header) {
        return header == null || header.isEmpty() ? null : (Map<?, ?>) Json.parse(header);
    }

    private static CognitoIdentity cognito(Map<?, ?> data) {
        return new CognitoIdentity() {
            public String getIdentityId() { return (String) data.get("cognitoIdentityId"); }
            public String getIdentityPoolId() { return (String) data.get("cognitoIdentityPoolId"); }
        };
    }

    @SuppressWarnings("unchecked")
    private static ClientContext clientContext(Map<?, ?> data) {
        Map<?, ?> client = data.get("client") instanceof Map<?, ?> map ? map : Map.of();
        return new ClientContext() {
            public Client getClient() {
                return new Client() {
                    public String getInstallationId() { return (String) client.get("installation_id"); }
                    public String getAppTitle() { return (String) client.get("app_title"); }
                    public String getAppVersionName() { return (String) client.get("app_version_name"); }
                    public String getAppVersionCode() { return (String) client.get("app_version_code"); }
                    public String getAppPackageName() { return (String) client.get("app_package_name"); }
                };
            }
            public Map<String, String> getCustom() { return (Map<String, String>) data.get("custom"); }
            public Map<String, String> getEnvironment() { return (Map<String, String>) data.get("env"); }
        };
    }
}
