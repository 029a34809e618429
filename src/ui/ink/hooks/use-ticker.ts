/**
 * Re-renders the component every `intervalMs` while `active`, so spinners and elapsed times
 * move. The timer is unref'd: the live view never keeps the process alive on its own.
 * `intervalMs` 0 disables ticking (tests render frames at chosen clock values instead).
 */
import { useEffect, useReducer } from "react";

/** Forces a re-render every `intervalMs` while `active`. */
export function useTicker(intervalMs: number, active: boolean): void {
  const [, tick] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (!active || intervalMs <= 0) return undefined;
    const id = setInterval(tick, intervalMs);
    id.unref?.();
    return () => clearInterval(id);
  }, [active, intervalMs]);
}
