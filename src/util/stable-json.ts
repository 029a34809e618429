/**
 * Canonical JSON: object keys sorted, no whitespace, `-0` written as `0`. Equal values give equal
 * strings whatever the key insertion order, so fingerprints are a string compare.
 * Values that have no deterministic meaning (functions, symbols, bigints, non-finite numbers,
 * cycles, class instances other than Date) are rejected with the path to the bad value.
 */
export class NotSerializableError extends Error {
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path} is not serializable/deterministic (${kind})`);
  }
}

/** Thrown by the fast walk at anything unusual: the careful walk then answers (or names the problem). */
const UNUSUAL = Symbol("unusual");
/** Deeper than this, the fast walk stops: a cycle, or a value the careful walk should see. */
const FAST_DEPTH = 64;

/**
 * The same text as the careful walk for plain data (strings, finite numbers, booleans, null,
 * arrays, plain objects), without the paths and the cycle set it keeps for its messages: every
 * target's fingerprint goes through here (a third of the time to evaluate one).
 */
function fast(v: unknown, depth: number): string {
  if (v === null || v === undefined) return "null";
  if (typeof v !== "object") {
    // A string, a boolean or a finite number; anything else is the careful walk's to name.
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number" && Number.isFinite(v)) return Object.is(v, -0) ? "0" : JSON.stringify(v);
    throw UNUSUAL;
  }
  if (depth > FAST_DEPTH) throw UNUSUAL;
  if (Array.isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++) out += (i ? "," : "") + fast(v[i], depth + 1);
    return out + "]";
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw UNUSUAL;
  const keys = Object.keys(v).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) out += (i ? "," : "") + JSON.stringify(keys[i]) + ":" + fast((v as Record<string, unknown>)[keys[i]], depth + 1);
  return out + "}";
}

export function stableStringify(value: unknown, path = "value"): string {
  try {
    return fast(value, 0);
  } catch (e) {
    if (e !== UNUSUAL) throw e;
  }
  return careful(value, path);
}

/** The walk that knows where it is: its text for a Date or deep data, its error for the rest. */
function careful(value: unknown, path: string): string {
  const seen = new Set<object>();
  const walk = (v: unknown, p: string): string => {
    if (v === null) return "null";
    switch (typeof v) {
      case "string":
        return JSON.stringify(v);
      case "boolean":
        return v ? "true" : "false";
      case "number":
        if (!Number.isFinite(v)) throw new NotSerializableError(p, String(v));
        return Object.is(v, -0) ? "0" : JSON.stringify(v);
      case "undefined":
        return "null";
      case "bigint":
        throw new NotSerializableError(p, "BigInt");
      case "symbol":
        throw new NotSerializableError(p, "Symbol");
      case "function":
        throw new NotSerializableError(p, "function");
    }
    const obj = v as object;
    if (obj instanceof Date) return JSON.stringify(obj.toISOString());
    if (seen.has(obj)) throw new NotSerializableError(p, "cycle");
    seen.add(obj);
    let out: string;
    if (Array.isArray(obj)) {
      out = "[" + obj.map((x, i) => walk(x, `${p}[${i}]`)).join(",") + "]";
    } else {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) throw new NotSerializableError(p, proto?.constructor?.name ?? "object");
      const keys = Object.keys(obj).sort();
      out = "{" + keys.map((k) => JSON.stringify(k) + ":" + walk((obj as Record<string, unknown>)[k], `${p}.${k}`)).join(",") + "}";
    }
    seen.delete(obj);
    return out;
  };
  return walk(value, path);
}
