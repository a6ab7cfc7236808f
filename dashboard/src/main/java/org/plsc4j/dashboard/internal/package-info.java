/** The dashboard's HTTP routes, job views and the metrics.jsonl reader. */
package org.plsc4j.dashboard.internal;
