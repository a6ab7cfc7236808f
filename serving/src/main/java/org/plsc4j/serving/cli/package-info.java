/** The {@code plsc4j serve} command. */
package org.plsc4j.serving.cli;
