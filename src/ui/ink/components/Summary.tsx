/**
 * The end-of-build summary, printed once above the live area:
 *
 *   ✔ ok: 3 built, 2 restored, 45 up to date in 12.3s
 *     critical path 10.1s: prepare 1.0s → words 2.0s → trend 7.1s
 *
 * A failed build lists the first failed targets with their log paths (the failure blocks may
 * have scrolled far up by then), and how many more failed and where their logs are:
 *
 *   ✖ FAILED: 1000 up to date, 1000 failed, 1 skipped in 1.0s
 *     failed: part1  log: .pipe/logs/part1-1a2b3c.log
 *     …
 *     … and 990 more failed (logs in .pipe/logs/)
 */
import { Box, Text } from "ink";
import { formatCriticalPath, formatFailureLogs, formatSummaryHeadline, truncateMiddle } from "../../format.ts";
import type { SummaryView } from "../../view-model.ts";
import { Styled } from "./Styled.tsx";

/** Props of Summary. */
export interface SummaryProps {
  summary: SummaryView;
  columns: number;
}

const MAX_LISTED_FAILURES = 10;

/** Counts, total time, critical path and failed targets of a finished build. */
export function Summary({ summary, columns }: SummaryProps) {
  const headline = formatSummaryHeadline(summary);
  const path = formatCriticalPath(summary.criticalPath, {
    durations: new Map(Object.entries(summary.durations)),
    arrow: " → ",
    maxWidth: Math.max(20, columns - 3),
  });
  const symbol = summary.interrupted ? "■" : summary.ok ? "✔" : "✖";
  const color = summary.ok ? "green" : summary.interrupted ? "yellow" : "red";
  const listed = summary.failures.slice(0, MAX_LISTED_FAILURES);
  const unlisted = summary.failures.length - listed.length;
  const logs = unlisted > 0 ? formatFailureLogs(summary.failures.slice(listed.length)) : undefined;
  return (
    <Box flexDirection="column">
      <Text>
        <Styled color={color} bold>{`${symbol} ${headline}`}</Styled>
      </Text>
      {path ? <Text wrap="truncate-end">{`  ${path}`}</Text> : null}
      {listed.map((f) => (
        <Text key={f.id} wrap="truncate-end">
          {"  "}
          <Styled color="red">failed:</Styled> {truncateMiddle(f.id, Math.max(8, Math.floor(columns / 2)))}
          {f.logPath ? <Styled dim>{`  log: ${f.logPath}`}</Styled> : null}
        </Text>
      ))}
      {unlisted > 0 ? <Text wrap="truncate-end">{`  … and ${unlisted} more failed${logs ? ` (${logs})` : ""}`}</Text> : null}
    </Box>
  );
}
