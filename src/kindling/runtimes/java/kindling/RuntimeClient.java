package kindling;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * HTTP/1.1 to the Runtime API over one kept-alive socket. HttpURLConnection costs a Java cold start about
 * 20 ms of class loading and every invoke its own overhead; the Runtime API's replies are always plain
 * (status, headers, Content-Length body), so this is all the client a runtime needs.
 */
final class RuntimeClient {
    static final class Reply {
        final int status;
        final Map<String, String> headers; // names lower-case
        final byte[] body;

        Reply(int status, Map<String, String> headers, byte[] body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }

        String header(String name) {
            return headers.get(name.toLowerCase());
        }
    }

    private final String host;
    private final int port;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    RuntimeClient(String address) {
        int colon = address.lastIndexOf(':');
        this.host = address.substring(0, colon);
        this.port = Integer.parseInt(address.substring(colon + 1));
    }

    Reply request(String method, String path, byte[] body, Map<String, String> headers) throws IOException {
        boolean reused = socket != null;
        try {
            return exchange(method, path, body, headers);
        } catch (IOException error) {
            close();
            if (!reused) throw error;
            return exchange(method, path, body, headers); // the kept-alive socket was closed: once more, anew
        }
    }

    private Reply exchange(String method, String path, byte[] body, Map<String, String> headers) throws IOException {
        if (socket == null) {
            socket = new Socket(host, port);
            socket.setTcpNoDelay(true);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
        }
        StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n");
        head.append("Host: ").append(host).append(':').append(port).append("\r\n");
        for (Map.Entry<String, String> header : headers.entrySet()) {
            head.append(header.getKey()).append(": ").append(header.getValue()).append("\r\n");
        }
        if (body != null) head.append("Content-Length: ").append(body.length).append("\r\n");
        head.append("\r\n");
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) out.write(body);
        out.flush();
        String status = line();
        Map<String, String> replyHeaders = new HashMap<>();
        for (String line = line(); !line.isEmpty(); line = line()) {
            int colon = line.indexOf(':');
            replyHeaders.put(line.substring(0, colon).trim().toLowerCase(), line.substring(colon + 1).trim());
        }
        byte[] replyBody = in.readNBytes(Integer.parseInt(replyHeaders.getOrDefault("content-length", "0")));
        if ("close".equalsIgnoreCase(replyHeaders.get("connection"))) close();
        return new Reply(Integer.parseInt(status.split(" ", 3)[1]), replyHeaders, replyBody);
    }

    private String line() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) throw new IOException("the Runtime API closed the connection");
            if (b != '\r') bytes.write(b);
        }
        return bytes.toString(StandardCharsets.ISO_8859_1);
    }

    private void close() {
        try {
            if (socket != null) socket.close();
        } catch (IOException ignored) {
            // closing a socket that failed: nothing left to do
        }
        socket = null;
    }
}
