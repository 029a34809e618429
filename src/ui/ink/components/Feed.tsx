/**
 * Prints new feed items once, above the live area, through Ink's `<Static>`.
 *
 * Why not `<Static items={all items}>`: Static keeps every item it was given in its props and
 * remembers how many it printed, expecting the array to only grow; a 10,000-target build would
 * hold (and, with each new array, re-examine) all of them. Instead this component remembers the
 * last `seq` it printed and hands Static only the items that came since (`FeedLog.since`, which
 * costs what it returns), under a key that changes with each batch: a fresh Static prints all
 * it gets, and the next frame unmounts it, so each item is in React's state for one frame.
 * The reporter draws a few times a second at least; if more items arrived in between than the
 * feed keeps, a note says how many of which kind were not printed.
 */
import { Static, Text } from "ink";
import { useLayoutEffect, useRef } from "react";
import type { FeedLog } from "../../feed-log.ts";
import { formatFeedGap } from "../../format.ts";
import type { FeedItem } from "../../view-model.ts";
import { FeedLine } from "./FeedLine.tsx";

/** Props of Feed. */
export interface FeedProps {
  log: FeedLog<FeedItem>;
  columns: number;
}

type Printable = FeedItem | { kind: "gap"; seq: number; note: string };

/** Where printing got to: the last `seq` printed, and the log's per-kind counts at that point. */
interface Printed {
  seq: number;
  appended: Readonly<Record<string, number>>;
}

/** The part of the screen that scrolls up and is never redrawn. */
export function Feed({ log, columns }: FeedProps) {
  const printed = useRef<Printed>({ seq: 0, appended: {} });
  const { items, dropped } = log.since(printed.current.seq);
  let fresh: Printable[] = items;
  if (dropped > 0 && items.length > 0) {
    // What was appended since the last print, less what is still here: what was dropped, by kind.
    const missed: Record<string, number> = {};
    for (const [kind, n] of Object.entries(log.appended)) missed[kind] = n - (printed.current.appended[kind] ?? 0);
    for (const i of items) missed[i.kind] -= 1;
    fresh = [{ kind: "gap", seq: items[0].seq - 0.5, note: formatFeedGap(missed) }, ...items];
  }
  useLayoutEffect(() => {
    if (log.nextSeq - 1 > printed.current.seq) printed.current = { seq: log.nextSeq - 1, appended: log.appended };
  });
  return (
    <Static key={items.length > 0 ? `b${items[0].seq}` : "idle"} items={fresh} style={{ width: columns }}>
      {(item) =>
        item.kind === "gap" ? <Text key={item.seq}>{item.note}</Text> : <FeedLine key={item.seq} item={item} columns={columns} />
      }
    </Static>
  );
}
