/** The dashboard's window: events per second are kept this many seconds, and users count as active this long. */
export const LIVE_WINDOW_SECONDS = 300;
/** Event types charted one by one; the rest are summed as `other`. */
const CHARTED_TYPES = 8;
/** Distinct event names tracked at once; beyond this, new names count as `(other)`, so hostile names cannot exhaust memory. */
const MAX_TRACKED_NAMES = 200;
/** Distinct active users tracked at once; beyond this the count is shown as a lower bound. */
const MAX_TRACKED_USERS = 200_000;
const OTHER_NAME = '(other)';
/** One slot a second: the charted window plus the second in progress. */
const SLOTS = LIVE_WINDOW_SECONDS + 1;

export interface LiveSnapshot {
  /** Epoch ms when the snapshot was taken. */
  now: number;
  windowSeconds: number;
  /** Epoch second of the chart's first point; one point a second follows, up to the last whole second. */
  firstSecond: number;
  /** Accepted events per second, by event type: `windowSeconds` counts from `firstSecond` on. */
  series: { name: string; counts: number[] }[];
  /** Events accepted per second over the last 10 seconds. */
  eventsPerSecond: number;
  accepted: number;
  rejected: number;
  /** Distinct `user_id`s seen in the window. */
  activeUsers: number;
  /** True when `activeUsers` hit the tracking bound and is a lower bound. */
  activeUsersCapped: boolean;
  /** The most frequent event types in the window, the second in progress included. */
  topEvents: { name: string; count: number }[];
  /** Events rejected since the collector started, by reason. */
  rejectedByReason: { reason: string; count: number }[];
  /** Requests refused whole (401, 413, 429, a body that is not JSON, …) since the collector started. */
  refused: number;
  /** Those requests, by reason. */
  refusedByReason: { reason: string; count: number }[];
}

interface Slot {
  second: number;
  counts: Map<string, number>;
}

/**
 * Rolling counts for the dashboard: accepted events per second by type over the last minutes, the
 * users seen in that window, and rejections by reason. Every update is O(1), and every structure is
 * bounded, whatever names and user ids clients send.
 */
export class LiveStats {
  private readonly slots: Slot[] = Array.from({ length: SLOTS }, () => ({
    second: -1,
    counts: new Map(),
  }));
  /** Last second each tracked event name was seen. */
  private readonly names = new Map<string, number>();
  /** User id to when it was last seen (ms); insertion order is oldest first, so expiry reads from the front. */
  private readonly users = new Map<string, number>();
  private usersCapped = false;
  private readonly rejections = new Map<string, number>();
  private readonly refusals = new Map<string, number>();
  private acceptedTotal = 0;
  private rejectedTotal = 0;
  private refusedTotal = 0;

  constructor(private readonly now: () => number = Date.now) {}

  accepted(name: string, userId: string, ms = this.now()): void {
    this.acceptedTotal++;
    const second = Math.floor(ms / 1000);
    const slot = this.slotOf(second);
    const tracked = this.trackName(name, second);
    slot.counts.set(tracked, (slot.counts.get(tracked) ?? 0) + 1);
    const last = this.users.get(userId);
    // Moving a user to the back at most once a second keeps the map's order by last sighting cheap.
    if (last !== undefined && ms - last < 1000) return;
    if (last === undefined && this.users.size >= MAX_TRACKED_USERS) {
      this.expireUsers(ms);
      if (this.users.size >= MAX_TRACKED_USERS) {
        this.usersCapped = true;
        return;
      }
    }
    this.users.delete(userId);
    this.users.set(userId, ms);
  }

  rejected(reason: string, count = 1): void {
    this.rejectedTotal += count;
    this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + count);
  }

  /** A request refused whole, with the code it was answered with (the collector's own codes: bounded). */
  refused(reason: string): void {
    this.refusedTotal++;
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  snapshot(): LiveSnapshot {
    const now = this.now();
    const current = Math.floor(now / 1000);
    this.expireUsers(now);
    // The chart ends with the last whole second; the totals also count the second in progress.
    const seconds = Array.from({ length: LIVE_WINDOW_SECONDS }, (_, i) => current - LIVE_WINDOW_SECONDS + i);
    const totals = new Map<string, number>();
    let recent = 0;
    for (let second = current - LIVE_WINDOW_SECONDS + 1; second <= current; second++) {
      const slot = this.slots[second % SLOTS] as Slot;
      if (slot.second !== second) continue;
      for (const [name, count] of slot.counts) {
        totals.set(name, (totals.get(name) ?? 0) + count);
        if (second >= current - 10 && second < current) recent += count;
      }
    }
    const ranked = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const charted = ranked.slice(0, CHARTED_TYPES).map(([name]) => name);
    const series = charted.map((name) => ({ name, counts: seconds.map((s) => this.countAt(s, name)) }));
    if (ranked.length > CHARTED_TYPES) {
      const shown = new Set(charted);
      series.push({
        name: 'other',
        counts: seconds.map((s) => {
          const slot = this.slots[s % SLOTS] as Slot;
          if (slot.second !== s) return 0;
          let sum = 0;
          for (const [name, count] of slot.counts) if (!shown.has(name)) sum += count;
          return sum;
        }),
      });
    }
    return {
      now,
      windowSeconds: LIVE_WINDOW_SECONDS,
      firstSecond: current - LIVE_WINDOW_SECONDS,
      series,
      eventsPerSecond: recent / 10,
      accepted: this.acceptedTotal,
      rejected: this.rejectedTotal,
      activeUsers: this.users.size,
      activeUsersCapped: this.usersCapped,
      topEvents: ranked.slice(0, 10).map(([name, count]) => ({ name, count })),
      rejectedByReason: byCount(this.rejections),
      refused: this.refusedTotal,
      refusedByReason: byCount(this.refusals),
    };
  }

  private slotOf(second: number): Slot {
    const slot = this.slots[second % SLOTS] as Slot;
    if (slot.second !== second) {
      slot.second = second;
      slot.counts.clear();
    }
    return slot;
  }

  private countAt(second: number, name: string): number {
    const slot = this.slots[second % SLOTS] as Slot;
    return slot.second === second ? (slot.counts.get(name) ?? 0) : 0;
  }

  private trackName(name: string, second: number): string {
    if (this.names.has(name)) {
      this.names.set(name, second);
      return name;
    }
    if (this.names.size >= MAX_TRACKED_NAMES) {
      for (const [known, seen] of this.names) {
        if (seen <= second - LIVE_WINDOW_SECONDS) this.names.delete(known);
      }
      if (this.names.size >= MAX_TRACKED_NAMES) return OTHER_NAME;
    }
    this.names.set(name, second);
    return name;
  }

  private expireUsers(now: number): void {
    const oldest = now - LIVE_WINDOW_SECONDS * 1000;
    for (const [user, seen] of this.users) {
      if (seen >= oldest) break;
      this.users.delete(user);
    }
    if (this.users.size < MAX_TRACKED_USERS) this.usersCapped = false;
  }
}

/** Counts by reason, the largest first, then by name. */
function byCount(counts: ReadonlyMap<string, number>): { reason: string; count: number }[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([reason, count]) => ({ reason, count }));
}
