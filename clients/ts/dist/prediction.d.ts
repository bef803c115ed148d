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
/** Predicts one entity's state from local inputs. */
export declare class Predictor<S, I> {
    private current;
    private readonly pending;
    private readonly step;
    private readonly dt;
    private readonly maxPending;
    private readonly distance;
    constructor(options: PredictorOptions<S, I>);
    /** The predicted state after every input so far. */
    get state(): S;
    /** Inputs sent and not yet acknowledged. */
    get pendingCount(): number;
    /** Applies input `seq` now, as the server will when it gets it. Use the quantised input. */
    predict(seq: number, input: I): S;
    /**
     * Takes the server's state after input `ackSeq`, drops the inputs it
     * covers, replays the others on it, and returns how far the prediction
     * for `ackSeq` was from the server (`undefined` when that input is no
     * longer known or no distance was given).
     */
    reconcile(server: S, ackSeq: number): number | undefined;
    /** Starts again from `state`, forgetting every pending input (a new connection). */
    reset(state: S): void;
}
