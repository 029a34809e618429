/**
 * A recipe waiting in the helper for a slot: the next shell recipe starts the moment the one
 * before it exits, without a round trip through pipe.
 *
 * Why: with every slot busy, a cheap recipe's slot stood empty from its exit until pipe had read
 * the exit, stored the outputs, picked the next target and sent it back to the helper (about 1 ms
 * of a 1.2 ms `cp` on a 2-core machine). Measured with timestamps in the helper, a cold build of
 * 10,000 targets at -j2 had both slots busy only 25% of the time and none 20%. So when every
 * slot is taken, the engine may start one more target per running shell recipe (its lane): the
 * target is prepared as usual and its command sent to the helper that runs the lane's recipe,
 * queued behind it (a `Ticket`). The helper starts it when that recipe exits with status 0,
 * leaves no process in its group and made every staging path it was given: what pipe would
 * otherwise check before starting the next. Otherwise the queued command waits for pipe's word:
 * go (it takes the freed slot) or cancel (the build is stopping: it never starts).
 *
 * One difference remains, and is harmless: the helper decides alone, so a recipe waiting there
 * may start after a target failed, without -k: behind a recipe that exited 0 and made its
 * staging paths but that pipe then fails (an output of the wrong kind, a final path written
 * directly), or behind any recipe that exits 0 before pipe's cancel reaches the helper (pipe
 * sends it the moment the failure is known; the window is how long that takes to be read).
 * Such a target had all its inputs built; it starts, runs and is recorded as any other, as a
 * recipe that started just before the failure would be.
 *
 * The slot count is never exceeded: a ticket holds no slot until the helper starts it in its
 * lane's slot, or pipe gives it a slot that freed; the engine counts only tickets that hold one.
 * Only recipes that take one slot and declare no memory queue, behind recipes of the same kind,
 * and only through the python helper (perl's is unchanged: a ticket there waits in pipe).
 */

import type { ShellResult, ShellRun } from "./shell.ts";

/** Where a running shell recipe is, once its command went to a helper that can queue. */
export interface LaneJob {
  /** Queues a ticket's command behind this job; false when the job is over or taken. */
  queue: (ticket: Ticket) => boolean;
}

/** A running shell recipe's slot, which one ticket may wait for. */
export class Lane {
  /** Absolute staging paths the recipe must leave for the helper to start the next one. */
  paths: string[] = [];
  /** Set by the spawner while the recipe's job is in a helper that can queue behind it. */
  job: LaneJob | undefined;
  /** The ticket waiting for this slot. */
  next: Ticket | undefined;
  /** Its target is over (the engine freed its slot): no ticket may wait for it any more. */
  ended = false;
  /** The target whose recipe runs in it (the engine's scheduling reads its dependents). */
  target: string | undefined;
}

export type TicketState =
  /** Not sent anywhere yet: waits in pipe for go or cancel. */
  | "waiting"
  /** Sent to a helper, queued behind its lane's job. */
  | "queued"
  /** Given a freed slot by pipe. */
  | "go"
  /** Started by the helper in its lane's slot. */
  | "started"
  /** Cancel asked of the helper; not known yet whether it had started the command. */
  | "cancelling"
  /** Never started. */
  | "cancelled";

/** A target started without a slot, waiting behind `behind`'s recipe to take its slot. */
export class Ticket {
  state: TicketState = "waiting";
  /** Its command, once runShell has it, and how its result is given back. */
  run: ShellRun | undefined;
  settle: ((r: ShellResult) => void) | undefined;
  /** The target's own lane, once it holds a slot (a ticket may queue behind it in turn). */
  readonly lane = new Lane();
  /** runTarget: the recipe starts now (its start event and time). */
  onStart: (() => void) | undefined;
  /** The spawner or the parked runShell: what go and cancel do there. */
  onGo: (() => void) | undefined;
  onCancel: (() => void) | undefined;

  constructor(readonly behind: Lane) {
    behind.next = this;
  }

  /** Whether the engine counts this target in a slot. */
  get holdsSlot(): boolean {
    return this.state === "go" || this.state === "started";
  }

  /** Whether it still waits for a slot (go or cancel may still change it). */
  get pending(): boolean {
    return this.state === "waiting" || this.state === "queued";
  }

  /** The helper started it in its lane's slot. */
  startedInLane(): void {
    this.state = "started";
    this.onStart?.();
  }

  /** pipe gives it a slot that freed. */
  go(): void {
    if (!this.pending) return;
    this.state = "go";
    this.onStart?.();
    this.onGo?.();
  }

  /** The build stops: it is not to start (a queued one may have started already: see the state). */
  cancel(): void {
    if (this.state === "waiting") {
      this.state = "cancelled";
      this.onCancel?.();
    } else if (this.state === "queued") {
      this.state = "cancelling";
      this.onCancel?.();
    }
  }
}
