/**
 * The live header: `12/50 done · 3 running · 5 built · 2 restored · 40 up to date · 1 failed · 12.3s · ETA 40s`.
 * Zero counts are left out to keep it short; it never wraps (Ink truncates the end).
 *
 * The ETA walks the whole plan (a few milliseconds for 10,000 targets), more than the rest of
 * a frame; it is worked out again at most every ETA_REFRESH_MS (and for each new build). In
 * between, the last value is shown: counting it down instead would be wrong whenever the
 * longest remaining chain has not started yet.
 */
import { Text } from "ink";
import { Fragment, useRef, type ReactNode } from "react";
import { computeEta } from "../../eta.ts";
import { formatDuration } from "../../format.ts";
import { elapsedMs, type BuildView } from "../../view-model.ts";
import { Styled } from "./Styled.tsx";

/** Props of Header. */
export interface HeaderProps {
  view: BuildView;
  now: number;
}

/** How often the ETA is worked out again (ms of the injected clock). */
export const ETA_REFRESH_MS = 500;

/** One line of counts, elapsed time and ETA. */
export function Header({ view, now }: HeaderProps) {
  const eta = useRef<{ at: number; startedAt?: number; etaMs?: number; guessed?: boolean; overrun?: boolean }>(undefined);
  // A new build, a clock that went back, or time to refresh.
  const c = view.counts;
  const parts: ReactNode[] = [
    <Styled bold>{`${view.done}/${view.total} done`}</Styled>,
    `${view.running.length} running`,
  ];
  if (c.built > 0) parts.push(<Styled color="green">{`${c.built} built`}</Styled>);
  if (c.restored > 0) parts.push(<Styled color="cyan">{`${c.restored} restored`}</Styled>);
  if (c["up-to-date"] > 0) parts.push(`${c["up-to-date"]} up to date`);
  if (c.failed > 0) parts.push(<Styled color="red" bold>{`${c.failed} failed`}</Styled>);
  if (c.skipped > 0) parts.push(<Styled color="yellow">{`${c.skipped} skipped`}</Styled>);
  parts.push(formatDuration(elapsedMs(view, now)));
  if (view.interrupting) {
    parts.push(<Styled color="yellow">interrupting…</Styled>);
  } else {
    const last = eta.current;
    if (last === undefined || last.startedAt !== view.startedAt || now < last.at || now - last.at >= ETA_REFRESH_MS) {
      const e = computeEta(view, now);
      eta.current = { at: now, startedAt: view.startedAt, etaMs: e?.etaMs, guessed: e?.guessed, overrun: e?.overrun };
    }
    const { etaMs, guessed, overrun } = eta.current!;
    if (etaMs !== undefined) parts.push(<Styled dim>{`ETA ${overrun ? "?" : `${guessed ? "~" : ""}${etaMs < 1000 ? "<1s" : formatDuration(etaMs)}`}`}</Styled>);
  }
  return (
    <Text wrap="truncate-end">
      {parts.map((p, i) => (
        <Fragment key={i}>
          {i > 0 ? " · " : ""}
          {p}
        </Fragment>
      ))}
    </Text>
  );
}
