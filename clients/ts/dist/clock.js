/**
 * The server's tick clock, as a client can estimate it: snapshots come once
 * per tick at `tick_rate`, so their arrival times give the offset between
 * the local clock and the server's ticks (docs/PROTOCOL.md sections 9.1,
 * 9.6 and 10.5).
 */
/**
 * Tracks the newest snapshot's tick as a continuous function of local
 * time. Early arrivals (less network delay) move the estimate forward at
 * once; late ones (jitter) pull it back slowly, so the estimate follows the
 * least-delayed path and stays smooth.
 */
export class TickClock {
    constructor(tickRate, drift = 0.05) {
        /** `tick - now × tickRate / 1000`, in ticks; NaN before the first sample. */
        this.offset = Number.NaN;
        this.tickRate = Math.max(1, tickRate);
        this.drift = drift;
    }
    /** Whether a snapshot has been observed. */
    get ready() {
        return !Number.isNaN(this.offset);
    }
    /** A snapshot of (unwrapped) tick `tick` arrived at local time `nowMs`. */
    observe(tick, nowMs) {
        const sample = tick - (nowMs * this.tickRate) / 1000;
        // More than two seconds off: a new connection or a stall; start over.
        if (!this.ready || sample > this.offset || this.offset - sample > 2 * this.tickRate)
            this.offset = sample;
        else
            this.offset += (sample - this.offset) * this.drift;
    }
    /** The (fractional) tick of the newest snapshot as it would be at `nowMs`; NaN before the first. */
    tickAt(nowMs) {
        return this.offset + (nowMs * this.tickRate) / 1000;
    }
    /** Forgets every sample (after a reconnect). */
    reset() {
        this.offset = Number.NaN;
    }
}
