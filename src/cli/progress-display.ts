import { progressFrame, progressLine, progressStart, redraw, type DeliveriesAnswer, type ProgressStart } from './broadcast-progress';

/** Where the progress goes: stdout, or stderr when stdout carries `--json`. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Shows each answer of the poll; `end` shows the last one whatever the timing. */
export interface ProgressDisplay {
  show(answer: DeliveriesAnswer, now: number): void;
  end(answer: DeliveriesAnswer, now: number): void;
}

/**
 * On a terminal, the frame is redrawn in place at every poll; elsewhere (a log, a pipe, CI) a
 * line is written at most every `lineEveryMs`, and the first and the last answers always.
 */
export function createProgressDisplay(out: ProgressOutput, lineEveryMs: number): ProgressDisplay {
  let start: ProgressStart | undefined;
  const begin = (answer: DeliveriesAnswer, now: number) => (start ??= progressStart(answer, now));
  if (out.isTTY) {
    let drawn = 0;
    const draw = (answer: DeliveriesAnswer, now: number) => {
      const lines = progressFrame(answer, begin(answer, now), now);
      out.write(redraw(drawn, lines));
      drawn = lines.length;
    };
    return { show: draw, end: draw };
  }
  let lastLineAt: number | undefined;
  const line = (answer: DeliveriesAnswer, now: number) => {
    out.write(`${progressLine(answer, begin(answer, now), now)}\n`);
    lastLineAt = now;
  };
  return {
    show(answer, now) {
      if (lastLineAt === undefined || now - lastLineAt >= lineEveryMs) line(answer, now);
    },
    end(answer, now) {
      if (lastLineAt !== now) line(answer, now);
    },
  };
}
