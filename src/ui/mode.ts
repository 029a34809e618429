/**
 * Choosing the reporter, kept apart from the reporters themselves so that the no-op fast path
 * can decide without loading them.
 */

/** Which reporter renders the events. */
export type ReporterMode = "ink" | "plain" | "json";

/** Environment facts `pickMode` needs; the CLI passes `process.stdout.isTTY` and `process.env`. */
export interface ModeInputs {
  isTTY: boolean | undefined;
  env: Record<string, string | undefined>;
  /** `--json` was given. */
  json: boolean;
  /**
   * The terminal's width (`process.stdout.columns`). 0 means a terminal that reports no size
   * (`script`, some container consoles): Ink would wrap every character onto a line of its own
   * and clear the screen on each frame, so such a terminal gets plain lines.
   */
  columns?: number;
}

/**
 * Whether the environment is CI, by the same rule as Ink's `is-in-ci` (read when Ink is first
 * imported): `CI` or `CONTINUOUS_INTEGRATION` set to anything but "false" or "0" (even empty).
 * Ink in CI mode prints only its final frame, so we never pick Ink there.
 */
export function isCi(env: Record<string, string | undefined>): boolean {
  const set = (k: string): boolean => k in env && env[k] !== undefined && env[k] !== "0" && env[k] !== "false";
  return set("CI") || set("CONTINUOUS_INTEGRATION");
}

/** `json` with --json; `ink` on a TTY of known size outside CI (and not TERM=dumb); otherwise `plain`. */
export function pickMode(inputs: ModeInputs): ReporterMode {
  if (inputs.json) return "json";
  if (inputs.isTTY === true && inputs.columns !== 0 && !isCi(inputs.env) && inputs.env.TERM !== "dumb") return "ink";
  return "plain";
}
