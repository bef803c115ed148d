/**
 * Client-side prediction of the player's own entity, reconciled with the
 * server (docs/PROTOCOL.md section 10.3): each input is applied at once with
 * the game's own step function, kept until the server acknowledges it
 * (`ack_input_seq`), and replayed on the server's state after each
 * snapshot.
 */

/**
 * One tick of the game's rule: the state after `input`, `dt` seconds
 * later. Must not modify its arguments.
 */
export type StepFn<S, I> = (state: S, input: I, dt: number) => S;

/** Predictor options. */
export interface PredictorOptions<S, I> {
  /** The game's rule (the server's, ported). */
  readonly step: StepFn<S, I>;
  /** Seconds per tick: `1 / tick_rate`. */
  readonly dt: number;
  /** The state to start from. */
  readonly initial: S;
  /** Inputs kept for replay (default 32; older ones are dropped). */
  readonly maxPending?: number;
  /** Distance between two states, to measure the prediction error. */
  readonly distance?: (a: S, b: S) => number;
}

/** Whether input `seq` is at or before `ack`, in wrapping order. */
function acknowledged(seq: number, ack: number): boolean {
  return ((ack - seq) | 0) >= 0;
}

/** Predicts one entity's state from local inputs. */
export class Predictor<S, I> {
  private current: S;
  private readonly pending: { seq: number; input: I; predicted: S }[] = [];
  private readonly step: StepFn<S, I>;
  private readonly dt: number;
  private readonly maxPending: number;
  private readonly distance: ((a: S, b: S) => number) | undefined;

  constructor(options: PredictorOptions<S, I>) {
    this.step = options.step;
    this.dt = options.dt;
    this.current = options.initial;
    this.maxPending = options.maxPending ?? 32;
    this.distance = options.distance;
  }

  /** The predicted state after every input so far. */
  get state(): S {
    return this.current;
  }

  /** Inputs sent and not yet acknowledged. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Applies input `seq` now, as the server will when it gets it. Use the quantised input. */
  predict(seq: number, input: I): S {
    this.current = this.step(this.current, input, this.dt);
    if (this.pending.length === this.maxPending) this.pending.shift();
    this.pending.push({ seq, input, predicted: this.current });
    return this.current;
  }

  /**
   * Takes the server's state after input `ackSeq`, drops the inputs it
   * covers, replays the others on it, and returns how far the prediction
   * for `ackSeq` was from the server (`undefined` when that input is no
   * longer known or no distance was given).
   */
  reconcile(server: S, ackSeq: number): number | undefined {
    let error: number | undefined;
    while (this.pending.length > 0 && acknowledged(this.pending[0]!.seq, ackSeq)) {
      const done = this.pending.shift()!;
      if (done.seq === ackSeq && this.distance) error = this.distance(done.predicted, server);
    }
    let state = server;
    for (const p of this.pending) {
      state = this.step(state, p.input, this.dt);
      p.predicted = state;
    }
    this.current = state;
    return error;
  }

  /** Starts again from `state`, forgetting every pending input (a new connection). */
  reset(state: S): void {
    this.pending.length = 0;
    this.current = state;
  }
}
