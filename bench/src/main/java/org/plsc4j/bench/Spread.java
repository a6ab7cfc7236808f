package org.plsc4j.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * The median of a bench's repeated measurements with their spread (min, max, quartiles, count), the
 * shape every {@code --json} reports next to a figure: one number without its spread cannot tell a
 * real difference from the machine's noise.
 *
 * @param median the median
 * @param min the smallest value
 * @param max the largest value
 * @param q1 the first quartile (linear interpolation)
 * @param q3 the third quartile
 * @param n how many values
 */
@JsonPropertyOrder({"median", "min", "max", "q1", "q3", "n"})
record Spread(@JsonProperty("median") double median, @JsonProperty("min") double min,
              @JsonProperty("max") double max, @JsonProperty("q1") double q1, @JsonProperty("q3") double q3,
              @JsonProperty("n") int n) {

    /** The spread of {@code values}, each figure rounded to {@code digits} decimals. */
    static Spread of(double[] values, int digits) {
        return new Spread(Stats.round(Stats.median(values), digits), Stats.round(Stats.min(values), digits),
                Stats.round(Stats.max(values), digits), Stats.round(Stats.quantile(values, 0.25), digits),
                Stats.round(Stats.quantile(values, 0.75), digits), values.length);
    }

    /** The spread of {@code values}, rounded to {@code digits} decimals. */
    static Spread of(List<Double> values, int digits) {
        return of(values.stream().mapToDouble(Double::doubleValue).toArray(), digits);
    }

    /** (max − min) / median: one number for "how noisy". */
    double relative() {
        return median == 0 ? Double.NaN : (max - min) / median;
    }
}
