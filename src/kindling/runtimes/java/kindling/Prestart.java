package kindling;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A JVM started before its function exists (Kindling's sandbox/prestart.py): it waits for the claim, one
 * line of JSON on fd 3 naming the environment variables, by when the function's code is mounted at
 * /var/task. The JVM's view of the environment is made the function's, so System.getenv() and child
 * processes see it (the JVM is started with java.io and java.util opened to this code for that).
 */
final class Prestart {
    private Prestart() {}

    static void claim() throws IOException, ReflectiveOperationException {
        FileDescriptor descriptor = new FileDescriptor();
        Field fd = FileDescriptor.class.getDeclaredField("fd");
        fd.setAccessible(true);
        fd.setInt(descriptor, 3);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try (InputStream in = new FileInputStream(descriptor)) {
            for (int b = in.read(); b != '\n'; b = in.read()) {
                if (b < 0) throw new IOException("the sandbox was not claimed");
                line.write(b);
            }
        }
        Object claim = Json.parse(line.toString(StandardCharsets.UTF_8));
        Map<?, ?> env = (Map<?, ?>) ((Map<?, ?>) claim).get("env");
        Map<String, String> view = System.getenv();
        Field inner = view.getClass().getDeclaredField("m"); // Collections.UnmodifiableMap's map
        inner.setAccessible(true);
        @SuppressWarnings("unchecked")
        Map<String, String> modifiable = (Map<String, String>) inner.get(view);
        modifiable.clear();
        for (Map.Entry<?, ?> entry : env.entrySet()) modifiable.put((String) entry.getKey(), (String) entry.getValue());
    }
}
