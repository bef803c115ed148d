/**
 * Client-side prediction of the player's own entity, reconciled with the
 * server (docs/PROTOCOL.md section 10.3): each input is applied at once with
 * the game's own step function, kept until the server acknowledges it
 * (`ack_input_seq`), and replayed on the server's state after each
 * snapshot.
 */
/** Whether input `seq` is at or before `ack`, in wrapping order. */
function acknowledged(seq, ack) {
    return ((ack - seq) | 0) >= 0;
}
/** Predicts one entity's state from local inputs. */
export class Predictor {
    constructor(options) {
        this.pending = [];
        this.step = options.step;
        this.dt = options.dt;
        this.current = options.initial;
        this.maxPending = options.maxPending ?? 32;
        this.distance = options.distance;
    }
    /** The predicted state after every input so far. */
    get state() {
        return this.current;
    }
    /** Inputs sent and not yet acknowledged. */
    get pendingCount() {
        return this.pending.length;
    }
    /** Applies input `seq` now, as the server will when it gets it. Use the quantised input. */
    predict(seq, input) {
        this.current = this.step(this.current, input, this.dt);
        if (this.pending.length === this.maxPending)
            this.pending.shift();
        this.pending.push({ seq, input, predicted: this.current });
        return this.current;
    }
    /**
     * Takes the server's state after input `ackSeq`, drops the inputs it
     * covers, replays the others on it, and returns how far the prediction
     * for `ackSeq` was from the server (`undefined` when that input is no
     * longer known or no distance was given).
     */
    reconcile(server, ackSeq) {
        let error;
        while (this.pending.length > 0 && acknowledged(this.pending[0].seq, ackSeq)) {
            const done = this.pending.shift();
            if (done.seq === ackSeq && this.distance)
                error = this.distance(done.predicted, server);
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
    reset(state) {
        this.pending.length = 0;
        this.current = state;
    }
}
