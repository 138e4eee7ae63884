// Reconnect delays: exponential from `initial` up to `max`, each drawn at
// random from the upper half of its step ("equal jitter"), so that many
// clients dropped by one node restart do not come back in lockstep, and a
// client never retries sooner than half the step.
// Not for: when to reconnect (client.js decides; it resets the attempt
// count on every Welcome).

export const DEFAULT_BACKOFF = Object.freeze({ initial: 500, max: 10_000 });

/** delay returns the wait in ms before reconnect attempt number `attempt` (0-based). */
export function delay(attempt, { initial = DEFAULT_BACKOFF.initial, max = DEFAULT_BACKOFF.max } = {}, random = Math.random) {
  const step = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * step / 2);
}
