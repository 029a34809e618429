/** The signals that interrupt pipe (exit code 130): each one stops a build the same way. */
export const INTERRUPT_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
