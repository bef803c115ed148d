/**
 * What a client does on each close (README "What a client does on each
 * close", docs/PROTOCOL.md section 12).
 */
/**
 * - `final`: the session is over; do not reconnect (a normal leave, a
 *   client bug, a refused token, a full room, the session taken elsewhere,
 *   a room moved to another process: matchmake again).
 * - `resume`: network trouble; reconnect with backoff and resume with the
 *   latest session token, within the server's grace.
 * - `rejoin`: the session is gone but the server may take the player
 *   again; reconnect with backoff and join anew, without a resume token.
 */
export type CloseAction = "final" | "resume" | "rejoin";
/** The close codes the server sends (and 1006, a connection lost without a close frame). */
export declare const CloseCode: {
    readonly Normal: 1000;
    readonly GoingAway: 1001;
    readonly ProtocolError: 1002;
    readonly UnsupportedData: 1003;
    readonly NoStatus: 1005;
    readonly Abnormal: 1006;
    readonly InvalidPayload: 1007;
    readonly PolicyViolation: 1008;
    readonly MessageTooBig: 1009;
    readonly InternalError: 1011;
    readonly TryAgainLater: 1013;
    readonly SessionReplaced: 4001;
    readonly RoomMoved: 4002;
};
/** What to do after a close with `code` and `reason`. */
export declare function closeAction(code: number, reason: string): CloseAction;
/** The delay before reconnection attempt `attempt` (from 1): exponential, capped, with jitter in its upper half. */
export declare function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: number): number;
