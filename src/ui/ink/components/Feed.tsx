/**
 * Prints new feed items once, above the live area, through Ink's `<Static>`.
 *
 * Why not `<Static items={view.feed}>` directly: Static remembers how many items it printed
 * and expects the array to only grow, but the view keeps a bounded feed (old items are
 * dropped). So this component remembers the last printed `seq` and hands Static only the
 * new items, under a key that changes with each batch (a fresh Static prints all it gets).
 * If more items arrived than the feed keeps, a note says how many were not shown.
 */
import { Static, Text } from "ink";
import { useLayoutEffect, useRef } from "react";
import type { FeedItem } from "../../view-model.ts";
import { FeedLine } from "./FeedLine.tsx";

/** Props of Feed. */
export interface FeedProps {
  items: FeedItem[];
  columns: number;
}

type Printable = FeedItem | { kind: "gap"; seq: number; count: number };

/** The part of the screen that scrolls up and is never redrawn. */
export function Feed({ items, columns }: FeedProps) {
  const printed = useRef(0);
  let start = items.length;
  while (start > 0 && items[start - 1].seq > printed.current) start--;
  const fresh: Printable[] = items.slice(start);
  const first = fresh[0];
  if (first && first.seq > printed.current + 1) {
    fresh.unshift({ kind: "gap", seq: first.seq - 0.5, count: first.seq - printed.current - 1 });
  }
  const last = items[items.length - 1];
  useLayoutEffect(() => {
    if (last && last.seq > printed.current) printed.current = last.seq;
  });
  return (
    <Static key={first ? `b${first.seq}` : "idle"} items={fresh} style={{ width: columns }}>
      {(item) =>
        item.kind === "gap" ? (
          <Text key={item.seq}>{`… ${item.count} lines not shown (they are in the log files)`}</Text>
        ) : (
          <FeedLine key={item.seq} item={item} columns={columns} />
        )
      }
    </Static>
  );
}
