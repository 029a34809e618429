/** Sizes as people write them (resources.mem, --mem). */
/** "4G", "512M", "1.5GiB", "800k", or a number of bytes; undefined when it is not a size. */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(v);
  if (!m) return undefined;
  const power = " kmgt".indexOf(m[2].toLowerCase() || " ");
  return Math.round(Number(m[1]) * 1024 ** power);
}
