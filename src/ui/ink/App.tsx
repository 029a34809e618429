/**
 * The live TTY view of a build. It renders a `BuildView` (see ../view-model.ts); it holds no
 * build state of its own, so tests render it with hand-made views and a fixed clock.
 *
 *   ✔ built prepare 1.0s · no record           ┐
 *   ✖ FAILED y (exit code 3) 0.8s              │ <Static>: printed once, scrolls up
 *     │ last log lines                         │
 *     log: .pipe/logs/y.log                    ┘
 *   12/50 done · 3 running · 5 built · 1 failed · 12.3s · ETA 40s    ┐
 *   ⠋ words          12.3s  [██████░░░░] 3/5                          │ live area, redrawn
 *   ⠙ trend[a=b]      2.0s                                            ┘
 *
 * When the build finishes, the live area shrinks to the summary (plus the watch idle line in
 * watch mode); the next build moves that summary up into the static part. Closing draws the
 * last frame without spinners, so what stays on screen is plain text.
 */
import { Box, Text } from "ink";
import { formatWatchIdle } from "../format.ts";
import type { BuildView } from "../view-model.ts";
import { ColorContext, Styled } from "./components/Styled.tsx";
import { Feed } from "./components/Feed.tsx";
import { Header } from "./components/Header.tsx";
import { RunningRows } from "./components/RunningRows.tsx";
import { Summary } from "./components/Summary.tsx";
import { useTerminalSize } from "./hooks/use-terminal-size.ts";
import { useTicker } from "./hooks/use-ticker.ts";

/** Props of App. */
export interface AppProps {
  view: BuildView;
  /** The injected clock (ms). */
  now: () => number;
  color: boolean;
  /** Width override; default: the output stream's columns. */
  columns?: number;
  /**
   * Redraw period for spinners and elapsed times; 0 disables the timer. Default 100 ms. The
   * reporter passes 0 and redraws on its own frame clock, so ticks and events share frames.
   */
  tickMs?: number;
  /** Running targets shown before "+N more running". Default 8; fewer on a short terminal. */
  maxRunningRows?: number;
  /** The reporter is closing: draw the final frame, without spinners. */
  closed?: boolean;
}

/** The whole live view: static feed above, header and running rows below. */
export function App({ view, now, color, columns: columnsOverride, tickMs = 100, maxRunningRows = 8, closed = false }: AppProps) {
  const { columns, rows } = useTerminalSize(columnsOverride);
  // Ink redraws the whole screen when the live area is taller than the terminal; keep it
  // shorter: header, hashing rows, "+N more" and a spare line besides the running rows.
  const fitRows = rows === undefined ? maxRunningRows : rows - 4 - Math.min(3, view.hashing.length);
  const runningRows = Math.max(1, Math.min(maxRunningRows, fitRows));
  const building = view.phase === "building";
  const animated = !closed && isAnimated(view);
  useTicker(tickMs, animated);
  const t = now();

  return (
    <ColorContext.Provider value={color}>
      <Feed log={view.feed} columns={columns} />
      {/* Without an override the live area takes Ink's own width (the terminal's, updated before
          Ink redraws on a resize): its redraw, which comes before this component sees the new
          size, is then already cut to the new width instead of wrapping (stale rows). */}
      <Box flexDirection="column" width={columnsOverride}>
        {!closed && view.lockWaiting ? (
          <Text wrap="truncate-end">
            <Styled color="yellow">waiting for lock</Styled>
            {` ${view.lockWaiting.lockPath} (held by ${view.lockWaiting.holder})`}
          </Text>
        ) : null}
        {!closed && building ? <Header view={view} now={t} /> : null}
        {animated ? (
          <RunningRows running={view.running} hashing={view.hashing} now={t} columns={columns} maxRows={runningRows} />
        ) : null}
        {closed && building ? <StoppedNote view={view} /> : null}
        {view.summary && !view.summaryPrinted && !building ? <Summary summary={view.summary} columns={columns} /> : null}
        {!closed && view.watch && !building ? (
          <Text wrap="truncate-end">
            <Styled dim>{`◌ ${formatWatchIdle(view.watch)}`}</Styled>
          </Text>
        ) : null}
      </Box>
    </ColorContext.Provider>
  );
}

/** Whether the live area moves with time (spinners, elapsed times) and needs redrawing while nothing happens. */
export function isAnimated(view: BuildView): boolean {
  return view.phase === "building" || view.hashing.length > 0 || view.lockWaiting !== undefined;
}

/** Final frame when the reporter closes before `build-finished` (a crash or a hard stop). */
function StoppedNote({ view }: { view: BuildView }) {
  if (view.phase !== "building") return null;
  const still = view.running.map((r) => r.id);
  const shown = still.slice(0, 5).join(", ") + (still.length > 5 ? `, +${still.length - 5} more` : "");
  return (
    <Text>
      <Styled color="yellow">{`stopped: ${view.done}/${view.total} done`}</Styled>
      {still.length > 0 ? `; were running: ${shown}` : ""}
    </Text>
  );
}
