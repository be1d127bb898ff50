/** Time, injectable so tests can drive timers instead of sleeping (defined in protocol, shared by every layer). */
export { systemClock, type Clock } from '../protocol/clock.js';
