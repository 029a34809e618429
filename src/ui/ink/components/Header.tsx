/**
 * The live header: `12/50 done · 3 running · 5 built · 2 restored · 40 up to date · 1 failed · 12.3s · ETA 40s`.
 * Zero counts are left out to keep it short; it never wraps (Ink truncates the end).
 */
import { Text } from "ink";
import { Fragment, type ReactNode } from "react";
import { computeEta } from "../../eta.ts";
import { formatDuration } from "../../format.ts";
import { elapsedMs, type BuildView } from "../../view-model.ts";
import { Styled } from "./Styled.tsx";

/** Props of Header. */
export interface HeaderProps {
  view: BuildView;
  now: number;
}

/** One line of counts, elapsed time and ETA. */
export function Header({ view, now }: HeaderProps) {
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
    const eta = computeEta(view, now);
    if (eta !== undefined) parts.push(<Styled dim>{`ETA ${eta.etaMs < 1000 ? "<1s" : formatDuration(eta.etaMs)}`}</Styled>);
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
