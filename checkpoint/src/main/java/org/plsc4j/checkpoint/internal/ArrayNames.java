package org.plsc4j.checkpoint.internal;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Maps array names (backbone parameters like {@code "layer1.0/conv1:weight"}) to safe, unique file
 * names; the manifest records the mapping, so the names themselves never have to be file names.
 */
public final class ArrayNames {

    private ArrayNames() {
    }

    /**
     * name → {@code <subdir>/<safe>.npy} for every name, in sorted name order: characters outside
     * {@code [A-Za-z0-9._-]} become '_', a leading '.' becomes '_', and names that collide (ignoring case,
     * for case-insensitive file systems) get {@code -2}, {@code -3}, ... appended.
     */
    public static Map<String, String> files(String subdir, Set<String> names) {
        Map<String, String> out = new LinkedHashMap<>();
        Set<String> taken = new HashSet<>();
        for (String name : new TreeSet<>(names)) {
            if (name.isEmpty()) {
                throw new IllegalArgumentException(subdir + " array name : \"\" (expected: a non-empty name)");
            }
            StringBuilder sb = new StringBuilder(name.length());
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || c == '.' || c == '_' || c == '-';
                sb.append(ok && !(i == 0 && c == '.') ? c : '_');
            }
            String base = sb.length() > 120 ? sb.substring(0, 120) : sb.toString();
            String candidate = base;
            for (int k = 2; !taken.add(candidate.toLowerCase(Locale.ROOT)); k++) {
                candidate = base + "-" + k;
            }
            out.put(name, subdir + "/" + candidate + ".npy");
        }
        return out;
    }
}
