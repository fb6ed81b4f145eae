package kindling;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Just enough JSON for events and results, on the standard library: parsing to maps, lists, strings,
 * numbers, booleans and null; writing those plus arrays and plain objects (public fields and getters),
 * and filling plain objects' public fields or setters from a parsed map.
 */
final class Json {
    private final String text;
    private int at;

    private Json(String text) {
        this.text = text;
    }

    static Object parse(String text) {
        Json json = new Json(text);
        Object value = json.value();
        json.space();
        if (json.at != text.length()) throw json.error("trailing characters");
        return value;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("Invalid JSON at " + at + ": " + what);
    }

    private void space() {
        while (at < text.length() && Character.isWhitespace(text.charAt(at))) at++;
    }

    private Object value() {
        space();
        if (at >= text.length()) throw error("unexpected end");
        char c = text.charAt(at);
        if (c == '{') return object();
        if (c == '[') return array();
        if (c == '"') return string();
        if (text.startsWith("true", at)) { at += 4; return Boolean.TRUE; }
        if (text.startsWith("false", at)) { at += 5; return Boolean.FALSE; }
        if (text.startsWith("null", at)) { at += 4; return null; }
        return number();
    }

    private Map<String, Object> object() {
        Map<String, Object> map = new LinkedHashMap<>();
        at++;
        space();
        if (text.charAt(at) == '}') { at++; return map; }
        while (true) {
            space();
            String key = string();
            space();
            if (text.charAt(at++) != ':') throw error("expected ':'");
            map.put(key, value());
            space();
            char c = text.charAt(at++);
            if (c == '}') return map;
            if (c != ',') throw error("expected ',' or '}'");
        }
    }

    private List<Object> array() {
        List<Object> list = new ArrayList<>();
        at++;
        space();
        if (text.charAt(at) == ']') { at++; return list; }
        while (true) {
            list.add(value());
            space();
            char c = text.charAt(at++);
            if (c == ']') return list;
            if (c != ',') throw error("expected ',' or ']'");
        }
    }

    private String string() {
        if (text.charAt(at) != '"') throw error("expected a string");
        StringBuilder out = new StringBuilder();
        at++;
        while (true) {
            char c = text.charAt(at++);
            if (c == '"') return out.toString();
            if (c != '\\') { out.append(c); continue; }
            char e = text.charAt(at++);
            switch (e) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'u' -> { out.append((char) Integer.parseInt(text.substring(at, at + 4), 16)); at += 4; }
                default -> out.append(e);
            }
        }
    }

    private Number number() {
        int start = at;
        while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) at++;
        String raw = text.substring(start, at);
        if (raw.isEmpty()) throw error("unexpected character");
        if (raw.contains(".") || raw.contains("e") || raw.contains("E")) return Double.parseDouble(raw);
        long value = Long.parseLong(raw);
        return value == (int) value ? (Number) (int) value : (Number) value;
    }

    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out);
        return out.toString();
    }

    private static void write(Object value, StringBuilder out) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof String || value instanceof Character || value instanceof Enum) {
            quote(value.toString(), out);
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else if (value instanceof Map<?, ?> map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!first) out.append(',');
                first = false;
                quote(String.valueOf(entry.getKey()), out);
                out.append(':');
                write(entry.getValue(), out);
            }
            out.append('}');
        } else if (value instanceof Collection<?> items) {
            writeAll(items.toArray(), out);
        } else if (value instanceof Object[] items) {
            writeAll(items, out);
        } else {
            write(properties(value), out);
        }
    }

    private static void writeAll(Object[] items, StringBuilder out) {
        out.append('[');
        for (int i = 0; i < items.length; i++) {
            if (i > 0) out.append(',');
            write(items[i], out);
        }
        out.append(']');
    }

    private static void quote(String text, StringBuilder out) {
        out.append('"');
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }

    /** A plain object as a map: public fields, then public getters (getX / isX), as Jackson would see it. */
    private static Map<String, Object> properties(Object value) {
        Map<String, Object> map = new LinkedHashMap<>();
        try {
            for (Field field : value.getClass().getFields()) {
                if (!Modifier.isStatic(field.getModifiers())) map.put(field.getName(), field.get(value));
            }
            for (Method method : value.getClass().getMethods()) {
                String name = method.getName();
                if (method.getParameterCount() != 0 || method.getDeclaringClass() == Object.class) continue;
                int skip = name.startsWith("get") ? 3 : name.startsWith("is") ? 2 : 0;
                if (skip == 0 || name.length() == skip) continue;
                map.put(Character.toLowerCase(name.charAt(skip)) + name.substring(skip + 1), method.invoke(value));
            }
        } catch (ReflectiveOperationException error) {
            throw new IllegalStateException(error);
        }
        return map;
    }

    /** The parsed event as the handler's parameter type: JSON types as they are, plain objects filled in. */
    static Object convert(Object parsed, Class<?> type) throws ReflectiveOperationException {
        if (parsed == null || type.isInstance(parsed) || type == Object.class) return parsed;
        if (type == String.class) return write(parsed);
        if (parsed instanceof Number number) {
            if (type == int.class || type == Integer.class) return number.intValue();
            if (type == long.class || type == Long.class) return number.longValue();
            if (type == double.class || type == Double.class) return number.doubleValue();
        }
        if (!(parsed instanceof Map<?, ?> map)) throw new IllegalArgumentException("Cannot convert to " + type.getName());
        Object target = type.getDeclaredConstructor().newInstance();
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            String key = String.valueOf(entry.getKey());
            try {
                Field field = type.getField(key);
                field.set(target, convert(entry.getValue(), field.getType()));
                continue;
            } catch (NoSuchFieldException ignored) {
                // a setter, then
            }
            String setter = "set" + Character.toUpperCase(key.charAt(0)) + key.substring(1);
            for (Method method : type.getMethods()) {
                if (method.getName().equals(setter) && method.getParameterCount() == 1) {
                    method.invoke(target, convert(entry.getValue(), method.getParameterTypes()[0]));
                }
            }
        }
        return target;
    }
}
