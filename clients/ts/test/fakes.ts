// A fake WebSocket and a fake clock, to drive a Room without a network.
import type { Scheduler, WebSocketLike } from "../src/index.js";

export class FakeSocket implements WebSocketLike {
  static created: FakeSocket[] = [];
  binaryType = "blob";
  readyState = 0;
  sent: Uint8Array[] = [];
  closedWith: [number | undefined, string | undefined] | null = null;
  onopen: ((ev: never) => void) | null = null;
  onmessage: ((ev: never) => void) | null = null;
  onclose: ((ev: never) => void) | null = null;
  onerror: ((ev: never) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string | string[],
  ) {
    FakeSocket.created.push(this);
  }

  send(data: Uint8Array): void {
    this.sent.push(data.slice());
  }

  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }

  // The server's side.
  open(): void {
    this.readyState = 1;
    (this.onopen as ((ev: unknown) => void) | null)?.({});
  }

  receive(bytes: Uint8Array): void {
    const copy = bytes.slice();
    (this.onmessage as ((ev: unknown) => void) | null)?.({ data: copy.buffer });
  }

  drop(code = 1006, reason = ""): void {
    this.readyState = 3;
    (this.onclose as ((ev: unknown) => void) | null)?.({ code, reason });
  }
}

/** Manual time: timers fire only when the test advances the clock. */
export class FakeScheduler implements Scheduler {
  time = 1000;
  rand = 0.5;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;

  now(): number {
    return this.time;
  }
  random(): number {
    return this.rand;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Pending timers' delays from now, in order of creation. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.time);
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }
}
