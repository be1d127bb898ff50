/**
 * Preloaded (`node --import`) by `npm run dev` into `tsx watch` and into the bot it runs: the
 * process ends as soon as the dev runner is gone, however it went (SIGKILL, a crash, the OOM
 * killer; after Ctrl-C it already has). Without it, a runner killed outright left both running,
 * re-parented: the bot held its PORT and answered /healthz with its state store (served by the
 * runner) gone, and the next `npm run dev` stopped on "port in use".
 *
 * How it knows: the runner starts tsx watch with stdin a pipe it never writes to and never closes
 * (./bot-process.ts), and tsx watch hands its stdin on to the bot (tsx passes on no descriptor
 * but the three standard ones, so it has to be stdin). When the runner dies, for whatever reason,
 * the kernel closes its end and every reader sees end-of-file at once. Rejected: DEV_RUNNER_PID
 * polled with `kill(pid, 0)` (a delay, and the pid may meanwhile be another process's), and a
 * process group of their own killed at once (nobody is left to kill it, and the terminal's
 * Ctrl-C would no longer reach the bot). tsx watch needs the check as much as the bot: between a
 * save that breaks the bot and the one that fixes it, tsx watch is all there is, and it does not
 * end when its child does.
 *
 * What it does then: SIGTERM to itself, the stop each process already has. tsx watch passes it to
 * the bot, exits once the bot has, and SIGKILLs a bot that has not after 5 s. The bot, which got
 * its own end-of-file too, begins its graceful shutdown and is ended by that second SIGTERM.
 */
import { fstatSync } from 'node:fs';

/** The runner's pipe (a socket pair from Node's spawn): anything else on stdin is not the runner. */
const stdin = fstatSync(0);
if (stdin.isSocket() || stdin.isFIFO()) {
  let gone = false;
  const onRunnerGone = (): void => {
    if (gone) return;
    gone = true;
    process.kill(process.pid, 'SIGTERM');
  };
  process.stdin.on('end', onRunnerGone).on('close', onRunnerGone).on('error', onRunnerGone);
  process.stdin.resume();
  // Watching is no reason to stay alive: the process ends as it would without this.
  process.stdin.unref();
}
