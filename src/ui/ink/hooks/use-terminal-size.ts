/**
 * The terminal size to lay out for: `columns` is the explicit override, else the output
 * stream's `columns`, else 80; `rows` is the stream's `rows` (undefined when unknown). Both
 * follow resize events.
 */
import { useStdout } from "ink";
import { useEffect, useReducer } from "react";

/** Current terminal width (columns) and height (rows, when known). */
export function useTerminalSize(columnsOverride?: number): { columns: number; rows: number | undefined } {
  const { stdout } = useStdout();
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    stdout.on("resize", bump);
    return () => {
      stdout.off("resize", bump);
    };
  }, [stdout]);
  const c = stdout.columns;
  const columns = columnsOverride !== undefined && columnsOverride > 0 ? columnsOverride : typeof c === "number" && c > 0 ? c : 80;
  const r = stdout.rows;
  return { columns, rows: typeof r === "number" && r > 0 ? r : undefined };
}
