/**
 * What a client does on each close (README "What a client does on each
 * close", docs/PROTOCOL.md section 12).
 */
/** The close codes the server sends (and 1006, a connection lost without a close frame). */
export const CloseCode = {
    Normal: 1000,
    GoingAway: 1001,
    ProtocolError: 1002,
    UnsupportedData: 1003,
    NoStatus: 1005,
    Abnormal: 1006,
    InvalidPayload: 1007,
    PolicyViolation: 1008,
    MessageTooBig: 1009,
    InternalError: 1011,
    TryAgainLater: 1013,
    SessionReplaced: 4001,
    RoomMoved: 4002,
};
/** What to do after a close with `code` and `reason`. */
export function closeAction(code, reason) {
    switch (code) {
        case CloseCode.Normal:
        case CloseCode.ProtocolError:
        case CloseCode.UnsupportedData:
        case CloseCode.InvalidPayload:
        case CloseCode.MessageTooBig:
        case CloseCode.SessionReplaced:
        case CloseCode.RoomMoved:
            return "final";
        case CloseCode.PolicyViolation:
            // Only the network-trouble reasons keep the player for the grace.
            if (reason === "idle timeout" || reason === "not reading")
                return "resume";
            if (reason === "invalid resume token")
                return "rejoin";
            return "final";
        case CloseCode.GoingAway:
        case CloseCode.InternalError:
            return "rejoin";
        case CloseCode.TryAgainLater:
            return reason === "room busy" ? "rejoin" : "final";
        default:
            // 1006 (the connection was lost), 1005, a network error, or a code
            // the table does not know: the session may still be held.
            return "resume";
    }
}
/** The delay before reconnection attempt `attempt` (from 1): exponential, capped, with jitter in its upper half. */
export function backoffDelay(attempt, initialMs, maxMs, random) {
    const full = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
    return full / 2 + (full / 2) * random;
}
