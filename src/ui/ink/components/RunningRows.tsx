/**
 * The running targets and files being hashed, one line each:
 *
 *   ⠋ words                    12.3s  [██████░░░░] 3/5  tokenizing
 *   ⠙ hashing data/big.csv     1.2/4.0 GB  [███░░░░░░░]
 *   … +6 more running
 *
 * Ids are truncated in the middle and the id column is shared by all rows, so rows line up
 * and never wrap. At most `maxRows` targets are shown (oldest first); the rest are counted.
 */
import { Box, Text } from "ink";
import { cleanLine, displayWidth, formatBytesProgress, formatDuration, truncateEnd, truncateMiddle } from "../../format.ts";
import type { HashingView, RunningView } from "../../view-model.ts";
import { describeProgress, progressBar, spinnerFrame } from "./progress.ts";
import { Styled } from "./Styled.tsx";

/** Props of RunningRows. */
export interface RunningRowsProps {
  running: RunningView[];
  hashing: HashingView[];
  now: number;
  columns: number;
  /** Target rows shown before "+N more running". */
  maxRows: number;
}

const BAR_CELLS = 10;
const TIME_WIDTH = 7;
const MAX_HASH_ROWS = 3;

/** Rows for running targets and big-file hashing. */
export function RunningRows({ running, hashing, now, columns, maxRows }: RunningRowsProps) {
  // One column short of the width: writing the last column makes some terminals wrap early.
  const width = Math.max(20, columns - 1);
  const visible = running.slice(0, Math.max(1, maxRows));
  const hidden = running.length - visible.length;
  const hashes = hashing.slice(0, MAX_HASH_ROWS);
  const spin = spinnerFrame(now);

  // Column widths: the id column is shared so rows line up; ids get priority over notes,
  // up to 60% of the width when the notes would otherwise vanish.
  const progressWidth = Math.max(0, ...visible.map((r) => progressText(r).length));
  const longestId = Math.max(0, ...visible.map((r) => displayWidth(r.id)));
  const idRoom = width - 2 - 1 - TIME_WIDTH - (progressWidth > 0 ? progressWidth + 2 : 0);
  const idColumn = Math.max(8, Math.min(longestId, idRoom, Math.max(24, Math.floor(width * 0.6))));

  return (
    <Box flexDirection="column">
      {hashes.map((h) => (
        <HashRow key={`hash:${h.path}`} hash={h} spin={spin} width={width} />
      ))}
      {visible.map((r) => (
        <RunningRow key={r.id} row={r} spin={spin} now={now} width={width} idColumn={idColumn} />
      ))}
      {hidden > 0 ? <Text wrap="truncate-end">{`  … +${hidden} more running`}</Text> : null}
    </Box>
  );
}

function RunningRow(props: { row: RunningView; spin: string; now: number; width: number; idColumn: number }) {
  const { row, spin, now, width, idColumn } = props;
  const id = truncateMiddle(row.id, idColumn);
  const idCell = id + " ".repeat(Math.max(0, idColumn - displayWidth(id)));
  const time = formatDuration(now - row.startedAt).padStart(TIME_WIDTH);
  const progress = progressText(row);
  const used = 2 + idColumn + 1 + TIME_WIDTH + (progress ? 2 + progress.length : 0);
  const raw = row.progress?.message ?? row.lastLine;
  const note = raw === undefined ? undefined : cleanLine(raw);
  const room = width - used - 2;
  const noteText = note && room >= 4 ? truncateEnd(note, room) : "";
  return (
    <Text wrap="truncate-end">
      <Styled color="cyan">{spin}</Styled> {idCell} <Styled dim>{time}</Styled>
      {progress ? `  ${progress}` : ""}
      {noteText ? (
        <>
          {"  "}
          <Styled dim>{noteText}</Styled>
        </>
      ) : null}
    </Text>
  );
}

/** `[██████░░░░] 3/5`, `[████░░░░░░] 40%`, `1234` or "" without progress. */
function progressText(row: RunningView): string {
  if (!row.progress) return "";
  const p = describeProgress(row.progress);
  return p.fraction === undefined ? p.label : `${progressBar(p.fraction, BAR_CELLS)} ${p.label}`;
}

function HashRow({ hash, spin, width }: { hash: HashingView; spin: string; width: number }) {
  const amount = formatBytesProgress(hash.doneBytes, hash.totalBytes);
  const bar = progressBar(hash.totalBytes > 0 ? hash.doneBytes / hash.totalBytes : 0, BAR_CELLS);
  const room = width - 2 - "hashing ".length - 1 - amount.length - 2 - bar.length;
  const path = truncateMiddle(hash.path, Math.max(8, room));
  return (
    <Text wrap="truncate-end">
      <Styled color="cyan">{spin}</Styled> hashing {path} <Styled dim>{amount}</Styled>
      {`  ${bar}`}
    </Text>
  );
}
