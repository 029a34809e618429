/**
 * How one feed item looks once it scrolls above the live area:
 *
 *   ✔ built words 1.2s · input data/a.csv changed
 *   ↓ restored x 80ms · output cached
 *   ✖ FAILED y (exit code 3) 0.8s
 *     │ Traceback (most recent call last):
 *     │ ValueError: bad row 12
 *     log: .pipe/logs/y.log
 *   ✖ FAILED z (exit code 1) 0.2s · log: .pipe/logs/z.log    (after MAX_FAILURE_BLOCKS failures)
 *   - skipped z · dependency "y" failed
 *   [words] a verbose log line
 *   warning: …   error: …   changed: data/a.csv
 */
import { Box, Text } from "ink";
import { cleanLine, formatDuration, formatFailureCapNote, formatWatchChange, truncateMiddle } from "../../format.ts";
import { MAX_FAILURE_BLOCKS, type FeedItem, type FinishedView } from "../../view-model.ts";
import { Styled, type StyledProps } from "./Styled.tsx";
import { Summary } from "./Summary.tsx";

/** Props of FeedLine. */
export interface FeedLineProps {
  item: FeedItem;
  columns: number;
}

/** Renders one feed item (one line, or a block for failures and the summary). */
export function FeedLine({ item, columns }: FeedLineProps) {
  switch (item.kind) {
    case "finished":
      if (item.target.status === "failed" && (item.failureIndex ?? 0) > MAX_FAILURE_BLOCKS) {
        return <FailureLine target={item.target} columns={columns} first={item.failureIndex === MAX_FAILURE_BLOCKS + 1} />;
      }
      return item.target.status === "failed" ? (
        <FailureBlock target={item.target} columns={columns} />
      ) : (
        <FinishedLine target={item.target} columns={columns} />
      );
    case "log":
      return (
        <Text>
          <Styled dim>{`[${item.target}]`}</Styled> {cleanLine(item.line)}
        </Text>
      );
    case "warning":
      return (
        <Text>
          <Styled color="yellow">warning:</Styled> {item.target !== undefined ? `[${item.target}] ` : ""}
          {stripPrefix("warning", item.message)}
        </Text>
      );
    case "error":
      return (
        <Text>
          <Styled color="red" bold>
            error:
          </Styled>{" "}
          {stripPrefix("error", item.message)}
        </Text>
      );
    case "notice":
      return (
        <Text wrap="truncate-end">
          <Styled dim>{item.message}</Styled>
        </Text>
      );
    case "watch-change":
      return (
        <Text wrap="truncate-end">
          <Styled color="cyan">{formatWatchChange(item.paths)}</Styled>
        </Text>
      );
    case "summary":
      return <Summary summary={item.summary} columns={columns} />;
  }
}

function stripPrefix(prefix: string, message: string): string {
  const text = message.split("\n").map(cleanLine).join("\n");
  return text.toLowerCase().startsWith(`${prefix}:`) ? text.slice(prefix.length + 1).trimStart() : text;
}

const LOOK: Record<Exclude<FinishedView["status"], "failed">, { symbol: string; word: string; color: StyledProps["color"] }> = {
  built: { symbol: "✔", word: "built", color: "green" },
  restored: { symbol: "↓", word: "restored", color: "cyan" },
  "up-to-date": { symbol: "·", word: "up to date", color: "gray" },
  skipped: { symbol: "-", word: "skipped", color: "yellow" },
};

function FinishedLine({ target, columns }: { target: FinishedView; columns: number }) {
  const look = LOOK[target.status as keyof typeof LOOK];
  const duration = target.status === "built" || target.status === "restored" ? ` ${formatDuration(target.durationMs)}` : "";
  const fixed = look.symbol.length + 1 + look.word.length + 1 + duration.length;
  const id = truncateMiddle(target.id, Math.max(8, columns - 1 - fixed));
  const why = target.reason || (target.cause ? `${target.cause} failed` : "");
  return (
    <Text wrap="truncate-end">
      <Styled color={look.color}>{`${look.symbol} ${look.word}`}</Styled> {id}
      <Styled dim>{duration}</Styled>
      {why ? <Styled dim>{` · ${cleanLine(why)}`}</Styled> : null}
    </Text>
  );
}

/** A failure after the first MAX_FAILURE_BLOCKS: one line; the first of them is preceded by a note saying so. */
function FailureLine({ target, columns, first }: { target: FinishedView; columns: number; first: boolean }) {
  const [error = ""] = (target.error ?? "").split("\n").map(cleanLine);
  const id = truncateMiddle(target.id, Math.max(8, Math.floor(columns / 2)));
  return (
    <Box flexDirection="column">
      {first ? (
        <Text wrap="truncate-end">
          <Styled dim>{formatFailureCapNote(MAX_FAILURE_BLOCKS)}</Styled>
        </Text>
      ) : null}
      <Text wrap="truncate-end">
        <Styled color="red" bold>
          ✖ FAILED
        </Styled>{" "}
        {id}
        {error ? ` (${error})` : ""}
        <Styled dim>{` ${formatDuration(target.durationMs)}${target.logPath ? ` · log: ${target.logPath}` : ""}`}</Styled>
      </Text>
    </Box>
  );
}

function FailureBlock({ target, columns }: { target: FinishedView; columns: number }) {
  const [first = "", ...more] = (target.error ?? "").split("\n").map(cleanLine);
  const id = truncateMiddle(target.id, Math.max(8, columns - 20));
  return (
    <Box flexDirection="column">
      <Text>
        <Styled color="red" bold>
          ✖ FAILED
        </Styled>{" "}
        {id}
        {first ? ` (${first})` : ""}
        <Styled dim>{` ${formatDuration(target.durationMs)}`}</Styled>
      </Text>
      {more
        .filter((l) => l !== "")
        .map((l, i) => (
          <Text key={`e${i}`}>{`  ${l}`}</Text>
        ))}
      {(target.logTail ?? []).map((l, i) => (
        <Text key={`t${i}`}>
          <Styled dim>{"  │ "}</Styled>
          {cleanLine(l)}
        </Text>
      ))}
      {target.logPath ? (
        <Text>
          {"  "}
          <Styled dim>log:</Styled> {target.logPath}
        </Text>
      ) : null}
    </Box>
  );
}
