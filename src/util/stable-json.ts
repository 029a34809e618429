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

export function stableStringify(value: unknown, path = "value"): string {
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
