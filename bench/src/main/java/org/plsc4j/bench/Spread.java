package org.plsc4j.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * The median of a bench's repeated measurements with their spread (min, max, quartiles, count), the
 * shape every {@code --json} reports next to a figure: one number without its spread cannot tell a
 * real difference from the machine's noise.
 *
 * <p>Quartiles interpolate linearly between order statistics (numpy's default), so they read the same
 * as a reader's own {@code numpy.percentile} of the published {@code *_all} lists.
 *
 * @param median the median
 * @param min the smallest value
 * @param max the largest value
 * @param q1 the first quartile
 * @param q3 the third quartile
 * @param n how many values
 */
@JsonPropertyOrder({"median", "min", "max", "q1", "q3", "n"})
record Spread(@JsonProperty("median") double median, @JsonProperty("min") double min,
              @JsonProperty("max") double max, @JsonProperty("q1") double q1, @JsonProperty("q3") double q3,
              @JsonProperty("n") int n) {

    /** The spread of {@code values} (at least one), unrounded. */
    static Spread of(double[] values) {
        return new Spread(Stats.median(values), Stats.min(values), Stats.max(values),
                Stats.quantile(values, 0.25), Stats.quantile(values, 0.75), values.length);
    }

    /** The spread of {@code values}, each figure rounded to {@code digits} decimals. */
    static Spread of(double[] values, int digits) {
        Spread s = of(values);
        return new Spread(Stats.round(s.median, digits), Stats.round(s.min, digits), Stats.round(s.max, digits),
                Stats.round(s.q1, digits), Stats.round(s.q3, digits), s.n);
    }

    /** The spread of {@code values}, rounded to {@code digits} decimals. */
    static Spread of(List<Double> values, int digits) {
        return of(values.stream().mapToDouble(Double::doubleValue).toArray(), digits);
    }

    /** The interquartile range q3 − q1. */
    double iqr() {
        return q3 - q1;
    }

    /** (max − min) / median: one number for "how noisy" ({@code bench backbone}'s {@code *_spread}). */
    double relative() {
        return median == 0 ? Double.NaN : (max - min) / median;
    }
}
